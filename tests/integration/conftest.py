"""Real parts for integration tests: the Docker engine, a local base image, a registry.

Each is found or started once per session. Without an engine the tests skip, unless
MLRELEASE_REQUIRE_ENGINE=1 (as in CI), where a missing engine fails the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlrelease.build.smoke import free_port
from tests.emulator.fixtures import unavailable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    """The image the Dockerfile's PYTHON_IMAGE argument names: the official one or a stand-in."""
    from docker.errors import ImageNotFound

    name = os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    try:
        docker_client.images.get(name)
    except ImageNotFound:
        unavailable(f"base image {name} is not in the engine")
    return name


@dataclass(frozen=True)
class Registry:
    """A running CNCF distribution registry on 127.0.0.1."""

    host: str  # host:port, as used in image references

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _wait_for_http(url: str, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers; auth errors are the caller's business
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def _serve_registry(root: Path) -> Iterator[Registry]:
    """An open (no auth) distribution registry on a free port, its data under `root`."""
    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary or not Path(binary).exists():
        unavailable("docker-registry (CNCF distribution) is not installed")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    log = (root / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        _wait_for_http(f"http://127.0.0.1:{port}/v2/", process)
        yield Registry(host=f"127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Iterator[Registry]:
    """An open (no auth) distribution registry, started once per session on a free port."""
    with _serve_registry(tmp_path_factory.mktemp("registry")) as served:
        yield served


@pytest.fixture(scope="session")
def second_registry(tmp_path_factory) -> Iterator[Registry]:
    """Another one, on another port: a registry host that `registry` shares no blob with."""
    with _serve_registry(tmp_path_factory.mktemp("second-registry")) as served:
        yield served


@pytest.fixture(scope="session")
def service_context(tmp_path_factory) -> Path:
    """A copy of the repository's build context with a freshly trained model in it."""
    context = tmp_path_factory.mktemp("context")
    for name in ("Dockerfile", ".dockerignore", "requirements.txt"):
        shutil.copy2(REPO / name, context / name)
    (context / "service").mkdir()
    for source in (REPO / "service").glob("*.py"):
        shutil.copy2(source, context / "service" / source.name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "service.train",
            "--output",
            str(context / "service/model/model.joblib"),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return context


@pytest.fixture(scope="session")
def image_namespace(docker_client) -> Iterator[str]:
    """A repository prefix for this session's images alone (`mlrelease-test-<hex>`): the engine
    is shared, so names never collide, and at the end only the tags made under it are removed."""
    from docker.errors import DockerException

    namespace = f"mlrelease-test-{uuid.uuid4().hex[:10]}"
    yield namespace
    for image in docker_client.images.list(filters={"reference": f"{namespace}/*"}):
        for tag in image.tags:
            if tag.startswith(f"{namespace}/"):
                with contextlib.suppress(DockerException):
                    docker_client.images.remove(tag)
