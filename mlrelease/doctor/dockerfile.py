"""`dockerfile.*`: the Dockerfile has the shape the runbook asks for.

Every rule reads the parse of `mlrelease.build.dockerfile`, and a fix names the line to change. The
runtime stage is the last one (what `mlrelease build` tags).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from fnmatch import fnmatchcase

from mlrelease.build.dockerfile import Dockerfile, Instruction, Stage, buildkit_only
from mlrelease.doctor.frame import Outcome, Project, Unavailable, fail, ok, warn

_REQUIREMENTS = re.compile(r"(?:requirements|constraints)[^/]*\.(?:txt|in)")
_PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
_REQUIREMENT_FILE = re.compile(r"(?:^|\s)(?:-r|--requirement)(?:\s+|=)(\S+)")
_PACKAGE_MANAGERS = {"apt-get", "apt", "apk", "yum", "dnf", "microdnf"}
_BUILD_TOOLS = {
    "gcc", "g++", "cc", "c++", "clang", "make", "cmake", "build-essential", "build-base",
    "gfortran", "cpp", "autoconf", "automake", "libtool", "pkg-config", "pkgconf",
}  # fmt: skip
_VERSIONED_COMPILER = re.compile(r"(?:gcc|g\+\+|clang|cpp)-[0-9.]+")
_SLIM_MARKERS = ("slim", "alpine", "distroless", "scratch")


def check_present(project: Project) -> Outcome:
    """The Dockerfile exists where `dockerfile` says, is readable and has a FROM."""
    path = project.dockerfile_path
    shown = project.relative(path)
    if not path.is_file():
        return fail(
            f"no Dockerfile at {shown}",
            "write one (multi-stage: a builder installs requirements.txt, the runtime copies "
            "the packages, the model and the code), or set `dockerfile` in [tool.mlrelease]",
        )
    try:
        stages = project.dockerfile.stages
    except Unavailable:  # say why here, where the file itself is the subject
        return fail(
            f"{shown} is not a readable UTF-8 Dockerfile with a FROM instruction",
            f"fix {shown}: it must be UTF-8 text and start its first stage with `FROM`",
        )
    names = ", ".join(stage.name or f"#{index}" for index, stage in enumerate(stages))
    return ok(f"{shown}: {len(stages)} stage(s) ({names})")


def check_multi_stage(project: Project) -> Outcome:
    """A builder stage installs, the runtime stage only copies what it needs."""
    parsed = project.dockerfile
    if len(parsed.stages) >= 2:
        runtime = _final(parsed)
        return ok(f"{len(parsed.stages)} stages; the runtime stage starts at line {runtime.line}")
    return warn(
        f"one stage only (FROM at line {parsed.stages[0].line}): pip, its caches and any build "
        "tools ship in the image",
        "split it: `FROM ${PYTHON_IMAGE} AS builder` with `RUN pip install --user "
        "--no-cache-dir -r requirements.txt`, then `FROM ${PYTHON_IMAGE} AS runtime` with "
        "`COPY --from=builder /root/.local /root/.local` before the model and the code",
    )


def check_slim_base(project: Project) -> Outcome:
    """The runtime stage's base is a slim variant (as `mlrelease build` resolves it)."""
    parsed = project.dockerfile
    final = _final(parsed)
    base, origin = _resolve_base(parsed, final, project)
    name, tag = _split_reference(base)
    if any(marker in f"{name}:{tag}".lower() for marker in _SLIM_MARKERS):
        return ok(f"runtime base {base} ({origin})")
    slim = f"{name}:{tag.split('-')[0]}-slim{tag[len(tag.split('-')[0]) :]}" if tag else ""
    suggestion = f"use {slim}" if slim else "use a -slim tag such as python:3.11-slim"
    return warn(
        f"runtime base {base} ({origin}) is not a slim variant: hundreds of MB of compilers "
        "and headers the service never uses",
        f"{suggestion} ({origin})",
    )


def check_layer_order(project: Project) -> Outcome:
    """Requirements are copied and installed before the application code is copied, so a
    code change reuses the dependency layers."""
    parsed = project.dockerfile
    model = _model_in_context(project)
    installers = {
        key
        for index, stage in enumerate(parsed.stages)
        if any(_installs_requirements(i) for i in stage.instructions)
        for key in (str(index), stage.name)
        if key
    }
    if not installers:
        return fail(
            "no RUN installs the requirements (`pip install -r requirements.txt`)",
            "add `COPY requirements.txt requirements.txt` and `RUN pip install --no-cache-dir "
            "-r requirements.txt` before the COPY of the application code",
        )
    for stage in parsed.stages:
        dependency = next(
            (
                i
                for i in stage.instructions
                if _installs_requirements(i) or i.flags.get("from") in installers
            ),
            None,
        )
        code = next((i for i in stage.instructions if _copies_code(i, model)), None)
        if dependency is None or code is None or code.line > dependency.line:
            continue
        move = (
            f"move line {dependency.line} (`{dependency.text}`) "
            f"above line {code.line} (`{code.text}`)"
        )
        if dependency.keyword == "RUN" and not _requirements_copied_before(stage, code):
            wanted = _REQUIREMENT_FILE.search(dependency.text)
            target = wanted[1] if wanted else "requirements.txt"
            move = (
                f"add `COPY {posixpath.basename(target)} {target}` above line {code.line} "
                f"(`{code.text}`) and {move}"
            )
        return fail(
            f"line {code.line} copies application code before line {dependency.line} installs "
            "the requirements: every code change reinstalls them",
            move,
        )
    return ok("requirements are installed before the application code is copied")


def check_model_copied(project: Project) -> Outcome:
    """The runtime stage copies the model into the image."""
    parsed = project.dockerfile
    final = _final(parsed)
    model = _model_in_context(project)
    for instruction in final.instructions:
        if (
            instruction.keyword in ("COPY", "ADD")
            and "from" not in instruction.flags
            and any(_covers(source, model) for source in _sources(instruction))
        ):
            return ok(f"line {instruction.line} copies {model} into the runtime stage")
    code = next((i for i in final.instructions if _copies_code(i, model)), None)
    where = f" above line {code.line} (`{code.text}`)" if code else f" after line {final.line}"
    directory = posixpath.dirname(model)
    copy = f"COPY {directory}/ {directory}/" if directory else f"COPY {model} {model}"
    return fail(
        f"the runtime stage (line {final.line}) does not copy the model {model}",
        f"add `{copy}`{where}",
    )


def check_no_build_tools(project: Project) -> Outcome:
    """The runtime stage installs no compilers or -dev packages."""
    final = _final(project.dockerfile)
    for instruction in final.instructions:
        if instruction.keyword != "RUN":
            continue
        tools = [p for p in _installed_packages(instruction.arguments) if _is_build_tool(p)]
        if tools:
            listed = ", ".join(tools)
            return fail(
                f"line {instruction.line} installs {listed} in the runtime stage",
                f"remove {listed} from line {instruction.line}; build what needs them in the "
                "builder stage and copy only the result (`COPY --from=builder`)",
            )
    return ok("the runtime stage installs no compilers or -dev packages")


def check_non_root_user(project: Project) -> Outcome:
    """The runtime stage switches to a user other than root."""
    final = _final(project.dockerfile)
    users = [i for i in final.instructions if i.keyword == "USER"]
    start = next((i for i in final.instructions if i.keyword in ("CMD", "ENTRYPOINT")), None)
    where = f"above line {start.line} (`{start.text}`)" if start else "at the end"
    fix = f"add `RUN useradd --system --uid 10001 --no-create-home app` and `USER 10001` {where}"
    if not users:
        return fail(f"the runtime stage (line {final.line}) has no USER: it runs as root", fix)
    user = users[-1].arguments.split(":")[0].strip()
    if user in ("root", "0"):
        return fail(f"line {users[-1].line} (`{users[-1].text}`) runs the service as root", fix)
    return ok(f"runs as user {user} (line {users[-1].line})")


def check_no_buildkit_syntax(project: Project) -> Outcome:
    """No syntax only BuildKit knows: docker-py builds with the classic builder."""
    uses = buildkit_only(project.dockerfile)
    if not uses:
        return ok("no BuildKit-only syntax")
    found = "; ".join(f"line {use.line}: {use.what}" for use in uses)
    return fail(
        f"BuildKit-only syntax, which the classic builder mlrelease uses rejects: {found}",
        "; ".join(_buildkit_fix(use.line, use.what) for use in uses),
    )


def _buildkit_fix(line: int, what: str) -> str:
    if "syntax=" in what:
        return f"delete line {line}"
    if "heredoc" in what:
        return f"rewrite line {line} as one `RUN a && b` (or COPY a script) instead of a heredoc"
    if "--mount" in what:
        return f"drop `--mount=...` from line {line} (use `pip install --no-cache-dir`)"
    flag = what.strip("`").split(" ", 1)[-1]
    return f"drop `{flag}` from line {line}"


def _final(parsed: Dockerfile) -> Stage:
    return parsed.stages[-1]


def _resolve_base(parsed: Dockerfile, stage: Stage, project: Project) -> tuple[str, str]:
    """The image the stage starts from as `mlrelease build` runs it, and where that came from."""
    defaults = {}
    lines = {}
    for instruction in parsed.preamble:
        if instruction.keyword == "ARG":
            name, _, value = instruction.arguments.partition("=")
            defaults[name.strip()] = value.strip().strip("\"'")
            lines[name.strip()] = instruction.line
    # `mlrelease build` passes the `base_image` setting as PYTHON_IMAGE (build/plan.py).
    passed = {"PYTHON_IMAGE": project.settings.base_image}
    stages = {s.name: s for s in parsed.stages if s.name}
    seen: set[str] = set()
    base, origin = stage.base, f"FROM at line {stage.line}"
    while base in stages and base not in seen:  # FROM builder AS runtime
        seen.add(base)
        stage = stages[base]
        base, origin = stage.base, f"FROM at line {stage.line}"
    match = re.fullmatch(r"\$\{?(\w+)\}?", base)
    if match is None:
        return base, origin
    arg = match[1]
    if arg in passed:
        source = project.settings.source("base_image")
        return passed[arg], f"`base_image` setting from {source}, passed as {arg}"
    if arg in defaults:
        return defaults[arg], f"ARG {arg} at line {lines[arg]}"
    return base, origin


def _split_reference(reference: str) -> tuple[str, str]:
    """(name, tag) of an image reference; the tag is "" when there is none."""
    name, _, tag = reference.partition("@")[0].rpartition(":")
    if not name or "/" in tag:  # no tag, or the colon was a registry's port
        return reference.partition("@")[0], ""
    return name, tag


def _model_in_context(project: Project) -> str:
    model = project.settings.path("model_path")
    return os.path.relpath(model, project.settings.path("context")).replace(os.sep, "/")


def _sources(instruction: Instruction) -> list[str]:
    text = instruction.arguments
    words: list[str]
    if text.startswith("["):
        try:
            words = [str(word) for word in json.loads(text)]
        except ValueError:
            words = text.split()
    else:
        words = text.split()
    return [_normalise(word) for word in words[:-1]]


def _normalise(source: str) -> str:
    source = source.strip()
    while source.startswith("./"):
        source = source[2:]
    return source.rstrip("/") or "."


def _covers(source: str, path: str) -> bool:
    return (
        source == "."
        or path == source
        or path.startswith(source + "/")
        or fnmatchcase(path, source)
        or fnmatchcase(path, source + "/*")
    )


def _copies_code(instruction: Instruction, model: str) -> bool:
    """A COPY/ADD from the context that brings more than requirements files and the model."""
    if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
        return False
    model_dir = posixpath.dirname(model)
    for source in _sources(instruction):
        if _REQUIREMENTS.fullmatch(posixpath.basename(source)):
            continue
        if source == model or (model_dir and _covers(model_dir, source) and source != "."):
            continue
        return True
    return False


def _installs_requirements(instruction: Instruction) -> bool:
    return (
        instruction.keyword == "RUN"
        and _PIP_INSTALL.search(instruction.arguments) is not None
        and _REQUIREMENT_FILE.search(instruction.arguments) is not None
    )


def _requirements_copied_before(stage: Stage, code: Instruction) -> bool:
    return any(
        i.keyword in ("COPY", "ADD")
        and i.line < code.line
        and "from" not in i.flags
        and any(_REQUIREMENTS.fullmatch(posixpath.basename(s)) for s in _sources(i))
        for i in stage.instructions
    )


def _installed_packages(command: str) -> list[str]:
    """Package names that apt-get/apk/yum/dnf install in a RUN command."""
    packages: list[str] = []
    for segment in re.split(r"&&|\|\||;|\|", command):
        words = segment.split()
        manager = next((n for n, w in enumerate(words) if w in _PACKAGE_MANAGERS), None)
        if manager is None:
            continue
        verb = next(
            (n for n, w in enumerate(words) if n > manager and w in ("install", "add")), None
        )
        if verb is None:
            continue
        for word in words[verb + 1 :]:
            if not word.startswith("-") and "$" not in word:
                packages.append(re.split(r"[=~<>]", word, maxsplit=1)[0])
    return packages


def _is_build_tool(package: str) -> bool:
    return (
        package in _BUILD_TOOLS
        or _VERSIONED_COMPILER.fullmatch(package) is not None
        or package.endswith(("-dev", "-devel"))
    )
