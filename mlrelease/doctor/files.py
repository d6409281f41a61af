"""`dockerignore`, `requirements.pinned`, `model`: the files a build takes from the context."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from mlrelease.doctor.context import context_copies, model_files
from mlrelease.doctor.environment import SEARCHED, Environment, canonical_name, find_environment
from mlrelease.doctor.frame import Outcome, Project, Unavailable, fail, ok, skip, warn

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
_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)")
_PINNED = re.compile(r"===?\s*[^*,\s]+")


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
    copied = _copied_sources(project)
    rules = read_dockerignore(path)
    for line, source in copied:  # an exclusion that removes what a COPY names breaks it
        if (rule := ignoring_rule(source, rules)) is not None:
            return fail(
                f"{shown} line {rule.line} (`{rule.text}`) excludes {source}, which "
                f"Dockerfile line {line} copies: that COPY fails",
                f"delete line {rule.line} of {shown}",
            )
    # Never advise excluding what the Dockerfile copies (its tests/, say).
    wanted = [
        (line, sample)
        for line, sample in _MUST_EXCLUDE
        if not any(ignoring_rule(source, [_rule(line)]) for _, source in copied)
    ]
    lines = [line for line, _ in wanted]
    if not path.is_file():
        return fail(
            f"no {shown}: the whole directory, .git and virtualenvs included, is sent to "
            "every build and busts its cache",
            f"create {shown} with these lines: {', '.join(lines)}",
        )
    missing = [line for line, sample in wanted if ignoring_rule(sample, rules) is None]
    if missing:
        return warn(
            f"{shown} does not exclude {', '.join(missing)}",
            f"add these lines to {shown}: {', '.join(missing)}",
        )
    return ok(f"{shown} excludes {', '.join(lines)}")


def _rule(text: str) -> IgnoreRule:
    return IgnoreRule(0, text, _compile(posixpath.normpath(text)), True)


def _copied_sources(project: Project) -> list[tuple[int, str]]:
    """(line, source) of every context path the Dockerfile copies; none without a Dockerfile."""
    try:
        parsed = project.dockerfile
    except Unavailable:
        return []
    return [(i.line, source) for i, source in context_copies(parsed) if source != "."]


def check_requirements_pinned(project: Project) -> Outcome:
    """Every requirement in `requirements*.txt` is pinned with `==`; the pins to write come from
    the service's own environment, never from the one mlrelease runs in."""
    files = sorted(project.root.glob("requirements*.txt"))
    environment = find_environment(project.root)
    if not files:
        return fail(
            "no requirements*.txt at the project root",
            "write the service's dependencies, pinned: `pip freeze > requirements.txt` in "
            f"its virtualenv ({SEARCHED})",
        )
    loose: list[tuple[str, int, re.Match[str]]] = []
    count = 0
    for file in files:
        for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            requirement = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
            if not requirement or requirement.startswith("-"):
                continue  # options: -r, -c, --index-url, -e
            requirement = re.split(r"\s-", requirement, maxsplit=1)[0].strip()
            count += 1
            # The name and specifier end where a marker starts; the match keeps the whole line.
            end = len(requirement.split(";")[0].rstrip())
            match = _REQUIREMENT.fullmatch(requirement, 0, end)
            if match is None or match[3].startswith("@") or _PINNED.fullmatch(match[3]):
                continue  # a direct reference names one artifact already
            loose.append((project.relative(file), number, match))
    names = ", ".join(project.relative(file) for file in files)
    if not loose:
        return ok(f"{count} requirements in {names}, all pinned with ==")
    finding = "not pinned: " + "; ".join(f"{f}:{n} `{m[0]}`" for f, n, m in loose)
    return fail(finding, _pin_fix(loose, environment, project))


def _pinned(match: re.Match[str], version: str) -> str:
    """The requirement pinned to `version`, its extras and environment marker kept."""
    marker = match.string.partition(";")[2].strip()
    return f"{match[1]}{match[2] or ''}=={version}" + (f"; {marker}" if marker else "")


def _pin_fix(
    loose: list[tuple[str, int, re.Match[str]]], environment: Environment | None, project: Project
) -> str:
    """The pins to write, with the versions the service's environment has installed."""
    freeze = "`pip freeze` in the service's environment"
    if environment is None:
        listed = ", ".join(m[1] for _, _, m in loose)
        return (
            f"no environment of the service found ({SEARCHED}): run {freeze} (where its tests "
            f"pass) and pin {listed} to the versions it lists, keeping extras "
            "(`uvicorn[standard]==0.30.1`)"
        )
    versions = environment.versions
    known = [(f, n, m) for f, n, m in loose if canonical_name(m[1]) in versions]
    unknown = [m[1] for _, _, m in loose if canonical_name(m[1]) not in versions]
    where = f"the versions installed in {environment.describe()}"
    parts = []
    if known:
        pins = [f"{f}:{n} `{_pinned(m, versions[canonical_name(m[1])])}`" for f, n, m in known]
        parts.append(f"pin them to {where}: " + "; ".join(pins))
    if unknown:
        python = environment.python
        shown = project.relative(python) if python else environment.shown
        parts.append(
            f"not installed in {environment.shown}: {', '.join(unknown)}; install them there "
            f"(`{shown} -m pip install -r requirements.txt`), run {freeze} and pin them to "
            "what it lists"
        )
    return "; ".join(parts)


def check_model(project: Project) -> Outcome:
    """Each model file (`model_paths`, else `model_path`) exists, matches the checksum its
    metadata records when it has one, and is in the build context (not outside it, not
    excluded by `.dockerignore`)."""
    paths = model_files(project)
    if not paths:
        return skip(
            'no model file to check: model_path is "" (the image brings or makes its own)'
            if not project.settings.model_path
            else f"no model file: the default {project.settings.model_path} does not exist "
            "and the Dockerfile does not copy it"
        )
    found = []
    for path in paths:
        outcome = _check_model_file(project, path)
        if outcome.status != "ok":
            return outcome
        found.append(outcome.finding)
    return ok("; ".join(found))


def _train(project: Project) -> str:
    command = project.settings.train_command
    if command:
        return f"train it: `{command}`"
    return (
        "put the trained model there (no `train_command` is set: set it in [tool.mlrelease] to "
        "the command that writes the model), or correct model_path"
    )


def _check_model_file(project: Project, path: Path) -> Outcome:
    settings = project.settings
    shown = project.relative(path)
    key = "model_paths" if settings.model_paths else "model_path"
    if not path.is_file():
        return fail(f"no model at {shown} ({key} from {settings.source(key)})", _train(project))
    actual = _sha256(path)
    meta = path.with_suffix(".json")
    recorded = None
    if meta.is_file():  # optional; when present, it must describe this very file
        try:
            recorded = str(json.loads(meta.read_text(encoding="utf-8"))["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            return fail(
                f"{project.relative(meta)} has no readable sha256 for {shown}",
                f"{_train(project)}, or delete {project.relative(meta)}",
            )
    if recorded is not None and actual != recorded:
        return fail(
            f"{shown} has sha256 {actual[:12]}, {meta.name} records {recorded[:12]}: the "
            "model changed after training and the service will refuse it",
            f"re{_train(project)} (or restore the model file {meta.name} describes)",
        )
    context = settings.path("context")
    try:
        inside = path.relative_to(context).as_posix()
    except ValueError:
        return fail(
            f"{shown} is outside the build context {project.relative(context)}",
            f"move it into {project.relative(context)} and set {key} to its new path",
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
    checked = "as recorded" if recorded else f"(no {meta.name} to compare with)"
    return ok(f"{shown} ({shown_size}), sha256 {actual[:12]} {checked}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
