"""Smoke-test a built image: run it as `[tool.mlrelease.smoke]` says, wait until it answers, send
each configured request and check the answers (`smoke_checks.py` judges them).

Without configured requests, this repository's own service contract is checked: GET /ready,
GET /metadata for the model's example, POST /predict of that example.

Networking: where the engine has a bridge network, the container's port is published on
127.0.0.1 at a free port, so the service is never exposed beyond this machine. An engine started
with `--bridge=none` has none: the container then shares the host's network, and the service is
told a free port through `port_env` (or, with a hard-coded port, that port is used).

The image reference, the timeout and DOCKER_HOST are checked before the engine is asked, so
that a mistyped argument is exit 2, not an engine error. The container is removed in every
outcome, Ctrl-C included, by the name it was given.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlrelease.build import smoke_checks
from mlrelease.build.smoke_checks import Answer, excerpt
from mlrelease.build.smoke_network import NetworkPlan, plan_network
from mlrelease.build.smoke_network import free_port as free_port  # where the tests import it
from mlrelease.config.smoke import SmokeConfig, SmokeRequest
from mlrelease.engine import check_docker_host, engine_failure
from mlrelease.errors import EngineError, PreconditionError, SmokeTestError, UsageError, one_line
from mlrelease.labels import SMOKE_CONTAINER
from mlrelease.results.build import SmokeCheck, SmokeResult

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container


MAX_TIMEOUT_S = 3600.0
REQUEST_TIMEOUT_S = 30.0  # one request once the service is up; a slow model still answers
POLL_S = 0.25
MAX_BODY = 1_000_000  # bytes of an answer read: enough to judge, bounded for a runaway stream
LOG_LINES = 5

_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}", re.ASCII)
# Never through a proxy: the service is on 127.0.0.1, and HTTP(S)_PROXY may be set for PyPI.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


class _NoAnswer(Exception):
    """Nothing answered over HTTP: refused, reset, timed out, not HTTP."""


def send(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = REQUEST_TIMEOUT_S,
) -> Answer:
    """One HTTP request; an answer of any status is an Answer, no answer raises _NoAnswer."""
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            kind = response.headers.get("Content-Type", "")
            return Answer(response.status, kind, response.read(MAX_BODY))
    except urllib.error.HTTPError as err:
        with err:
            kind = err.headers.get("Content-Type", "") if err.headers else ""
            return Answer(err.code, kind, err.read(MAX_BODY))
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise _NoAnswer(one_line(reason, 120) or type(err).__name__) from err


def request_body(request: SmokeRequest) -> tuple[bytes | None, str | None]:
    """The bytes and content type a configured request sends."""
    if request.json is not None:
        return json.dumps(request.json).encode(), request.content_type or "application/json"
    if request.body is not None:
        return request.body.encode(), request.content_type or "text/plain; charset=utf-8"
    return None, request.content_type


def smoke_test(
    image: str,
    config: SmokeConfig | None = None,
    *,
    client: docker.DockerClient | None = None,
) -> SmokeResult:
    """Run `image` as `config` says (default: this repository's service), wait until it
    answers, check every request; SmokeTestError (exit 1) naming the URL on a failure."""
    config = config or SmokeConfig()
    check_reference(image)
    check_timeout(config.timeout_s)
    from docker.errors import DockerException

    from mlrelease.engine import docker_client

    if client is None:
        check_docker_host()
        client = docker_client()
    try:
        return _smoke(client, image, config)
    except DockerException as err:
        raise EngineError(
            f"the Docker engine failed during the smoke test: {engine_failure(err)}"
        ) from err


def _smoke(client: docker.DockerClient, image: str, config: SmokeConfig) -> SmokeResult:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound as err:
        raise PreconditionError(
            f"the image {image} is not in the engine", hint="build it with `mlrelease build`"
        ) from err
    has_bridge = any(net.name == "bridge" for net in client.networks.list(names=["bridge"]))
    plan = plan_network(has_bridge, config)
    with _running(client, image, plan) as container:
        return _Session(container, image, config, plan).run()


@contextlib.contextmanager
def _running(client: docker.DockerClient, image: str, plan: NetworkPlan) -> Iterator[Container]:
    """The started container, removed afterwards whatever happens (Ctrl-C, a failed start
    that left it `Created`): by the unique name it was given, so no handle is needed."""
    from docker.errors import APIError, ContainerError, DockerException, ImageNotFound

    name = f"mlrelease-smoke-{uuid.uuid4().hex[:12]}"
    try:
        try:
            container = client.containers.run(
                image,
                detach=True,
                name=name,
                environment=plan.environment,
                labels={SMOKE_CONTAINER: "1"},
                **plan.run_options,
            )
        except ImageNotFound as err:
            raise PreconditionError(
                f"the image {image} is not in the engine", hint="build it with `mlrelease build`"
            ) from err
        except (APIError, ContainerError) as err:
            runtime = getattr(err, "explanation", None) or err
            raise SmokeTestError(
                f"the container of {image} could not start: {one_line(runtime)}",
                hint="check the image's ENTRYPOINT and CMD: the command must exist in the image",
            ) from err
        yield container
    finally:
        with contextlib.suppress(DockerException):
            client.api.remove_container(name, force=True)


class _Session:
    """One smoke test against a started container."""

    def __init__(
        self, container: Container, image: str, config: SmokeConfig, plan: NetworkPlan
    ) -> None:
        self.container = container
        self.image = image
        self.config = config
        self.plan = plan
        self.base = f"http://127.0.0.1:{plan.host_port}"
        self.checks: list[SmokeCheck] = []

    def run(self) -> SmokeResult:
        if self.config.requests is None:
            return self._default_contract()
        requests = self.config.requests
        started = time.monotonic()
        first = self._wait(requests[0])
        startup = time.monotonic() - started
        for index, request in enumerate(requests):
            body, kind = request_body(request)
            url = self.base + request.path
            answer = first if index == 0 and first is not None else None
            if answer is None:
                answer = self._send(request.method, url, body, kind)
            problem = smoke_checks.request_problem(request, answer)
            self._check(request.method, request.path, url, answer, problem)
        return self._result(startup, waited_on=self._waited_on(requests[0].describe()))

    def _default_contract(self) -> SmokeResult:
        started = time.monotonic()
        first = self._wait(SmokeRequest("GET", "/ready"))
        startup = time.monotonic() - started
        url = self.base + "/ready"
        answer = first or self._send("GET", url)
        self._check("GET", "/ready", url, answer, smoke_checks.ready_problem(answer))
        url = self.base + "/metadata"
        answer = self._send("GET", url)
        example = smoke_checks.model_example(answer)
        if isinstance(example, str):
            raise self._wrong("GET", url, answer, example)
        self.checks.append(SmokeCheck("GET", "/metadata", answer.status))
        instance, expected = example
        url = self.base + "/predict"
        body = json.dumps({"instance": instance}).encode()
        answer = self._send("POST", url, body, "application/json")
        predicted = smoke_checks.prediction(answer, expected)
        if isinstance(predicted, str):
            raise self._wrong("POST", url, answer, predicted)
        self.checks.append(SmokeCheck("POST", "/predict", answer.status))
        return self._result(
            startup,
            waited_on=self._waited_on("GET /ready"),
            prediction=predicted[0],
            model_sha256=predicted[1],
        )

    def _waited_on(self, first: str) -> str:
        return f"GET {self.config.health}" if self.config.health else first

    def _result(self, startup: float, **fields: Any) -> SmokeResult:
        return SmokeResult(
            image=self.image,
            port=self.plan.host_port,
            startup_seconds=startup,
            requests=tuple(self.checks),
            network=self.plan.mode,
            details=(self.plan.detail,),
            **fields,
        )

    def _check(self, method: str, path: str, url: str, answer: Answer, problem: str | None) -> None:
        if problem is not None:
            raise self._wrong(method, url, answer, problem)
        self.checks.append(SmokeCheck(method, path, answer.status))

    def _wrong(self, method: str, url: str, answer: Answer, problem: str) -> SmokeTestError:
        return self._failure(f"{method} {url} answered {answer.status}: {problem}")

    def _send(
        self, method: str, url: str, body: bytes | None = None, kind: str | None = None
    ) -> Answer:
        try:
            return send(url, method, body, kind, timeout=REQUEST_TIMEOUT_S)
        except _NoAnswer as err:
            raise self._failure(
                f"{method} {url} got no answer within {REQUEST_TIMEOUT_S:g} s: {err}"
            ) from None

    def _wait(self, first: SmokeRequest) -> Answer | None:
        """Wait until the service is up: `health` answers 2xx (a 4xx fails at once), or,
        without a health path, `first` gets any HTTP answer, which is returned."""
        health = self.config.health
        method = "GET" if health else first.method
        url = self.base + (health or first.path)
        body, kind = (None, None) if health else request_body(first)
        deadline = time.monotonic() + self.config.timeout_s
        last = "no answer yet"
        while True:
            self._check_running(url)
            remaining = deadline - time.monotonic()
            try:
                answer = send(url, method, body, kind, timeout=max(0.5, min(5.0, remaining)))
            except _NoAnswer as err:
                last = str(err)
            else:
                if not health:
                    return answer
                if 200 <= answer.status < 300:
                    return None
                if 400 <= answer.status < 500:
                    raise self._failure(
                        f"GET {url} answered {answer.status}: expected 2xx from the health "
                        f"path; body {excerpt(answer.text) if answer.body else 'empty'}",
                        hint="set `health` in [tool.mlrelease.smoke] to a path the service "
                        'answers 2xx on once it is up, or "" for none',
                    )
                last = f"status {answer.status}"
            if time.monotonic() >= deadline:
                raise self._failure(
                    f"{method} {url} did not answer{' 2xx' if health else ''} within "
                    f"{self.config.timeout_s:g} s (waited on port {self.config.port}"
                    f"{self._port_note()}; last: {last})",
                    hint="check that the service listens on `port` (and reads `port_env`) in "
                    "[tool.mlrelease.smoke], or raise `timeout_s`",
                )
            time.sleep(POLL_S)

    def _port_note(self) -> str:
        if self.plan.mode == "bridge":
            return f" in the container, published on 127.0.0.1:{self.plan.host_port}"
        if self.plan.host_port != self.config.port:
            return f" as configured; the service was told {self.plan.host_port}"
        return ""

    def _check_running(self, url: str) -> None:
        self.container.reload()
        if self.container.status in {"exited", "dead"}:
            code = self.container.attrs.get("State", {}).get("ExitCode")
            lines = self._log_lines()
            last = lines[-1] if lines else "(no log output)"
            raise self._failure(
                f"the container exited with code {code} before answering: {one_line(last)} "
                f"(waited on {url})"
            )

    def _log_lines(self) -> list[str]:
        from docker.errors import DockerException

        try:
            log = self.container.logs(tail=50).decode(errors="replace")
        except DockerException:
            return []
        return smoke_checks.last_lines(log, LOG_LINES)

    def _failure(self, message: str, hint: str | None = None) -> SmokeTestError:
        lines = self._log_lines()
        detail = "the container's last log lines: " + (
            " | ".join(lines) if lines else "(no log output)"
        )
        return SmokeTestError(
            message,
            hint=hint
            or "the image does not answer as [tool.mlrelease.smoke] expects; --verbose shows "
            "the container's last log lines",
            detail=detail,
        )
