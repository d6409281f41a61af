"""`dockerfile.*`: the Dockerfile has the shape the runbook asks for.

Every rule reads the parse of `mlrelease.build.dockerfile`, and a fix names the line to change. The
Dockerfile is the one the builder would build (`frame.Project.dockerfile_path`); the runtime
stage is its last one (what `mlrelease build` tags).
"""

from __future__ import annotations

import posixpath
import re

from mlrelease.build.dockerfile import Dockerfile, Instruction, Stage
from mlrelease.doctor import recipe
from mlrelease.doctor.context import covers, in_context, model_files, sources
from mlrelease.doctor.frame import Outcome, Project, Unavailable, fail, ok, skip, warn
from mlrelease.doctor.recipe import REQUIREMENT_FILE, REQUIREMENTS, installs_requirements

_PACKAGE_MANAGERS = {"apt-get", "apt", "apk", "yum", "dnf", "microdnf"}
_BUILD_TOOLS = {
    "gcc", "g++", "cc", "c++", "clang", "make", "cmake", "build-essential", "build-base",
    "gfortran", "cpp", "autoconf", "automake", "libtool", "pkg-config", "pkgconf",
}  # fmt: skip
_VERSIONED_COMPILER = re.compile(r"(?:gcc|g\+\+|clang|cpp)-[0-9.]+")
_SLIM_MARKERS = ("slim", "alpine", "distroless", "scratch")


def check_present(project: Project) -> Outcome:
    """The Dockerfile exists where `dockerfile` (for BuildKit, `buildkit_dockerfile`) says, is
    readable and has a FROM."""
    path = project.dockerfile_path
    shown = project.relative(path)
    key = "buildkit_dockerfile" if path != project.settings.path("dockerfile") else "dockerfile"
    if not path.is_file():
        return fail(
            f"no Dockerfile at {shown}",
            "write one (multi-stage: a builder installs requirements.txt, the runtime copies "
            f"the packages, the model and the code), or set `{key}` in [tool.mlrelease]",
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
    shown = project.relative(project.dockerfile_path)
    return warn(
        f"one stage only (FROM at line {parsed.stages[0].line}): pip, its caches and any build "
        "tools ship in the image",
        f"split it into a builder that installs the requirements into a virtualenv in "
        f"{recipe.VENV} and a runtime that copies it, non-root; replace {shown} with:\n"
        + recipe.multi_stage(project, parsed),
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
    models = _models_in_context(project)
    installers = {
        key
        for index, stage in enumerate(parsed.stages)
        if any(installs_requirements(i) for i in stage.instructions)
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
                if installs_requirements(i) or i.flags.get("from") in installers
            ),
            None,
        )
        code = next((i for i in stage.instructions if _copies_code(i, models)), None)
        if dependency is None or code is None or code.line > dependency.line:
            continue
        move = (
            f"move line {dependency.line} (`{dependency.text}`) "
            f"above line {code.line} (`{code.text}`)"
        )
        if dependency.keyword == "RUN" and not _requirements_copied_before(stage, code):
            wanted = REQUIREMENT_FILE.search(dependency.text)
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
    models = _models_in_context(project)
    if not models:
        return skip('no model file to copy (model_path is "" or its default file is absent)')
    copied = []
    for model in models:
        line = next(
            (
                i.line
                for i in final.instructions
                if i.keyword in ("COPY", "ADD")
                and "from" not in i.flags
                and any(covers(source, model) for source in sources(i))
            ),
            None,
        )
        if line is None:
            code = next((i for i in final.instructions if _copies_code(i, models)), None)
            where = f" above line {code.line} (`{code.text}`)" if code else " at the end"
            directory = posixpath.dirname(model)
            copy = f"COPY {directory}/ {directory}/" if directory else f"COPY {model} {model}"
            return fail(
                f"the runtime stage (line {final.line}) does not copy the model {model}",
                f"add `{copy}`{where}",
            )
        copied.append(f"line {line} copies {model}")
    return ok("; ".join(copied) + " into the runtime stage")


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
    setup = recipe.user_setup(project, final)
    fix = f"add `{setup}` and `USER {recipe.UID}` {where}"
    owned = setup.partition(" chown -R ")[2].partition(" ")[2]
    if owned:  # the app may write next to its model (or in its WORKDIR); /tmp is writable anyway
        fix += f" (so that the service can write in {owned}; /tmp is writable by any user)"
    if any(
        i.flags.get("from") and i.arguments.split()[-1].startswith("/root")
        for i in final.instructions
        if i.keyword == "COPY"
    ):
        fix += (
            f"; /root is unreadable for that user: install the packages into a virtualenv "
            f"({recipe.VENV}, `ENV PATH={recipe.VENV}/bin:$PATH`) and copy that instead"
        )
    if not users:
        return fail(f"the runtime stage (line {final.line}) has no USER: it runs as root", fix)
    user = users[-1].arguments.split(":")[0].strip()
    if user in ("root", "0"):
        return fail(f"line {users[-1].line} (`{users[-1].text}`) runs the service as root", fix)
    return ok(f"runs as user {user} (line {users[-1].line})")


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


def _models_in_context(project: Project) -> list[str]:
    return [in_context(project, path) for path in model_files(project)]


def _copies_code(instruction: Instruction, models: list[str]) -> bool:
    """A COPY/ADD from the context that brings more than requirements files and the models."""
    if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
        return False
    for source in sources(instruction):
        if REQUIREMENTS.fullmatch(posixpath.basename(source)):
            continue
        if any(_is_model_source(source, model) for model in models):
            continue
        return True
    return False


def _is_model_source(source: str, model: str) -> bool:
    model_dir = posixpath.dirname(model)
    return source == model or bool(model_dir and covers(model_dir, source) and source != ".")


def _requirements_copied_before(stage: Stage, code: Instruction) -> bool:
    return any(
        i.keyword in ("COPY", "ADD")
        and i.line < code.line
        and "from" not in i.flags
        and any(REQUIREMENTS.fullmatch(posixpath.basename(s)) for s in sources(i))
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
