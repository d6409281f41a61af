"""Read a Dockerfile as the classic builder does: stages, instructions, their flags and lines.

docker-py builds with the classic builder, which rejects BuildKit-only syntax late and
obscurely (`the --mount option requires BuildKit`). `buildkit_only` finds that syntax before
the engine is asked; `build` and `doctor` both use it. `copies_path` says whether a stage takes a
file from the build context (a directory source or a glob counts), which is how a build knows
that the Dockerfile expects a model file.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*)")
# `<<EOF`, `<<-EOF`, `<<"EOF"`; not the here-string `<<<` nor a shift `1<<2`.
_HEREDOC = re.compile(r"(?<!<)<<(?!<)-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_FLAG = re.compile(r"--([a-z][a-z-]*)(?:=(\S*))?")

# Instruction flags the classic builder does not know (it accepts COPY/ADD --from and --chown,
# FROM --platform).
_BUILDKIT_FLAGS = {
    "RUN": {"mount", "network", "security"},
    "COPY": {"chmod", "link", "parents", "exclude"},
    "ADD": {"chmod", "link", "checksum", "keep-git-dir", "exclude"},
}


@dataclass(frozen=True)
class Instruction:
    """One instruction; `line` is where it starts (1-based), continuation lines joined."""

    line: int
    keyword: str  # upper case: RUN, COPY, FROM, ...
    flags: dict[str, str]  # `--from=builder` -> {"from": "builder"}
    arguments: str  # the rest, after the flags
    text: str  # the instruction as written, continuations joined by spaces


@dataclass(frozen=True)
class Stage:
    """A build stage: its `FROM` base and alias, and the instructions after it."""

    base: str
    name: str | None
    line: int
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: parser directives, instructions before the first FROM, stages."""

    path: Path | None
    directives: dict[str, tuple[int, str]]  # name (lower case) -> (line, value)
    preamble: tuple[Instruction, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...]

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        """Every instruction, in file order."""
        return self.preamble + tuple(i for stage in self.stages for i in stage.instructions)


def parse(text: str, path: Path | None = None) -> Dockerfile:
    """Parse Dockerfile `text`; tolerant of anything the builder itself would reject later."""
    directives: dict[str, tuple[int, str]] = {}
    instructions: list[Instruction] = []
    in_directives = True
    pending: list[str] = []
    start = 0
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        raw = lines[number]
        number += 1
        stripped = raw.strip()
        if in_directives and (match := _DIRECTIVE.fullmatch(stripped)):
            directives[match[1].lower()] = (number, match[2].strip())
            continue
        in_directives = False
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by the builder
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        # A heredoc body belongs to its instruction: skip to its terminator.
        if match := _HEREDOC.search(joined):
            marker = match[0].lstrip("<-").strip().strip("\"'")
            while number < len(lines) and lines[number].strip() != marker:
                number += 1
            number += 1
        instructions.append(_instruction(start, joined))
    if pending:
        instructions.append(_instruction(start, " ".join(pending)))
    return _stages(path, directives, instructions)


def read(path: Path) -> Dockerfile:
    """Parse the Dockerfile at `path` (OSError and UnicodeDecodeError reach the caller)."""
    return parse(path.read_text(encoding="utf-8"), path)


def _instruction(line: int, text: str) -> Instruction:
    keyword, _, rest = text.partition(" ")
    flags: dict[str, str] = {}
    rest = rest.strip()
    while match := _FLAG.match(rest):
        flags[match[1]] = match[2] or ""
        rest = rest[match.end() :].lstrip()
    return Instruction(line, keyword.upper(), flags, rest, text)


def _stages(
    path: Path | None, directives: dict[str, tuple[int, str]], instructions: list[Instruction]
) -> Dockerfile:
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    current: tuple[Instruction, list[Instruction]] | None = None
    for instruction in instructions:
        if instruction.keyword == "FROM":
            if current is not None:
                stages.append(_stage(*current))
            current = (instruction, [])
        elif current is None:
            preamble.append(instruction)
        else:
            current[1].append(instruction)
    if current is not None:
        stages.append(_stage(*current))
    return Dockerfile(path, directives, tuple(preamble), tuple(stages))


def _stage(origin: Instruction, body: list[Instruction]) -> Stage:
    words = origin.arguments.split()
    name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    return Stage(words[0] if words else "", name, origin.line, tuple(body))


@dataclass(frozen=True)
class BuildKitUse:
    """A line that only BuildKit understands, and what in it."""

    line: int
    what: str


def buildkit_only(dockerfile: Dockerfile) -> list[BuildKitUse]:
    """Every use of syntax the classic builder (docker-py's) rejects, in file order."""
    found: list[BuildKitUse] = []
    if "syntax" in dockerfile.directives:
        line, value = dockerfile.directives["syntax"]
        found.append(BuildKitUse(line, f"the `# syntax={value}` parser directive"))
    for instruction in dockerfile.instructions:
        for flag in sorted(
            _BUILDKIT_FLAGS.get(instruction.keyword, set()) & set(instruction.flags)
        ):
            found.append(BuildKitUse(instruction.line, f"`{instruction.keyword} --{flag}`"))
        if instruction.keyword in ("RUN", "COPY", "ADD") and _HEREDOC.search(instruction.text):
            found.append(BuildKitUse(instruction.line, f"a heredoc in `{instruction.keyword}`"))
    return sorted(found, key=lambda use: use.line)


def copy_sources(instruction: Instruction) -> list[str]:
    """The context sources of a COPY/ADD, normalised (`./a/` is `a`, the context is `.`); none
    for `--from` (another stage or image) or another instruction."""
    if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
        return []
    text = instruction.arguments
    words: list[str]
    if text.startswith("["):
        try:
            words = [str(word) for word in json.loads(text)]
        except ValueError:
            words = text.split()
    else:
        words = text.split()
    return [normalise_source(word) for word in words[:-1]]


def normalise_source(source: str) -> str:
    """`./service/model/` -> `service/model`; `.`, `./` and `/` -> `.` (the whole context)."""
    source = posixpath.normpath(source.strip().lstrip("/") or ".")
    return "." if source in ("", ".") else source


def covers(source: str, path: str) -> bool:
    """Whether the COPY source `source` (normalised) brings `path` (relative to the context):
    the path itself, a directory above it, or a glob matching it or a directory above it."""
    if source == "." or path == source or path.startswith(source + "/"):
        return True
    # A glob matches segment by segment (`*` never crosses `/`, as in the builder); matching a
    # directory above the path brings the path too (`COPY mod*/ x/`).
    pattern, parts = source.split("/"), path.split("/")
    return len(pattern) <= len(parts) and all(
        fnmatchcase(part, glob) for part, glob in zip(parts, pattern, strict=False)
    )


def copies_path(dockerfile: Dockerfile, path: str) -> Instruction | None:
    """The first COPY/ADD from the context that brings `path` (relative to the context,
    `/`-separated), or None."""
    for instruction in dockerfile.instructions:
        if any(covers(source, path) for source in copy_sources(instruction)):
            return instruction
    return None
