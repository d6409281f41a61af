"""Faults for a chaos run: a failing registry token service, a frozen API, an upload stalled
mid-way, permissions revoked mid-run; every hang ends by itself and never blocks stop()."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY, unique
from tests.emulator.faults import MAX_HANG_S, Faults
from tests.emulator.registry_client import RegistryClient
from tests.emulator.test_registry import access_token_auth, error_of, push

PUSH_SCOPE = "repository:test-project/docker/faults:push,pull"


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_registry_token_service_fails_then_recovers(gar: GarEmulator, registry):
    gar.fail_next(1, target="registry-token", status=503)

    failed = registry.realm(PUSH_SCOPE)
    recovered = registry.realm(PUSH_SCOPE)

    assert failed.status_code == 503
    assert failed.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert recovered.status_code == 200
    assert [r[3] for r in gar.requests if r[0] == "registry-token"] == [503, 200]


def test_the_engine_retries_a_failing_registry_token_service(
    docker_client, gar, image, credentials
):
    # Measured: the engine asks the realm again after a 5xx, backing off (about 30 s for three).
    gar.fail_next(1, target="registry-token", status=500)

    stream = push(docker_client, image, access_token_auth(credentials.token))

    assert error_of(stream) is None
    assert [r[3] for r in gar.requests if r[0] == "registry-token"][:2] == [500, 200]


@pytest.fixture
def image(docker_client, gar):
    from tests.emulator.test_registry import tiny_tar

    repository = f"{gar.registry_host}/test-project/docker/{unique('faults')}"
    docker_client.api.import_image_from_data(tiny_tar(), repository=repository, tag="v1")
    yield repository
    docker_client.images.remove(f"{repository}:v1", force=True)


def test_a_frozen_api_answers_after_its_seconds(gar: GarEmulator, client):
    gar.hang_next(1, target="api", seconds=1.0)
    started = time.monotonic()

    assert client.get_repository(name=REPOSITORY).name == REPOSITORY
    assert time.monotonic() - started >= 1.0
    assert [r[3] for r in gar.requests if r[0] == "api"] == [200]


def test_a_frozen_api_holds_the_request_until_released(gar: GarEmulator, credentials):
    import requests

    gar.hang_next(1, target="api")
    url = f"{gar.api_endpoint}/v1/{REPOSITORY}"
    bearer = {"Authorization": f"Bearer {credentials.token}"}

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, headers=bearer, timeout=0.5)
    assert gar.held("api") == 1
    gar.release()
    wait_until(lambda: gar.held("api") == 0)

    assert requests.get(url, headers=bearer, timeout=5).status_code == 200


def test_the_client_library_times_out_on_a_frozen_api(gar: GarEmulator, client):
    import requests

    gar.hang_next(1, target="api", seconds=30)

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.get_repository(name=REPOSITORY, timeout=0.5, retry=None)
    gar.release()


def test_an_upload_stalls_mid_way(gar: GarEmulator, credentials):
    import requests

    slow = RegistryClient(gar, credentials.token, timeout=1.0)
    gar.hang_next(1, target="registry", seconds=MAX_HANG_S)

    with pytest.raises(requests.exceptions.ReadTimeout):
        slow.upload_blob(f"test-project/docker/{unique('stall')}", os.urandom(1 << 20))
    assert gar.held("registry") == 1
    gar.release()
    wait_until(lambda: gar.held("registry") == 0)


def test_a_stalled_upload_resumes_and_the_push_succeeds(docker_client, gar, image, credentials):
    gar.hang_next(1, target="registry", seconds=2.0)
    started = time.monotonic()

    stream = push(docker_client, image, access_token_auth(credentials.token))

    assert error_of(stream) is None
    assert time.monotonic() - started >= 2.0
    uploads = [r for r in gar.requests if r[0] == "registry" and "/blobs/uploads/" in r[2]]
    assert uploads and all(r[3] in (201, 202, 204) for r in uploads)


def test_permissions_revoked_mid_run_and_restored(gar: GarEmulator, registry):
    assert registry.realm(PUSH_SCOPE).status_code == 200

    gar.deny("artifactregistry.repositories.uploadArtifacts")
    refused = registry.realm(PUSH_SCOPE)
    gar.grant("artifactregistry.repositories.uploadArtifacts")

    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "DENIED"
    assert registry.realm(PUSH_SCOPE).status_code == 200


def test_reset_lets_held_requests_go(gar: GarEmulator, credentials):
    import requests

    gar.hang_next(1, target="api")
    url = f"{gar.api_endpoint}/v1/{REPOSITORY}"
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, headers={"Authorization": f"Bearer {credentials.token}"}, timeout=0.3)

    gar.reset()

    wait_until(lambda: gar.held("api") == 0)


def test_a_frozen_server_never_blocks_stop(tmp_path):
    import requests

    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary:
        pytest.skip("docker-registry is not installed")
    emulator = GarEmulator(binary, tmp_path)
    emulator.hang_next(2, target="api")
    emulator.hang_next(1, target="token")

    def call(url: str) -> None:
        with contextlib.suppress(requests.exceptions.RequestException):
            requests.get(url, timeout=30)

    callers = [
        threading.Thread(target=call, args=(f"{emulator.api_endpoint}/v1/{REPOSITORY}",)),
        threading.Thread(target=call, args=(emulator.token_uri,)),
    ]
    for caller in callers:
        caller.start()
    wait_until(lambda: emulator.held("api") == 1 and emulator.held("token") == 1)
    started = time.monotonic()

    emulator.stop()

    assert time.monotonic() - started < 5
    for caller in callers:
        caller.join(timeout=10)
        assert not caller.is_alive()


def test_every_hang_is_bounded():
    faults = Faults()
    faults.hang_next(1, "api", None)
    faults.hang_next(1, "api", 1e9)
    faults.hang_next(1, "api", -5)

    assert [faults.take_hang("api").seconds for _ in range(3)] == [MAX_HANG_S, MAX_HANG_S, 0.0]


@pytest.mark.parametrize("method", ["fail_next", "hang_next"])
def test_unknown_targets_are_refused(gar: GarEmulator, method):
    with pytest.raises(ValueError, match="target must be one of"):
        getattr(gar, method)(1, target="nowhere")
