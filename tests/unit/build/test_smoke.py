"""smoke_test's handling of the container with a stand-in engine: removed by its name on every
way out (a failed start that left it `Created`, Ctrl-C), and start failures as smoke failures."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import APIError, ImageNotFound

from mlrelease.build.smoke import smoke_test
from mlrelease.config.smoke import SmokeConfig, SmokeRequest
from mlrelease.errors import PreconditionError, SmokeTestError
from mlrelease.labels import SMOKE_CONTAINER


class _Container:
    def __init__(self, on_reload: BaseException | None, status: str = "running") -> None:
        self.on_reload = on_reload
        self.status = status
        self.attrs: dict[str, Any] = {"State": {"ExitCode": 2}}

    def reload(self) -> None:
        if self.on_reload is not None:
            raise self.on_reload

    def logs(self, tail: int) -> bytes:
        return b"\x1b[31mfatal: no model\x1b[0m\n"


class _Engine:
    """Just what smoke_test asks of docker-py's client."""

    def __init__(self, *, run_error: Exception | None = None, container: Any = None) -> None:
        self.run_error = run_error
        self.container = container
        self.run_kwargs: dict[str, Any] = {}
        self.removed: list[str] = []
        self.images = self
        self.containers = self
        self.networks = self
        self.api = self

    def get(self, image: str) -> object:
        if image == "absent:1":
            raise ImageNotFound("no such image")
        return object()

    def list(self, names: list[str]) -> list[object]:
        return []  # an engine started with --bridge=none

    def run(self, image: str, **kwargs: Any) -> Any:
        self.run_kwargs = kwargs
        if self.run_error is not None:
            raise self.run_error
        return self.container

    def remove_container(self, name: str, force: bool) -> None:
        self.removed.append(name)


CONFIG = SmokeConfig(port_env="APP_PORT", requests=(SmokeRequest("GET", "/x"),), timeout_s=5)


def test_a_failed_start_is_a_smoke_failure_and_the_created_container_is_removed() -> None:
    engine = _Engine(
        run_error=APIError(
            "500 Server Error",
            explanation='OCI runtime create failed: exec: "/no/such": no such file or directory',
        )
    )

    with pytest.raises(SmokeTestError) as caught:
        smoke_test("img:1", CONFIG, client=engine)  # type: ignore[arg-type]

    assert caught.value.message.startswith("the container of img:1 could not start: OCI runtime")
    assert engine.removed == [engine.run_kwargs["name"]]
    assert engine.run_kwargs["labels"] == {SMOKE_CONTAINER: "1"}


def test_ctrl_c_while_waiting_removes_the_container() -> None:
    engine = _Engine(container=_Container(KeyboardInterrupt()))

    with pytest.raises(KeyboardInterrupt):
        smoke_test("img:1", CONFIG, client=engine)  # type: ignore[arg-type]

    assert engine.removed == [engine.run_kwargs["name"]]


def test_without_a_bridge_the_host_network_and_a_free_port_are_used() -> None:
    engine = _Engine(container=_Container(None, status="exited"))

    with pytest.raises(SmokeTestError) as caught:
        smoke_test("img:1", CONFIG, client=engine)  # type: ignore[arg-type]

    assert engine.run_kwargs["network_mode"] == "host"
    port = engine.run_kwargs["environment"]["APP_PORT"]
    assert caught.value.message == (
        "the container exited with code 2 before answering: fatal: no model "
        f"(waited on http://127.0.0.1:{port}/health)"
    )
    assert caught.value.detail == "the container's last log lines: fatal: no model"
    assert engine.removed == [engine.run_kwargs["name"]]


def test_an_image_not_in_the_engine_is_a_precondition() -> None:
    engine = _Engine()

    with pytest.raises(PreconditionError):
        smoke_test("absent:1", CONFIG, client=engine)  # type: ignore[arg-type]

    assert engine.removed == []
