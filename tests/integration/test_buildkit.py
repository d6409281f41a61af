"""`mlrelease build --builder buildkit` against the real engine, through a docker CLI with
BuildKit (here /usr/bin/docker 20.10 with DOCKER_BUILDKIT=1; buildx where it is installed)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.emulator.fixtures import unavailable
from tests.integration.conftest import REPO
from tests.integration.releasing import json_build, remove_images
from tests.unit.conftest import init_repo

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SIMPLE = """\
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS builder
RUN echo built > /built.txt
FROM ${PYTHON_IMAGE}
COPY --from=builder /built.txt /built.txt
COPY app.py /app/app.py
RUN python -c "print('ok')"
CMD ["python", "/app/app.py"]
"""


@pytest.fixture(scope="module")
def buildkit_cli(docker_client) -> str:
    """The docker CLI that `--builder buildkit` would use (its absence: skip, or fail in CI)."""
    from mlrelease.build.builders import find_buildkit_cli

    cli, notes = find_buildkit_cli(os.environ)
    if cli is None:
        unavailable("no docker CLI can run a BuildKit build here: " + "; ".join(notes))
    return cli.path


@pytest.fixture
def image_name(image_namespace, docker_client, request):
    words = request.node.name.removeprefix("test_").split("_")[:4]
    name = f"{image_namespace}/bk-{'-'.join(words)}"
    yield name
    remove_images(docker_client, name)


def _repo(path: Path, files: dict[str, str] | None = None, fixture: str | None = None) -> Path:
    if fixture:
        shutil.copytree(FIXTURES / fixture, path)
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (path / name).write_text(text)
    repo = init_repo(path, commit=False)
    repo.git("add", "--all")
    repo.commit("the service")
    return path


def _mlrelease(path: Path, image: str, base_image: str, *args: str) -> subprocess.CompletedProcess:
    return json_build(path, image, base_image, *args)


def test_the_secret_fixture_builds_with_its_build_secret(
    tmp_path, buildkit_cli, base_image, image_name, docker_client
):
    path = _repo(tmp_path / "sentiment", fixture="build-secret")
    secret = path / "pip.conf.example"

    proc = _mlrelease(
        path,
        image_name,
        base_image,
        "--builder",
        "buildkit",
        "--secret",
        f"id=pip_conf,src={secret}",
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert data["builder"] == "buildkit"
    image = docker_client.images.get(data["ref"])
    assert image.id == data["image_id"]
    assert data["size_bytes"] == image.attrs["Size"] and data["layers"]
    assert image.labels["org.opencontainers.image.base.name"] == base_image
    # The secret is mounted for its step only: neither it nor its path is in the image.
    history = json.dumps(image.history())
    assert "timeout = 61" not in history and str(secret) not in history
    assert str(secret) not in proc.stderr


def test_a_missing_secret_source_is_exit_2_before_any_build(
    tmp_path, buildkit_cli, base_image, image_name, docker_client
):
    path = _repo(tmp_path / "sentiment", fixture="build-secret")

    proc = _mlrelease(
        path, image_name, base_image, "--builder", "buildkit", "--secret", "id=pip_conf,src=gone"
    )

    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = json.loads(proc.stdout)["errors"][0]
    assert error["message"].startswith("the build secret 'pip_conf' (from flag --secret)")
    assert docker_client.images.list(name=image_name) == []


def test_the_result_has_the_same_shape_whichever_builder_made_it(
    tmp_path, buildkit_cli, base_image, image_name
):
    files = {
        "Dockerfile": SIMPLE,
        "app.py": "print('hello')\n",
        "pyproject.toml": '[tool.mlrelease]\nmodel_path = ""\n',
    }
    path = _repo(tmp_path / "simple", files)

    results = {}
    for builder in ("classic", "buildkit"):
        proc = _mlrelease(path, image_name, base_image, "--builder", builder)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results[builder] = json.loads(proc.stdout)["data"]

    classic, buildkit = results["classic"], results["buildkit"]
    assert (classic["builder"], buildkit["builder"]) == ("classic", "buildkit")
    assert classic.keys() == buildkit.keys()
    assert buildkit["tags"] == classic["tags"]
    # The same labels, but for the one that names the builder.
    made_by = "org.mlrelease.builder"
    assert (classic["labels"].pop(made_by), buildkit["labels"].pop(made_by)) == (
        "classic",
        "buildkit",
    )
    assert buildkit["labels"] == classic["labels"]
    assert buildkit["image_id"].startswith("sha256:") and buildkit["layers"]
    assert {type(value) for value in buildkit.values()} <= {
        type(value) for value in classic.values()
    } | {type(None)}
    assert buildkit["steps"] == 6  # builder: FROM, RUN; runtime: FROM, COPY, COPY, RUN


def test_a_failing_step_is_exit_1_naming_the_step(tmp_path, buildkit_cli, base_image, image_name):
    files = {
        "Dockerfile": "ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\nRUN echo breaking && exit 3\n",
        "pyproject.toml": '[tool.mlrelease]\nmodel_path = ""\n',
    }
    path = _repo(tmp_path / "failing", files)

    proc = _mlrelease(path, image_name, base_image, "--builder", "buildkit")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    envelope = json.loads(proc.stdout)
    message = envelope["errors"][0]["message"]
    assert message.startswith("the build failed at step [2/2] RUN echo breaking && exit 3: "), (
        message
    )
    assert "exit code: 3" in message
    assert envelope["data"]["step"] == "[2/2] RUN echo breaking && exit 3"
    assert any("breaking" in line for line in envelope["data"]["log_tail"])


KEPT_OUT = "kept-out.txt"


def _two_dockerfiles(path: Path) -> Path:
    """A service with a Dockerfile for each builder: Dockerfile.buildkit mounts a cache."""
    whole_context = SIMPLE.replace("COPY app.py /app/app.py", "COPY . /app/")
    run = "RUN python -c \"print('ok')\""
    classic = whole_context.replace(run, 'RUN echo "classic" > /built-by')
    buildkit = whole_context.replace(
        run, 'RUN --mount=type=cache,target=/root/.cache/pip echo "buildkit" > /built-by'
    )
    files = {
        "Dockerfile": classic,
        "Dockerfile.buildkit": buildkit,
        "app.py": "print('hello')\n",
        KEPT_OUT: "the context never holds this\n",
        ".dockerignore": f"{KEPT_OUT}\n",
        "pyproject.toml": '[tool.mlrelease]\nmodel_path = ""\n'
        'buildkit_dockerfile = "Dockerfile.buildkit"\n',
    }
    return _repo(path, files)


def _files_in(docker_client, image: str, *paths: str) -> dict[str, str]:
    """The text of each of `paths` that the image holds, read without running it."""
    from docker.errors import NotFound

    container = docker_client.containers.create(image)
    found = {}
    try:
        for path in paths:
            try:
                chunks, _ = container.get_archive(path)
            except NotFound:
                continue
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                member = tar.extractfile(tar.getmembers()[0])
                found[path] = member.read().decode() if member else ""
    finally:
        container.remove(force=True)
    return found


def test_buildkit_builds_buildkit_dockerfile_and_classic_builds_dockerfile(
    tmp_path, buildkit_cli, base_image, image_name, docker_client
):
    path = _two_dockerfiles(tmp_path / "two")

    for builder, dockerfile in (("buildkit", "Dockerfile.buildkit"), ("classic", "Dockerfile")):
        proc = _mlrelease(path, image_name, base_image, "--builder", builder)

        assert proc.returncode == 0, proc.stdout + proc.stderr
        data = json.loads(proc.stdout)["data"]
        assert data["builder"] == builder
        assert data["labels"]["org.mlrelease.dockerfile"] == dockerfile
        assert docker_client.images.get(data["ref"]).labels["org.mlrelease.dockerfile"] == (
            dockerfile
        )
        # Each builder ran its own file, and both left out what .dockerignore names.
        files = _files_in(
            docker_client, data["ref"], "/built-by", "/app/app.py", f"/app/{KEPT_OUT}"
        )
        assert files == {"/built-by": f"{builder}\n", "/app/app.py": "print('hello')\n"}


def test_this_repository_builds_each_of_its_dockerfiles_with_its_builder(
    tmp_path, buildkit_cli, base_image, image_name, docker_client, service_context
):
    # The service as this repository builds it, with its own [tool.mlrelease] settings.
    path = tmp_path / "mlrelease"
    shutil.copytree(service_context, path)
    for name in ("Dockerfile.buildkit", "pyproject.toml"):
        shutil.copy2(REPO / name, path / name)
    _repo(path)

    for builder, dockerfile in (("buildkit", "Dockerfile.buildkit"), ("classic", "Dockerfile")):
        proc = _mlrelease(path, image_name, base_image, "--builder", builder)

        assert proc.returncode == 0, proc.stdout + proc.stderr
        data = json.loads(proc.stdout)["data"]
        assert (data["builder"], data["labels"]["org.mlrelease.dockerfile"]) == (
            builder,
            dockerfile,
        )
