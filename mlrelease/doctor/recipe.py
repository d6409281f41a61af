"""The Dockerfile doctor proposes: the project's own one, split into a builder and a runtime.

The recipe must build as written: the base is an ARG declared before the first FROM, the
packages go to a virtualenv in /opt/venv (its entry points on PATH, readable by any user, not
in /root), and the runtime keeps the project's own WORKDIR, COPY, EXPOSE, CMD and ENTRYPOINT.
"""

from __future__ import annotations

import posixpath
import re

from mlrelease.build.dockerfile import Dockerfile, Instruction, Stage
from mlrelease.doctor.context import covers, destination, in_context, model_files, sources
from mlrelease.doctor.frame import Project

VENV = "/opt/venv"
UID = "10001"
REQUIREMENTS = re.compile(r"(?:requirements|constraints)[^/]*\.(?:txt|in)")
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
REQUIREMENT_FILE = re.compile(r"(?:^|\s)(?:-r|--requirement)(?:\s+|=)(\S+)")
_BASE_ARG = "PYTHON_IMAGE"
_START = ("CMD", "ENTRYPOINT")


def installs_requirements(instruction: Instruction) -> bool:
    """A RUN that pip-installs a requirements file."""
    return (
        instruction.keyword == "RUN"
        and PIP_INSTALL.search(instruction.arguments) is not None
        and REQUIREMENT_FILE.search(instruction.arguments) is not None
    )


def copies_requirements(instruction: Instruction) -> bool:
    """A COPY/ADD from the context that brings requirements files only."""
    found = sources(instruction)
    return (
        instruction.keyword in ("COPY", "ADD")
        and "from" not in instruction.flags
        and bool(found)
        and all(REQUIREMENTS.fullmatch(posixpath.basename(s)) for s in found)
    )


def written_directories(project: Project, stage: Stage) -> list[str]:
    """Directories the service may write in: where the model files land, else its WORKDIR."""
    workdir, landed = "/", []
    models = [in_context(project, path) for path in model_files(project)]
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, instruction.arguments.strip()))
        if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
            continue
        target = destination(instruction, workdir)
        into_dir = instruction.arguments.rstrip().endswith(("/", "."))
        for source in sources(instruction):
            for model in (m for m in models if covers(source, m)):
                if model == source:  # the file itself: into the target, or as the target
                    landed.append(target if into_dir else posixpath.dirname(target))
                else:
                    inner = posixpath.relpath(posixpath.dirname(model), source)
                    landed.append(posixpath.normpath(posixpath.join(target, inner)))
    chosen = landed or ([workdir] if workdir != "/" else [])
    return sorted({d for d in chosen if not any(_under(d, o) for o in chosen if o != d)})


def user_setup(project: Project, stage: Stage) -> str:
    """The RUN that makes the non-root user and gives it the directories the service writes."""
    run = f"RUN useradd --system --uid {UID} --no-create-home app"
    directories = written_directories(project, stage)
    return f"{run} && chown -R {UID} {' '.join(directories)}" if directories else run


def multi_stage(project: Project, parsed: Dockerfile) -> str:
    """The project's single-stage Dockerfile as a builder and a runtime stage."""
    stage = parsed.stages[-1]
    preamble = [i.text for i in parsed.preamble]
    base = stage.base
    if not re.fullmatch(r"\$\{?\w+\}?", base):  # a literal base: make it an argument
        preamble.append(f"ARG {_BASE_ARG}={base}")
        base = "${" + _BASE_ARG + "}"
    requirements = [s for i in stage.instructions if copies_requirements(i) for s in sources(i)]
    requirements = requirements or ["requirements.txt"]
    builder = [
        f"FROM {base} AS builder",
        "WORKDIR /build",
        *(f"COPY {name} {name}" for name in requirements),
        f"RUN python -m venv {VENV} && {VENV}/bin/pip install --no-cache-dir "
        + " ".join(f"-r {name}" for name in requirements),
    ]
    kept = [
        i
        for i in stage.instructions
        if not copies_requirements(i) and not installs_requirements(i) and i.keyword != "USER"
    ]
    runtime = [
        f"FROM {base} AS runtime",
        f"COPY --from=builder {VENV} {VENV}",
        f"ENV PATH={VENV}/bin:$PATH",
    ]
    start = next((n for n, i in enumerate(kept) if i.keyword in _START), len(kept))
    user = [user_setup(project, stage), f"USER {UID}"]
    runtime += [i.text for i in kept[:start]] + user + [i.text for i in kept[start:]]
    return "\n".join([*preamble, "", *builder, "", *runtime]) + "\n"


def _under(path: str, other: str) -> bool:
    return other == "/" or path.startswith(other.rstrip("/") + "/")
