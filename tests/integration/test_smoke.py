"""`mlrelease smoke` against real containers: a configured smoke test passes, and every way it
can fail is one line naming the URL, the status and the expectation, exit 1, no container left.

The images are a few lines of stdlib `http.server` on the local base image (no pip install);
each MODE baked into an image is one way for a service to be. One test builds the Flask fixture
(hard-coded port 5000, no health path, text answers to a bare JSON array) for real.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrelease.labels import SMOKE_CONTAINER

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MLRELEASE = Path(sys.executable).with_name("mlrelease")

APP = r"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

MODE = os.environ.get("MODE", "good")
print("\x1b[32mstarting\x1b[0m in mode", MODE, flush=True)
if MODE == "exit":
    print("fatal: \x1b[31mmodel file missing\x1b[0m", flush=True)
    sys.exit(1)
if MODE == "sleep":
    time.sleep(3600)

ROUTES = {
    "/health": {"status": "ok"},
    "/ready": {"status": "ready"},
    "/metadata": {"model": {"example": {"instance": [1, 2], "prediction": "a"}}},
    "/json": {"label": "setosa", "score": 0.9, "nested": {"list": [1, 2]}},
}


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body, kind="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/text":
            return self.answer(200, b"hello \x1b[31mred\x1b[0m world\n", "text/plain")
        if self.path in ROUTES:
            return self.answer(200, ROUTES[self.path])
        self.answer(404, {"detail": "Not Found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/echo":
            return self.answer(200, {"got": json.loads(body)})
        if self.path == "/predict":
            if MODE == "label":
                return self.answer(200, {"label": "a"})
            return self.answer(200, {"predictions": ["a"], "model_sha256": "abc123"})
        self.answer(404, {"detail": "Not Found"})


ADDRESS = (os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("APP_PORT", "8080")))
HTTPServer(ADDRESS, Handler).serve_forever()
"""

MODES = ("good", "label", "exit", "sleep")

CONFIGURED = """
[tool.mlrelease.smoke]
port = 8080
port_env = "APP_PORT"
health = "/health"
timeout_s = 30
"""


@pytest.fixture(scope="module")
def images(docker_client, base_image, image_namespace, tmp_path_factory) -> dict[str, str]:
    """One tiny image per MODE, plus `nocmd`, whose command does not exist."""
    context = tmp_path_factory.mktemp("smoke-app")
    (context / "app.py").write_text(APP)
    built = {}
    for mode in (*MODES, "nocmd"):
        command = '["/no/such/server"]' if mode == "nocmd" else '["python", "-u", "/app.py"]'
        (context / "Dockerfile").write_text(
            f"FROM {base_image}\nCOPY app.py /app.py\nENV MODE={mode}\nCMD {command}\n"
        )
        tag = f"{image_namespace}/smoke-{mode}:1"
        docker_client.images.build(path=str(context), tag=tag, rm=True)
        built[mode] = tag
    return built


def _project(directory: Path, smoke: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(f"[tool.mlrelease]\n{smoke}")
    return directory


def _smoke(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLRELEASE_SMOKE_")}
    return subprocess.run(
        [str(MLRELEASE), "smoke", *args],
        cwd=directory,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def _errors(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


def _left(docker_client, image: str) -> list[str]:
    """Smoke containers of `image` still in the engine, in any state."""
    return [
        c.name
        for c in docker_client.containers.list(
            all=True, filters={"label": SMOKE_CONTAINER, "ancestor": image}
        )
    ]


def _failure(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    errors = _errors(proc)
    assert len(errors) == 1, proc.stderr
    assert "\x1b" not in proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


# Passing


def test_configured_requests_pass_and_report_each_one(tmp_path, images, docker_client):
    project = _project(
        tmp_path,
        CONFIGURED
        + """
[[tool.mlrelease.smoke.requests]]
path = "/json"
expect_json = { label = "setosa", score = "*", nested = { list = [1, 2] } }

[[tool.mlrelease.smoke.requests]]
method = "POST"
path = "/echo"
json = [1, [2, 3], { a = true }]
expect_json = { got = [1, [2, 3], { a = true }] }

[[tool.mlrelease.smoke.requests]]
path = "/text"
expect_text = '^hello '

[[tool.mlrelease.smoke.requests]]
path = "/missing"
status = 404
expect_json = { detail = "*" }
""",
    )

    proc = _smoke(project, "--json", images["good"])

    assert proc.returncode == 0, proc.stderr + proc.stdout
    data = json.loads(proc.stdout)["data"]
    assert data["image"] == images["good"]
    assert data["network"] in {"bridge", "host"}
    assert [(r["method"], r["path"], r["status"], r["ok"]) for r in data["requests"]] == [
        ("GET", "/json", 200, True),
        ("POST", "/echo", 200, True),
        ("GET", "/text", 200, True),
        ("GET", "/missing", 404, True),
    ]
    assert data["model_sha256"] is None and data["prediction"] is None
    assert _left(docker_client, images["good"]) == []


def test_verbose_says_how_the_container_was_reached(tmp_path, images):
    project = _project(tmp_path, CONFIGURED + '[[tool.mlrelease.smoke.requests]]\npath = "/json"\n')

    proc = _smoke(project, "--verbose", images["good"])

    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip() == images["good"]
    assert "Smoke test passed: GET /health answered after" in proc.stderr
    assert "network: " in proc.stderr


def test_the_default_contract_passes_and_reports_the_prediction(tmp_path, images, docker_client):
    project = _project(tmp_path, '[tool.mlrelease.smoke]\nport_env = "APP_PORT"\n')

    proc = _smoke(project, "--json", images["good"])

    assert proc.returncode == 0, proc.stderr + proc.stdout
    data = json.loads(proc.stdout)["data"]
    assert data["prediction"] == "a"
    assert data["model_sha256"] == "abc123"
    assert [r["path"] for r in data["requests"]] == ["/ready", "/metadata", "/predict"]
    assert _left(docker_client, images["good"]) == []


# Every way to fail: one line, exit 1, no container left


@pytest.mark.parametrize(
    ("request_table", "expected"),
    [
        pytest.param(
            'path = "/missing"\n',
            "/missing answered 404: expected status 200; body",
            id="wrong-status",
        ),
        pytest.param(
            'path = "/json"\nexpect_json = { label = "versicolor", score = "*" }\n',
            '/json answered 200: expected JSON containing {"label":"versicolor","score":"*"}; '
            '$.label: expected "versicolor", got "setosa"',
            id="expectation-not-met",
        ),
        pytest.param(
            'path = "/json"\nexpect_json = { nested = { list = [1, 3] } }\n',
            "$.nested.list[1]: expected 3, got 2",
            id="nested-mismatch",
        ),
        pytest.param(
            'path = "/text"\nexpect_json = { label = "*" }\n',
            '/text answered 200: expected JSON containing {"label":"*"}, got a non-JSON answer '
            '(text/plain): "hello red world\\n"',  # escapes stripped
            id="not-json",
        ),
        pytest.param(
            'path = "/text"\nexpect_text = "^goodbye"\n',
            '/text answered 200: expected text matching "^goodbye", got "hello red world\\n"',
            id="text-not-matched",
        ),
    ],
)
def test_a_wrong_answer_names_the_url_status_and_expectation(
    tmp_path, images, docker_client, request_table, expected
):
    project = _project(tmp_path, CONFIGURED + "[[tool.mlrelease.smoke.requests]]\n" + request_table)

    proc = _smoke(project, "--verbose", images["good"])

    error = _failure(proc)
    assert error.startswith("error: GET http://127.0.0.1:"), error
    assert expected in error
    detail = next(line for line in proc.stderr.splitlines() if line.startswith("detail: "))
    assert "starting in mode good" in detail  # the container's log, escapes stripped
    assert _left(docker_client, images["good"]) == []


def test_a_4xx_from_the_health_path_fails_at_once(tmp_path, images, docker_client):
    project = _project(
        tmp_path,
        CONFIGURED.replace('"/health"', '"/healthz"').replace("30", "120")
        + '[[tool.mlrelease.smoke.requests]]\npath = "/json"\n',
    )

    started = time.monotonic()
    proc = _smoke(project, images["good"])

    error = _failure(proc)
    assert time.monotonic() - started < 60  # not the 120 s timeout
    assert error.startswith("error: GET http://127.0.0.1:"), error
    assert "/healthz answered 404: expected 2xx from the health path" in error
    assert _left(docker_client, images["good"]) == []


def test_a_container_that_exits_is_named_with_its_last_log_line(tmp_path, images, docker_client):
    project = _project(tmp_path, CONFIGURED)

    proc = _smoke(project, images["exit"])

    error = _failure(proc)
    assert error.startswith(
        "error: the container exited with code 1 before answering: fatal: model file missing"
    ), error
    assert "/health" in error
    assert _left(docker_client, images["exit"]) == []


def test_a_command_that_does_not_exist_is_a_smoke_failure(tmp_path, images, docker_client):
    project = _project(tmp_path, CONFIGURED)

    proc = _smoke(project, images["nocmd"])

    error = _failure(proc)  # exit 1, not the engine's exit 5
    assert error.startswith(f"error: the container of {images['nocmd']} could not start:"), error
    assert "/no/such/server" in error
    assert _left(docker_client, images["nocmd"]) == []


def test_a_timeout_names_the_port_and_the_url(tmp_path, images, docker_client):
    project = _project(tmp_path, CONFIGURED.replace("timeout_s = 30", "timeout_s = 600"))

    started = time.monotonic()
    proc = _smoke(project, images["sleep"], "--timeout", "2")

    error = _failure(proc)
    assert time.monotonic() - started < 60  # --timeout overrides timeout_s
    assert error.startswith("error: GET http://127.0.0.1:"), error
    assert "/health did not answer 2xx within 2 s (waited on port 8080" in error
    assert _left(docker_client, images["sleep"]) == []


def test_the_default_contract_fails_on_an_answer_without_predictions(
    tmp_path, images, docker_client
):
    project = _project(tmp_path, '[tool.mlrelease.smoke]\nport_env = "APP_PORT"\n')

    proc = _smoke(project, images["label"])

    error = _failure(proc)
    assert error.startswith("error: POST http://127.0.0.1:"), error
    expected = 'expected JSON with a non-empty list `predictions`, got {"label":"a"}'
    assert f"/predict answered 200: {expected}" in error
    assert _left(docker_client, images["label"]) == []


def test_an_image_not_in_the_engine_is_exit_3(tmp_path, image_namespace):
    proc = _smoke(_project(tmp_path, CONFIGURED), f"{image_namespace}/absent:1")

    assert proc.returncode == 3, proc.stderr
    assert _errors(proc) == [f"error: the image {image_namespace}/absent:1 is not in the engine"]


def test_a_fixed_port_that_is_taken_is_named(tmp_path, images, docker_client):
    if docker_client.networks.list(names=["bridge"]):
        pytest.skip("the engine has a bridge network: a fixed port is published elsewhere")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        project = _project(tmp_path, f'[tool.mlrelease.smoke]\nport = {port}\nport_env = ""\n')

        proc = _smoke(project, images["good"])

    assert proc.returncode == 3, proc.stderr
    assert _errors(proc)[0].startswith(f"error: port {port} on this machine is taken")
    assert _left(docker_client, images["good"]) == []


def test_ctrl_c_removes_the_container(tmp_path, images, docker_client):
    project = _project(tmp_path, CONFIGURED.replace("timeout_s = 30", "timeout_s = 600"))
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [str(MLRELEASE), "smoke", images["sleep"]],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _left(docker_client, images["sleep"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _left(docker_client, images["sleep"]), "the container never started"
        time.sleep(1)  # inside the wait for /health
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 130, stderr
    assert _left(docker_client, images["sleep"]) == []


# A fixture service of another shape, built for real


@pytest.fixture(scope="module")
def flask_plain(docker_client, base_image, image_namespace, tmp_path_factory) -> Iterator[Path]:
    """flask-plain built from a copy whose FROM names the local base, its model trained here."""
    copy = tmp_path_factory.mktemp("flask-plain") / "flask-plain"
    shutil.copytree(REPO / "tests/fixtures/flask-plain", copy)
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("FROM python:3.11-slim", f"FROM {base_image}", 1)
    )
    subprocess.run([sys.executable, "train.py"], cwd=copy, check=True, capture_output=True)
    tag = f"{image_namespace}/flask-plain:1"
    docker_client.images.build(path=str(copy), tag=tag, rm=True, network_mode="host")
    yield copy


def test_the_flask_fixture_passes_its_own_smoke_table(flask_plain, image_namespace, docker_client):
    image = f"{image_namespace}/flask-plain:1"
    if not docker_client.networks.list(names=["bridge"]):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 5000)) == 0:
                pytest.skip("port 5000 on this machine is taken: flask-plain's port is fixed")

    proc = _smoke(flask_plain, "--json", image)

    assert proc.returncode == 0, proc.stderr + proc.stdout
    data = json.loads(proc.stdout)["data"]
    assert [(r["method"], r["path"], r["status"]) for r in data["requests"]] == [
        ("POST", "/predict", 200),
        ("POST", "/predict", 400),
    ]
    assert _left(docker_client, image) == []
