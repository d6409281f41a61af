"""What the Dockerfile takes from the build context, and which model files the build needs.

Shared by the Dockerfile checks, the `.dockerignore` advice (which must never exclude what a
COPY names) and the model check.
"""

from __future__ import annotations

import json
import os
import posixpath
from fnmatch import fnmatchcase
from pathlib import Path

from mlrelease.build.dockerfile import Dockerfile, Instruction
from mlrelease.doctor.frame import Project, Unavailable


def sources(instruction: Instruction) -> list[str]:
    """The context paths a COPY/ADD names, normalised (`./app/` is `app`)."""
    return [_normalise(word) for word in _words(instruction)[:-1]]


def destination(instruction: Instruction, workdir: str) -> str:
    """Where a COPY/ADD puts its files in the image, as an absolute path."""
    words = _words(instruction)
    target = words[-1] if words else "."
    return posixpath.normpath(posixpath.join(workdir, target))


def context_copies(parsed: Dockerfile) -> list[tuple[Instruction, str]]:
    """Every (instruction, source) that a COPY/ADD takes from the build context."""
    return [
        (instruction, source)
        for instruction in parsed.instructions
        if instruction.keyword in ("COPY", "ADD") and "from" not in instruction.flags
        for source in sources(instruction)
        if "://" not in source
    ]


def covers(source: str, path: str) -> bool:
    """Whether copying `source` brings `path` (both relative to the context)."""
    return (
        source == "."
        or path == source
        or path.startswith(source + "/")
        or fnmatchcase(path, source)
        or fnmatchcase(path, source + "/*")
    )


def in_context(project: Project, path: Path) -> str:
    """`path` relative to the build context, with `/`."""
    return os.path.relpath(path, project.settings.path("context")).replace(os.sep, "/")


def model_files(project: Project) -> list[Path]:
    """The model files the build needs, by the rule `mlrelease build` applies
    (`build.model.model_spec`): none when the image brings or makes its own."""
    from mlrelease.build.model import model_spec

    try:
        parsed: Dockerfile | None = project.dockerfile
    except Unavailable:
        parsed = None
    spec = model_spec(project.settings, parsed)
    return [] if spec is None else [project.settings.root / path for path in spec.paths]


def _words(instruction: Instruction) -> list[str]:
    text = instruction.arguments
    if text.startswith("["):
        try:
            return [str(word) for word in json.loads(text)]
        except ValueError:
            pass
    return text.split()


def _normalise(source: str) -> str:
    source = source.strip()
    while source.startswith("./"):
        source = source[2:]
    return source.rstrip("/") or "."
