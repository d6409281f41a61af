"""`mlrelease build` of services shaped unlike ours (tests/fixtures/): a literal FROM, an ARG
of another name, a model trained during the build; the base actually used and the model
labels, read back from the engine."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.releasing import json_build, remove_images
from tests.unit.conftest import init_repo

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _fixture_repo(tmp_path: Path, name: str, *train: str) -> Path:
    """A fresh git repository holding a copy of the fixture, trained with `train` (the
    fixture's own command) and committed, as a user of that service would have it."""
    path = tmp_path / name
    shutil.copytree(FIXTURES / name, path)
    repo = init_repo(path, commit=False)
    if train:
        subprocess.run([sys.executable, *train], cwd=path, check=True, capture_output=True)
    repo.git("add", "--all")
    repo.commit("the service")
    return path


def _build(path: Path, image: str, base_image: str, *args: str) -> subprocess.CompletedProcess:
    # The base-image checks read the classic builder's history (BuildKit's shows <missing>
    # for the base's layers).
    return json_build(path, image, base_image, *args, MLRELEASE_BUILDER="classic")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def image_name(image_namespace, docker_client, request):
    words = request.node.name.removeprefix("test_").split("_")[:4]
    name = f"{image_namespace}/{'-'.join(words)}"
    yield name
    remove_images(docker_client, name)


def _built(proc: subprocess.CompletedProcess, docker_client):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)["data"]
    return data, docker_client.images.get(data["ref"])


def test_a_literal_from_is_built_on_the_configured_base_from_a_copy(
    tmp_path, docker_client, base_image, image_name
):
    path = _fixture_repo(tmp_path, "flask-plain", "train.py")
    dockerfile = (path / "Dockerfile").read_text()

    data, image = _built(_build(path, image_name, base_image), docker_client)

    assert (path / "Dockerfile").read_text() == dockerfile  # the user's file is untouched
    assert data["base_image"] == base_image
    assert data["base_image_id"] == docker_client.images.get(base_image).id
    labels = image.labels
    assert labels["org.opencontainers.image.base.name"] == base_image
    # The local stand-in was imported, never pulled: the engine knows no registry digest.
    assert "org.opencontainers.image.base.digest" not in labels
    assert image.history()[-1]["Id"] == docker_client.images.get(base_image).id
    # No model.json beside it: the checksum is computed.
    assert labels["org.mlrelease.model.sha256"] == _sha256(path / "model/iris.joblib")
    assert "org.mlrelease.model.sklearn_version" not in labels
    assert data["model"]["files"][0]["metadata"] is None


def test_an_arg_of_another_name_takes_the_base_and_several_models_get_one_label(
    tmp_path, docker_client, base_image, image_name
):
    path = _fixture_repo(tmp_path, "fastapi-fields", "-m", "training.train")

    proc = _build(path, image_name, base_image)
    data, image = _built(proc, docker_client)

    assert "were not consumed" not in proc.stderr  # no PYTHON_IMAGE passed to it
    assert image.labels["org.opencontainers.image.base.name"] == base_image
    assert image.history()[-1]["Id"] == docker_client.images.get(base_image).id
    files = {
        name: _sha256(path / name)
        for name in ("models/classifier.joblib", "models/label_encoder.joblib")
    }
    combined = json.dumps(files, sort_keys=True, separators=(",", ":"))
    assert image.labels["org.mlrelease.model.files"] == combined
    assert (
        image.labels["org.mlrelease.model.sha256"] == hashlib.sha256(combined.encode()).hexdigest()
    )
    assert [file["path"] for file in data["model"]["files"]] == sorted(files)


def test_a_model_trained_in_the_build_needs_no_model_file(
    tmp_path, docker_client, base_image, image_name
):
    path = _fixture_repo(tmp_path, "trains-in-build")

    data, image = _built(_build(path, image_name, base_image), docker_client)

    assert data["model"] is None
    assert not any(key.startswith("org.mlrelease.model.") for key in image.labels)
    assert image.labels["org.opencontainers.image.base.name"] == base_image


def test_a_base_computed_from_several_args_is_refused_before_the_engine(
    tmp_path, base_image, image_name
):
    path = _fixture_repo(tmp_path, "trains-in-build")
    text = (path / "Dockerfile").read_text()
    (path / "Dockerfile").write_text(
        text.replace(
            "ARG PYTHON_IMAGE=python:3.11-slim", "ARG PY=3.11\nARG PYTHON_IMAGE=python"
        ).replace("FROM ${PYTHON_IMAGE}", "FROM ${PYTHON_IMAGE}:${PY}-slim")
    )

    proc = _build(path, image_name, base_image)

    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stdout)["errors"][0]
    assert "cannot be applied to `FROM ${PYTHON_IMAGE}:${PY}-slim`" in error["message"]
    assert "`ARG BASE_IMAGE=python:3.11-slim` before line" in error["hint"]
