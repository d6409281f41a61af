"""pytest fixtures: `gar` (one emulator per session, reset before each test that uses it) and
`sa_key` (a new service-account key for the default account). CANARY is planted in every secret
the emulator issues."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator import CANARY, GarEmulator

__all__ = ["CANARY", "docker_client", "gar", "sa_key", "unavailable"]


def unavailable(reason: str) -> None:
    """Skip, or fail when MLRELEASE_REQUIRE_ENGINE=1 (as in CI)."""
    if os.environ.get("MLRELEASE_REQUIRE_ENGINE") == "1":
        pytest.fail(f"{reason} (MLRELEASE_REQUIRE_ENGINE=1; run scripts/testground first)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    """The Docker engine DOCKER_HOST names, once per session (its absence: skip, or fail in CI)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as err:
        unavailable(f"no Docker engine answers: {err}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def gar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GarEmulator]:
    """The emulator and its registry, started once per session on free 127.0.0.1 ports."""
    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary or not Path(binary).exists():
        unavailable("docker-registry (CNCF distribution) is not installed")
    emulator = GarEmulator(binary, tmp_path_factory.mktemp("gar"))
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _reset_gar(request: pytest.FixtureRequest) -> None:
    """Each test that uses `gar` starts from repository "docker", all granted, no faults."""
    if "gar" in request.fixturenames:
        request.getfixturevalue("gar").reset()


@pytest.fixture
def sa_key(gar: GarEmulator) -> dict[str, Any]:
    """A new key for the default account (ci@test-project.iam.gserviceaccount.com)."""
    return gar.service_account_key()
