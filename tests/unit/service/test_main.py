"""`python -m service` as a real process: one-line refusals, and a real start on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.model import metadata_path_for

from .conftest import REPO_ROOT


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MODEL_PATH", "PORT", "HOST"}}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(overrides)
    return env


def _run_service(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # From an unrelated CWD: the service must not depend on where it is started.
    return subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=tmp_path,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _only_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = output.splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_missing_model_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = _run_service(tmp_path, MODEL_PATH="/nonexistent")

    assert result.returncode == 1, result.stderr
    assert _only_line(result) == (
        "error: model file /nonexistent not found; train it with python -m service.train"
    )


def test_tampered_model_is_one_line_and_exit_1(model_copy: Path, tmp_path: Path) -> None:
    with model_copy.open("ab") as handle:
        handle.write(b"tampered")

    result = _run_service(tmp_path, MODEL_PATH=str(model_copy))

    assert result.returncode == 1, result.stderr
    assert "the file changed after training" in _only_line(result)


def test_sklearn_version_mismatch_is_one_line_and_exit_1(model_copy: Path, tmp_path: Path) -> None:
    meta_path = metadata_path_for(model_copy)
    document = json.loads(meta_path.read_text())
    document["sklearn_version"] = "0.24.2"
    meta_path.write_text(json.dumps(document))

    result = _run_service(tmp_path, MODEL_PATH=str(model_copy))

    assert result.returncode == 1, result.stderr
    assert "trained with scikit-learn 0.24.2" in _only_line(result)


def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run_service(tmp_path, PORT="eighty")

    assert result.returncode == 2, result.stderr
    assert _only_line(result) == "error: PORT='eighty' is not an integer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serves_the_model_and_shuts_down_gracefully_on_sigterm(
    trained_model: Path, tmp_path: Path
) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=tmp_path,
        env=_env(MODEL_PATH=str(trained_model), HOST="127.0.0.1", PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("service did not become ready within 30 s")
            time.sleep(0.1)

        example = httpx.get(f"{base}/metadata", timeout=5).json()["model"]["example"]
        response = httpx.post(f"{base}/predict", json={"instance": example["instance"]}, timeout=5)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == [example["prediction"]]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    # A graceful shutdown is a clean exit: `docker stop` sees 0, not 143.
    assert process.returncode == 0, stderr
    assert "Application shutdown complete" in stderr
    assert "Traceback" not in stderr
    assert "info: POST /predict 200" in stderr
