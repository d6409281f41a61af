"""Every fix `mlrelease doctor` prints for the unpolished single-stage fixture, applied as
written: then doctor is satisfied, and the result builds with the engine and serves."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
import uuid
from importlib import metadata
from pathlib import Path

import pytest

from mlrelease.build.smoke import free_port
from tests.integration.releasing import MLRELEASE, release_repo, remove_images
from tests.unit.doctor.fixes import activated, apply_fix, project_environment

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "single-stage"
ROW = [0.03808, 0.05068, 0.0617, 0.02187, -0.04422, -0.03482, -0.0434, -0.00259, 0.01991, -0.01765]
# What a fixed project may still show: no build recorded yet, and the remote checks (--offline).
LEFT = {
    "size": "skip",
    "credentials": "skip",
    "repository": "skip",
    "permission": "skip",
    "cloud-build": "skip",
    "scanning": "skip",
}
# Fixes that are a secret to provide, not a file to edit: left as warnings.
SECRETS = {"signing"}


def _doctor(path: Path, env: dict[str, str]) -> list[dict]:
    import subprocess

    proc = subprocess.run(
        [str(MLRELEASE), "--json", "doctor", "--offline"],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return json.loads(proc.stdout)["data"]["checks"]  # type: ignore[no-any-return]


def _fixture_repo(tmp_path: Path):
    """The fixture in a fresh git repository, with its own virtualenv (kept out of git) that
    has the service's packages at the versions this test run uses."""
    rel = release_repo(tmp_path)
    (rel.path / "pyproject.toml").unlink()
    shutil.copytree(FIXTURE, rel.path, dirs_exist_ok=True)
    with (rel.path / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write(".venv/\n")
    versions = {name: metadata.version(name) for name in ("fastapi", "uvicorn", "scikit-learn")}
    environment = project_environment(rel.path, **versions)
    rel.repo.git("add", "--all")
    rel.repo.commit("the fixture")
    env = {k: v for k, v in rel.env.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return rel, environment, env, versions


def _apply_until_satisfied(rel, environment: Path, env: dict[str, str], keep: set[str]):
    """Apply the first fix doctor prints, commit, ask again; return the ids fixed, in order,
    and the last report."""
    fixed: list[str] = []
    for _ in range(15):
        checks = _doctor(rel.path, env)
        todo = [
            c
            for c in checks
            if c["status"] in ("fail", "warn", "error") and c["id"] not in keep and c["fix"]
        ]
        if not todo:
            return fixed, checks
        check = todo[0]
        assert check["id"] not in fixed, f"the fix did not satisfy the check: {check}"
        apply_fix(rel.path, check["id"], check["fix"], env=activated(env, environment))
        fixed.append(check["id"])
        rel.repo.git("add", "--all")
        rel.repo.commit(f"doctor: {check['id']}")
    raise AssertionError(f"doctor still had fixes after {fixed}")


def _build_and_serve(docker_client, base_image: str, project: Path, tmp_path: Path) -> None:
    """Build the project as written (its literal base replaced by this machine's stand-in,
    which cannot be pulled here), run it non-root on a free port, and ask it to predict."""
    context = tmp_path / "context"
    shutil.copytree(project, context, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("python:3.11-slim", base_image))
    tag = f"mlrelease-test/doctor-fixes-{uuid.uuid4().hex[:10]}:1"
    port = free_port()
    container = None
    try:
        docker_client.images.build(
            path=str(context),
            tag=tag,
            rm=True,
            forcerm=True,
            network_mode=os.environ.get("MLRELEASE_BUILD_NETWORK", "host"),
        )
        container = docker_client.containers.run(
            tag, detach=True, network_mode="host", environment={"PORT": str(port)}
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/", timeout=2) as answer:
                    assert json.load(answer) == {"status": "running"}
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                container.reload()
                assert container.status == "running", container.logs().decode()
                assert time.monotonic() < deadline, container.logs().decode()
                time.sleep(0.5)
        request = urllib.request.Request(
            f"{url}/predict",
            data=json.dumps({"features": ROW}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert 100 < json.load(answer)["prediction"] < 300
        assert container.exec_run("id -u").output.decode().strip() == "10001"
    finally:
        if container is not None:
            container.remove(force=True)
        remove_images(docker_client, tag.split(":")[0])


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(
            set(),
            ["dockerfile.multi-stage", "dockerignore", "requirements.pinned", "model", "workflow"],
            id="multi-stage-recipe",
        ),
        pytest.param(
            {"dockerfile.multi-stage"},
            [
                "dockerfile.layer-order",
                "dockerfile.user",
                "dockerignore",
                "requirements.pinned",
                "model",
                "workflow",
            ],
            id="single-stage-line-fixes",
        ),
    ],
)
def test_every_fix_for_the_single_stage_fixture_builds_and_serves(
    docker_client, base_image: str, tmp_path: Path, keep: set[str], expected: list[str]
) -> None:
    rel, environment, env, versions = _fixture_repo(tmp_path)

    first = {c["id"]: c for c in _doctor(rel.path, env)}
    keep = keep | SECRETS
    fixed, checks = _apply_until_satisfied(rel, environment, env, keep)

    assert fixed == expected
    assert f"`uvicorn=={versions['uvicorn']}`" in first["requirements.pinned"]["fix"], (
        "pins come from the project's own environment"
    )
    assert "tests" not in first["dockerignore"]["fix"].partition(": ")[2].split(", ")
    statuses = {c["id"]: c["status"] for c in checks}
    wanted = {c["id"]: LEFT.get(c["id"], "ok") for c in checks}
    wanted.update({check_id: "warn" for check_id in keep})
    assert statuses == wanted, checks
    assert "tests collected from the root (`.venv/bin/python -m pytest" in next(
        c["finding"] for c in checks if c["id"] == "tests.collect"
    )

    _build_and_serve(docker_client, base_image, rel.path, tmp_path)
