"""`workflow`: a GitHub Actions workflow runs the tests and releases with mlrelease."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mlrelease.doctor.frame import Outcome, Project, ok, warn

WORKFLOWS = Path(".github") / "workflows"
_RUN = re.compile(r"^(?P<indent>\s*)(?:-\s+)?run:\s*(?P<value>.*)$")
_RUNS_TESTS = re.compile(r"\bpytest\b|\btox\b|\bnox\b|(?:^|[\s/])test\b")
_CALLS_MLRELEASE = re.compile(r"\bmlrelease\s+[a-z]|-m\s+mlrelease\b")
_EXAMPLE = (
    "steps `run: python -m pytest` and, after it, `run: mlrelease build` "
    "(and `mlrelease push` on a version tag)"
)


def workflow_files(root: Path) -> list[Path]:
    """The repository's GitHub Actions workflows."""
    directory = root / WORKFLOWS
    return sorted(p for p in directory.glob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def run_commands(text: str) -> Iterator[str]:
    """The shell of every `run:` step of a workflow, block scalars (`run: |`) included."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _RUN.match(line)
        if match is None:
            continue
        value = match["value"].strip()
        if value[:1] not in ("|", ">"):
            yield value
            continue
        indent = len(match["indent"])
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            yield following.strip()


def _commands(workflow: str) -> list[str]:
    """The shell commands of a workflow's steps, without installs (`pip install pytest` runs
    no test)."""
    return [
        command.strip()
        for line in run_commands(workflow)
        for command in re.split(r"&&|\|\||;", line)
        if not re.search(r"\binstall\b", command)
    ]


def check_workflow(project: Project) -> Outcome:
    """A workflow in .github/workflows runs the tests and calls mlrelease."""
    files = workflow_files(project.root)
    # A project may release from another CI, or by hand: that is worth a warning, not a failure.
    if not files:
        return warn(
            f"no workflow in {WORKFLOWS}: releases are made by hand",
            f"add {WORKFLOWS / 'release.yml'} with {_EXAMPLE}",
        )
    partial = []
    for path in files:
        commands = _commands(path.read_text(encoding="utf-8"))
        tests = any(_RUNS_TESTS.search(command) for command in commands)
        release = any(_CALLS_MLRELEASE.search(command) for command in commands)
        if tests and release:
            return ok(f"{project.relative(path)} runs the tests and calls mlrelease")
        missing = "calls no mlrelease command" if tests else "runs no tests"
        partial.append(f"{project.relative(path)} {missing}")
    return warn(
        "no workflow both runs the tests and calls mlrelease: " + "; ".join(partial),
        f"in {project.relative(files[0])} add {_EXAMPLE}",
    )
