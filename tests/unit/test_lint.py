"""The Dockerfiles and the GitHub workflows pass the field's own linters.

hadolint for Dockerfile and Dockerfile.buildkit (with the project's .hadolint.yaml); for the
workflows the GitHub workflow JSON schema (check-jsonschema) and actionlint, which runs
shellcheck on every `run:` script; the Dependabot configuration against its schema. All are
pinned in requirements-dev.txt as wheels that ship their binaries. A failing test prints the
linter's findings. Each linter is also shown a known mistake, so that a linter that checks
nothing cannot pass for a clean file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
DEPENDABOT = REPO / ".github" / "dependabot.yml"
HADOLINT_CONFIG = REPO / ".hadolint.yaml"


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: run scripts/devenv")
    return str(path)


def _lint(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run a linter from the repository root, with no user configuration and no colour."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _hadolint(dockerfile: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return _lint(
        _tool("hadolint"),
        "--no-color",
        "--config",
        str(HADOLINT_CONFIG),
        str(dockerfile),
        home=home,
    )


def _schema(
    path: Path, home: Path, schema: str = "vendor.github-workflows"
) -> subprocess.CompletedProcess[str]:
    return _lint(_tool("check-jsonschema"), "--builtin-schema", schema, str(path), home=home)


def _actionlint(workflow: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # shellcheck named explicitly: the pinned one, not whatever is on PATH; pyflakes not at all.
    return _lint(
        _tool("actionlint"),
        "-no-color",
        "-shellcheck",
        _tool("shellcheck"),
        "-pyflakes=",
        str(workflow),
        home=home,
    )


def _findings(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"


def test_the_repository_has_a_workflow() -> None:
    assert WORKFLOWS, "no workflow in .github/workflows"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.buildkit"])
def test_dockerfile_passes_hadolint(dockerfile: str, tmp_path: Path) -> None:
    proc = _hadolint(REPO / dockerfile, tmp_path)
    assert proc.returncode == 0, _findings(proc)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_the_github_workflow_schema(workflow: Path, tmp_path: Path) -> None:
    proc = _schema(workflow, tmp_path)
    assert proc.returncode == 0, _findings(proc)


def test_dependabot_configuration_matches_its_schema(tmp_path: Path) -> None:
    proc = _schema(DEPENDABOT, tmp_path, "vendor.dependabot")
    assert proc.returncode == 0, _findings(proc)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow: Path, tmp_path: Path) -> None:
    proc = _actionlint(workflow, tmp_path)
    assert proc.returncode == 0, _findings(proc)


def test_hadolint_reports_a_known_mistake(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nCMD python -m service\n")
    proc = _hadolint(dockerfile, tmp_path)
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout and "DL3025" in proc.stdout, _findings(proc)


BROKEN_WORKFLOW = """\
on: push
jobs:
  build:
    steps:
      - run: echo $GITHUB_SHA ${{ steps.missing.outputs.image }}
"""


def test_the_schema_reports_a_known_mistake(tmp_path: Path) -> None:
    workflow = tmp_path / "broken.yml"
    workflow.write_text(BROKEN_WORKFLOW)
    proc = _schema(workflow, tmp_path)
    assert proc.returncode != 0
    assert "runs-on" in proc.stdout + proc.stderr, _findings(proc)


def test_actionlint_reports_known_mistakes_and_runs_shellcheck(tmp_path: Path) -> None:
    workflow = tmp_path / "broken.yml"
    workflow.write_text(BROKEN_WORKFLOW)
    proc = _actionlint(workflow, tmp_path)
    assert proc.returncode != 0
    assert '"runs-on" section is missing' in proc.stdout, _findings(proc)
    assert "SC2086" in proc.stdout, _findings(proc)
