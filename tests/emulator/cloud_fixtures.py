"""pytest fixtures for Cloud Storage, Cloud Build and Container Analysis, beside `gar`
(tests.emulator.fixtures).

`storage`, `cloud_build` and `container_analysis` are started once per session on free 127.0.0.1
ports and reset before each test that asks for them; `gar`'s own reset (everything granted, no
faults) applies to them all, since they take their tokens and denied permissions from it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.emulator.cloud_build import CloudBuildEmulator
from tests.emulator.container_analysis import ContainerAnalysisEmulator
from tests.emulator.fixtures import unavailable
from tests.emulator.server import GarEmulator
from tests.emulator.storage import StorageEmulator

__all__ = [
    "cloud_build",
    "cloud_build_emulator",
    "container_analysis",
    "container_analysis_emulator",
    "storage",
    "storage_emulator",
]


@pytest.fixture(scope="session")
def storage_emulator(
    gar: GarEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StorageEmulator]:
    """gcp-storage-emulator behind GCS's authentication, once per session."""
    if importlib.util.find_spec("gcp_storage_emulator") is None:
        unavailable("gcp-storage-emulator is not installed")
    emulator = StorageEmulator(gar)
    yield emulator
    emulator.stop()


@pytest.fixture
def storage(storage_emulator: StorageEmulator) -> StorageEmulator:
    """The storage emulator, emptied: no buckets, no objects, no faults."""
    storage_emulator.reset()
    return storage_emulator


@pytest.fixture(scope="session")
def cloud_build_emulator(
    gar: GarEmulator,
    storage_emulator: StorageEmulator,
    docker_client,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CloudBuildEmulator]:
    """Cloud Build running builds on the engine `docker_client` reaches, once per session (no
    engine: skip, or fail under MLRELEASE_REQUIRE_ENGINE=1)."""
    try:
        emulator = CloudBuildEmulator(gar, storage_emulator, tmp_path_factory.mktemp("cloudbuild"))
    except RuntimeError as err:  # no docker CLI
        unavailable(str(err))
    yield emulator
    emulator.stop()


@pytest.fixture
def cloud_build(
    cloud_build_emulator: CloudBuildEmulator, storage_emulator: StorageEmulator
) -> CloudBuildEmulator:
    """Cloud Build with no build running or kept, its API enabled; Cloud Storage emptied."""
    cloud_build_emulator.reset()  # first: a cancelled build writes its log's last lines
    storage_emulator.reset()
    return cloud_build_emulator


@pytest.fixture(scope="session")
def container_analysis_emulator(gar: GarEmulator) -> Iterator[ContainerAnalysisEmulator]:
    """Container Analysis (Grafeas v1) for `gar`'s project, once per session."""
    emulator = ContainerAnalysisEmulator(gar)
    yield emulator
    emulator.stop()


@pytest.fixture
def container_analysis(
    container_analysis_emulator: ContainerAnalysisEmulator,
) -> ContainerAnalysisEmulator:
    """Container Analysis with no image scanned, its API enabled, no faults."""
    container_analysis_emulator.reset()
    return container_analysis_emulator
