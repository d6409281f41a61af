"""`mlrelease doctor` against the real engine, and on this project's own repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO

MLRELEASE = Path(sys.executable).with_name("mlrelease")
GIT_IDENTITY = ("-c", "user.name=Doctor Test", "-c", "user.email=doctor@example.com")


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def _doctor(cwd: Path, *args: str, **env: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [str(MLRELEASE), "--json", "doctor", *args],
        cwd=cwd,
        # The project's own environment, activated as CI does: tests.collect runs its Python.
        env={**os.environ, "VIRTUAL_ENV": sys.prefix, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as it would be committed now (a clone, with the working tree's changes
    committed on top), with a freshly trained model, as CI has it before a build."""
    if not MLRELEASE.exists():
        pytest.skip("the mlrelease console script is not installed in this environment")
    copy = tmp_path_factory.mktemp("project") / "mlrelease"
    _git(REPO.parent, "clone", "--quiet", str(REPO), str(copy))
    changed = _git(REPO, "ls-files", "-z", "--modified", "--others", "--exclude-standard")
    for name in filter(None, changed.split("\0")):
        source, target = REPO / name, copy / name
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            target.unlink(missing_ok=True)
    _git(copy, "add", "--all")
    _git(copy, *GIT_IDENTITY, "commit", "--quiet", "--allow-empty", "-m", "working tree")
    subprocess.run(
        [sys.executable, "-m", "service.train", "--output", "service/model/model.joblib"],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    return copy


def test_the_engine_check_reports_the_running_engine(docker_client, project: Path) -> None:
    code, envelope = _doctor(project, "--only", "engine")

    assert code == 0, envelope
    (check,) = envelope["data"]["checks"]
    assert check["status"] == "ok"
    version = docker_client.version()
    assert check["finding"].startswith(
        f"Docker Engine {version['Version']} (API {version['ApiVersion']}, "
    )


def test_the_project_passes_every_offline_check(docker_client, project: Path) -> None:
    code, envelope = _doctor(project, "--offline")

    statuses = {check["id"]: check["status"] for check in envelope["data"]["checks"]}
    # Skipped: the remote checks (--offline), and size until the clone has built an image.
    skipped = {"credentials", "repository", "permission", "cloud-build", "scanning", "size"}
    # Warned: no signing key is configured in a clone (it is a CI secret).
    warned = {"signing"}
    assert {name: s for name, s in statuses.items() if name not in skipped | warned} == {
        name: "ok" for name in statuses if name not in skipped | warned
    }, [c for c in envelope["data"]["checks"] if c["status"] != "ok"]
    assert {statuses[name] for name in skipped} == {"skip"}
    assert {statuses[name] for name in warned} == {"warn"}
    assert code == 0


@pytest.mark.parametrize(
    ("builder", "dockerfile"), [("buildkit", "Dockerfile.buildkit"), ("classic", "Dockerfile")]
)
def test_the_dockerfile_checks_read_what_the_builder_builds(
    project: Path, builder: str, dockerfile: str
) -> None:
    code, envelope = _doctor(
        project, "--offline", "--only", "dockerfile", MLRELEASE_BUILDER=builder
    )

    checks = {check["id"]: check for check in envelope["data"]["checks"]}
    assert code == 0, envelope
    assert checks["dockerfile.present"]["finding"].startswith(f"{dockerfile}: 2 stage(s)")
    assert {check["status"] for check in checks.values()} == {"ok"}, envelope
