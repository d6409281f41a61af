"""`mlrelease build` and `mlrelease smoke` end to end: a real repository, engine and image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlrelease.image import build_image

pytestmark = pytest.mark.integration


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def service_repo(tmp_path_factory, service_context, docker_client) -> Path:
    """The service's build context as a committed git repository of its own."""
    repo = tmp_path_factory.mktemp("service-repo")
    shutil.copytree(service_context, repo, dirs_exist_ok=True)
    (repo / "pyproject.toml").write_text('[tool.mlrelease]\nimage = "mlrelease-test/cli"\n')
    _git(repo, "init", "--quiet", "--initial-branch", "main")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "add", ".")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "service")
    return repo


def _mlrelease(repo: Path, base_image: str, *args: str, **extra: str):
    env = {
        **os.environ,
        "MLRELEASE_BASE_IMAGE": base_image,
        "MLRELEASE_BUILD_NETWORK": "host",
        "NO_COLOR": "1",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "mlrelease", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_build_tags_labels_reports_and_feeds_github(
    service_repo, base_image, docker_client, tmp_path
):
    outputs = tmp_path / "github_output"
    head = _git(service_repo, "rev-parse", "HEAD")

    proc = _mlrelease(service_repo, base_image, "build", GITHUB_OUTPUT=str(outputs))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"mlrelease-test/cli:sha-{head[:7]}\n"
    assert "Step 1/" in proc.stderr and "largest layers:" in proc.stderr
    labels = docker_client.images.get(proc.stdout.strip()).labels
    metadata = json.loads((service_repo / "service/model/model.json").read_text())
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.mlrelease.model.sha256"] == metadata["sha256"]
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert written["image"] == proc.stdout.strip()
    assert written["digest"] == docker_client.images.get(proc.stdout.strip()).id
    assert int(written["size_bytes"]) > 100_000_000


def test_build_at_a_release_tag_adds_the_version_tag(service_repo, base_image, docker_client):
    _git(service_repo, "-c", "user.name=T", "-c", "user.email=t@example.com",
         "tag", "-a", "v1.2.0", "-m", "Release v1.2.0")  # fmt: skip

    proc = _mlrelease(service_repo, base_image, "--json", "build")

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert data["tags"][1] == "mlrelease-test/cli:v1.2.0"
    image = docker_client.images.get("mlrelease-test/cli:v1.2.0")
    assert image.labels["org.opencontainers.image.version"] == "v1.2.0"
    assert data["image_id"] == image.id


def test_smoke_runs_the_head_image_and_predicts(service_repo, base_image):
    built = _mlrelease(service_repo, base_image, "build")
    assert built.returncode == 0, built.stderr

    proc = _mlrelease(service_repo, base_image, "--json", "smoke")

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    metadata = json.loads((service_repo / "service/model/model.json").read_text())
    assert data["image"] == built.stdout.strip()
    assert data["prediction"] == metadata["example"]["prediction"]
    assert data["model_sha256"] == metadata["sha256"]


def test_smoke_fails_clearly_when_the_service_refuses_its_model(
    service_context, base_image, docker_client, tmp_path
):
    context = tmp_path / "context"
    shutil.copytree(service_context, context)
    model = context / "service/model/model.joblib"
    model.write_bytes(model.read_bytes() + b"tampered")
    build_image(
        context=context,
        tags=["mlrelease-test/tampered:1"],
        buildargs={"PYTHON_IMAGE": base_image},
        network_mode="host",
        client=docker_client,
    )

    proc = _mlrelease(tmp_path, base_image, "smoke", "mlrelease-test/tampered:1")

    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: the container exited with code 1 before answering:")
    assert "the file changed after training" in lines[0]
    assert "Traceback" not in proc.stderr


def test_build_ignores_a_broken_credential_helper(service_repo, base_image, tmp_path):
    # A credential helper named in the user's Docker config makes docker-py fail even a build.
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text('{"credsStore": "mlrelease-test-missing-helper"}')

    proc = _mlrelease(service_repo, base_image, "build", DOCKER_CONFIG=str(config))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mlrelease-test/cli:sha-")
