"""Smoke-test a built image: run it, wait for /health, check /ready, predict the model's example.

The container uses host networking on a free 127.0.0.1 port, which works on engines started with
`--bridge=none` and never exposes the service beyond this machine.

The image reference (the Docker reference grammar), the timeout and DOCKER_HOST are checked
before the engine is asked, so that a mistyped argument is exit 2, not an engine error.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from mlrelease.engine import check_docker_host, engine_failure
from mlrelease.errors import EngineError, PreconditionError, SmokeTestError, UsageError
from mlrelease.labels import SMOKE_CONTAINER
from mlrelease.results.build import SmokeResult

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container


DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 3600.0

_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}", re.ASCII)


def check_reference(image: str) -> str:
    """Return `image` if it is a Docker image reference (`refs.parse`) or an image ID, else
    raise UsageError."""
    from mlrelease.refs import parse

    if not _IMAGE_ID.fullmatch(image):
        parse(image)
    return image


def check_timeout(timeout: float) -> float:
    """Return `timeout` if it is a number of seconds above 0 and at most an hour."""
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UsageError(
            f"--timeout {timeout!r} is not a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT_S:g}",
            hint="pass a timeout such as --timeout 60",
        )
    return timeout


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _last_log_line(container: Container) -> str:
    lines = container.logs(tail=20).decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no log output)"


def _wait_for_health(container: Container, base: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        container.reload()
        if container.status in {"exited", "dead"}:
            code = container.attrs["State"]["ExitCode"]
            last = _last_log_line(container)
            raise SmokeTestError(f"the container exited with code {code} before answering: {last}")
        try:
            if _request(f"{base}/health", timeout=1).get("status") == "ok":
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(0.2)
    raise SmokeTestError(
        f"/health did not answer within {timeout:.0f} s: {_last_log_line(container)}"
    )


def smoke_test(
    image: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    client: docker.DockerClient | None = None,
) -> SmokeResult:
    """Run `image`, wait for /health, check /ready and predict the example the model ships with."""
    check_reference(image)
    check_timeout(timeout)
    from docker.errors import DockerException

    from mlrelease.engine import docker_client

    if client is None:
        check_docker_host()
        client = docker_client()
    try:
        return _smoke(client, image, timeout)
    except DockerException as err:
        raise EngineError(
            f"the Docker engine failed during the smoke test: {engine_failure(err)}"
        ) from err


def _smoke(client: docker.DockerClient, image: str, timeout: float) -> SmokeResult:
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound as err:
        raise PreconditionError(
            f"the image {image} is not in the engine", hint="build it with `mlrelease build`"
        ) from err
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        container = client.containers.run(
            image,
            detach=True,
            network_mode="host",
            environment={"PORT": str(port), "HOST": "127.0.0.1"},
            labels={SMOKE_CONTAINER: "1"},
        )
    except DockerException as err:
        raise EngineError(f"the engine could not start {image}: {engine_failure(err)}") from err
    try:
        startup = _wait_for_health(container, base, timeout)
        try:
            ready = _request(f"{base}/ready")
            metadata = _request(f"{base}/metadata")
            example = metadata["model"]["example"]
            answer = _request(f"{base}/predict", {"instance": example["instance"]})
        except (urllib.error.URLError, KeyError, TypeError, json.JSONDecodeError) as err:
            raise SmokeTestError(f"the service answered wrongly: {err}") from err
        if ready.get("status") != "ready":
            raise SmokeTestError(f"/ready says {ready!r}")
        predicted = answer["predictions"][0]
        if predicted != example["prediction"]:
            raise SmokeTestError(
                f"/predict gave {predicted!r} for the model's example; expected "
                f"{example['prediction']!r}"
            )
        return SmokeResult(
            image=image,
            port=port,
            startup_seconds=startup,
            model_sha256=answer["model_sha256"],
            prediction=predicted,
        )
    finally:
        # Labelled org.mlrelease.smoke for a later clean-up: an error already raised matters more.
        with contextlib.suppress(DockerException):
            container.remove(force=True)
