"""Other teams' services released end to end, each configured only through its own
[tool.mlrelease]: doctor, build with the smoke test, bump, build at the tag, push to a plain
registry and verify, releases. The services (tests/fixtures/) differ from ours the way real
ones do: a Flask app on a hard-coded port with no health endpoint answering text to a bare JSON
array; a FastAPI app with named fields, another health path and port, two model files; an app
that trains its model while the image is built and has no model file in git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.releasing import MLRELEASE, remove_images
from tests.unit.conftest import init_repo

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# fixture -> (its image, the command that trains its model in git, or None)
SERVICES = {
    "flask-plain": ("iris-flask", [sys.executable, "train.py"]),
    "fastapi-fields": ("iris-api", [sys.executable, "-m", "training.train"]),
    "trains-in-build": ("wine-classifier", None),
}


def _mlrelease(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MLRELEASE), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.fixture
def released_service(request, tmp_path: Path, registry, docker_client):
    name = request.param
    image, train = SERVICES[name]
    repo = init_repo(tmp_path / name, commit=False)
    shutil.copytree(FIXTURES / name, repo.path, dirs_exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLRELEASE_", "GCP_", "GAR_", "GOOGLE_", "VIRTUAL_ENV"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        GIT_CONFIG_GLOBAL=os.devnull,
        NO_COLOR="1",
        # What this machine needs, not what the service is: its base image (none can be
        # pulled here), the build's network, and where releases go.
        MLRELEASE_BASE_IMAGE=os.environ["MLRELEASE_BASE_IMAGE"],
        MLRELEASE_BUILD_NETWORK=os.environ.get("MLRELEASE_BUILD_NETWORK", "host"),
        MLRELEASE_REGISTRY_HOST=registry.host,
    )
    if train is not None:
        subprocess.run(train, cwd=repo.path, env=env, check=True, capture_output=True)
    repo.git("add", "--all", "--force")
    repo.git("commit", "--quiet", "--message", f"{name} as its team wrote it")
    yield repo, image, env
    remove_images(docker_client, image, f"{registry.host}/{image}")


@pytest.mark.parametrize("released_service", list(SERVICES), indirect=True)
def test_a_service_of_another_shape_is_released_end_to_end(released_service, registry) -> None:
    repo, image, env = released_service

    doctor = _mlrelease(repo.path, env, "--json", "doctor", "--offline")
    checks = {c["id"]: c for c in json.loads(doctor.stdout)["data"]["checks"]}
    assert not [c for c in checks.values() if c["status"] == "error"], checks
    # The model check follows the service's own settings (model_paths, model_path = "").
    assert checks["model"]["status"] in ("ok", "skip"), checks["model"]

    built = _mlrelease(repo.path, env, "--json", "build", "--smoke")
    assert built.returncode == 0, built.stderr
    build_data = json.loads(built.stdout)["data"]
    assert build_data["smoke"]["requests"], build_data["smoke"]
    assert all(request["ok"] for request in build_data["smoke"]["requests"])
    assert build_data["base_image"] == env["MLRELEASE_BASE_IMAGE"]

    bumped = _mlrelease(repo.path, env, "bump", "minor")
    assert (bumped.returncode, bumped.stdout.strip()) == (0, "0.1.0"), bumped.stderr
    at_tag = _mlrelease(repo.path, env, "--json", "build", "--smoke")
    assert at_tag.returncode == 0, at_tag.stderr
    assert f"{image}:v0.1.0" in json.loads(at_tag.stdout)["data"]["tags"]

    pushed = _mlrelease(repo.path, env, "--json", "push", "v0.1.0")
    assert pushed.returncode == 0, pushed.stderr
    push_data = json.loads(pushed.stdout)["data"]
    assert push_data["verified"] is True
    assert not [w for w in push_data["warnings"] if "smoke" in w], push_data["warnings"]

    listed = _mlrelease(repo.path, env, "--json", "releases")
    assert listed.returncode == 0, listed.stderr
    (release,) = json.loads(listed.stdout)["data"]["releases"]
    assert (release["version"], release["digest"]) == ("0.1.0", push_data["digest"])
    # The model it serves, read back from the image's labels through the registry.
    labels = json.loads(at_tag.stdout)["data"]["labels"]
    assert release["model_sha256"] == labels.get("org.mlrelease.model.sha256")
