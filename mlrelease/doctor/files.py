"""`dockerignore`, `requirements.pinned`, `model`: the files a build takes from the context."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mlrelease.doctor.frame import Outcome, Project, fail, ok, warn

# What the build context must leave out, each with a path it has to exclude.
_MUST_EXCLUDE = (
    (".git", ".git/HEAD"),
    ("tests", "tests/test_app.py"),
    (".venv", ".venv/bin/python"),
    ("venv", "venv/bin/python"),
    ("**/__pycache__", "service/__pycache__/app.cpython-311.pyc"),
    ("**/*.py[cod]", "service/app.pyc"),
    (".pytest_cache", ".pytest_cache/README.md"),
)
_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)")
_PINNED = re.compile(r"===?\s*[^*,\s]+")
_TRAIN = "python -m service.train"


@dataclass(frozen=True)
class IgnoreRule:
    """One `.dockerignore` line: excluding, or re-including (`!pattern`)."""

    line: int
    text: str
    pattern: re.Pattern[str]
    exclude: bool


def read_dockerignore(path: Path) -> list[IgnoreRule]:
    """The rules of a `.dockerignore` (none when there is no such file)."""
    if not path.is_file():
        return []
    rules = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        exclude = not text.startswith("!")
        pattern = posixpath.normpath(text.lstrip("!").strip().lstrip("/"))
        rules.append(IgnoreRule(number, text, _compile(pattern), exclude))
    return rules


def ignoring_rule(path: str, rules: list[IgnoreRule]) -> IgnoreRule | None:
    """The rule that keeps `path` (relative, with /) out of the context, None if it is in.
    As Docker does it: the last rule matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    decided: IgnoreRule | None = None
    for rule in rules:
        if any(rule.pattern.fullmatch(candidate) for candidate in candidates):
            decided = rule if rule.exclude else None
    return decided


def _compile(pattern: str) -> re.Pattern[str]:
    """A Go filepath.Match pattern with Docker's `**`, as a regular expression."""
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
            continue
        if pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
            continue
        char = pattern[index]
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[" and (end := pattern.find("]", index + 1)) > index:
            body = pattern[index + 1 : end]
            regex += "[" + ("^" + body[1:] if body[:1] in ("!", "^") else body) + "]"
            index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            regex += re.escape(pattern[index])
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(regex)


def check_dockerignore(project: Project) -> Outcome:
    """`.dockerignore` keeps .git, tests, virtualenvs and caches out of the build context."""
    path = project.settings.path("context") / ".dockerignore"
    shown = project.relative(path)
    lines = [line for line, _ in _MUST_EXCLUDE]
    if not path.is_file():
        return fail(
            f"no {shown}: the whole directory, .git and virtualenvs included, is sent to "
            "every build and busts its cache",
            f"create {shown} with these lines: {', '.join(lines)}",
        )
    rules = read_dockerignore(path)
    missing = [line for line, sample in _MUST_EXCLUDE if ignoring_rule(sample, rules) is None]
    if missing:
        return warn(
            f"{shown} does not exclude {', '.join(missing)}",
            f"add these lines to {shown}: {', '.join(missing)}",
        )
    return ok(f"{shown} excludes .git, tests, virtualenvs and caches")


def check_requirements_pinned(project: Project) -> Outcome:
    """Every requirement in `requirements*.txt` is pinned with `==`."""
    files = sorted(project.root.glob("requirements*.txt"))
    if not files:
        return fail(
            "no requirements*.txt at the project root",
            "write the service's dependencies, pinned: `pip freeze > requirements.txt` in "
            "its virtualenv",
        )
    loose: list[tuple[str, int, str, str]] = []
    count = 0
    for file in files:
        for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            requirement = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
            if not requirement or requirement.startswith("-"):
                continue  # options: -r, -c, --index-url, -e
            requirement = re.split(r"\s-", requirement.split(";")[0], maxsplit=1)[0].strip()
            count += 1
            match = _REQUIREMENT.fullmatch(requirement)
            if match is None or match[2].startswith("@") or _PINNED.fullmatch(match[2]):
                continue  # a direct reference names one artifact already
            loose.append((project.relative(file), number, requirement, match[1]))
    names = ", ".join(project.relative(file) for file in files)
    if not loose:
        return ok(f"{count} requirements in {names}, all pinned with ==")
    return fail(
        "not pinned: " + "; ".join(f"{file}:{line} `{req}`" for file, line, req, _ in loose),
        "pin them: " + "; ".join(f"{file}:{line} `{_pin(name)}`" for file, line, _, name in loose),
    )


def _pin(name: str) -> str:
    try:
        return f"{name}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name}==X.Y.Z (the version you test with; `pip index versions {name}`)"


def check_model(project: Project) -> Outcome:
    """The model is at `model_path`, matches the checksum in its metadata, and is in the build
    context (not outside it, not excluded by `.dockerignore`)."""
    settings = project.settings
    path = settings.path("model_path")
    shown = project.relative(path)
    train = f"{_TRAIN} --output {shown}"
    if not path.is_file():
        source = settings.source("model_path")
        return fail(f"no model at {shown} (model_path from {source})", f"train it: `{train}`")
    meta = path.with_suffix(".json")
    try:
        recorded = json.loads(meta.read_text(encoding="utf-8"))["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return fail(
            f"no readable metadata with a sha256 at {project.relative(meta)}",
            f"retrain, which writes both files: `{train}`",
        )
    actual = _sha256(path)
    if actual != recorded:
        return fail(
            f"{shown} has sha256 {actual[:12]}, {meta.name} records {str(recorded)[:12]}: the "
            "model changed after training and the service will refuse it",
            f"retrain: `{train}` (or restore the model file {meta.name} describes)",
        )
    context = settings.path("context")
    try:
        inside = path.relative_to(context).as_posix()
    except ValueError:
        return fail(
            f"{shown} is outside the build context {project.relative(context)}",
            f"train it into the context: `{_TRAIN} --output <context>/{path.name}` and set "
            "model_path to it",
        )
    ignore = context / ".dockerignore"
    rule = ignoring_rule(inside, read_dockerignore(ignore))
    if rule is not None:
        return fail(
            f"{project.relative(ignore)} line {rule.line} (`{rule.text}`) keeps {inside} out "
            "of the build context",
            f"delete line {rule.line} of {project.relative(ignore)} "
            f"or add `!{inside}` and `!{posixpath.splitext(inside)[0]}.json` after it",
        )
    size = path.stat().st_size
    shown_size = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
    return ok(f"{shown} ({shown_size}), sha256 {actual[:12]} as recorded")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
