"""The real server under stress: graceful shutdown with requests in flight, and body limits.

Each test starts `python -m service` in a subprocess on a free 127.0.0.1 port and talks to it
over raw sockets where it must control exactly which bytes are sent when.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer

from .test_main import _env, _free_port

BIG_BATCH = json.dumps({"instances": load_breast_cancer().data.tolist()}).encode()  # 569 rows


@dataclass
class Server:
    """A running `python -m service` and where it listens."""

    process: subprocess.Popen[str]
    port: int
    terminated: bool = False

    def terminate(self) -> None:
        """Send SIGTERM, once, as `docker stop` does."""
        if not self.terminated:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self, timeout: float = 30) -> str:
        """SIGTERM unless sent already, wait for the exit, return everything it logged."""
        self.terminate()
        _, stderr = self.process.communicate(timeout=timeout)
        return stderr

    def connect(self) -> socket.socket:
        """A fresh connection to the server."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def predict_status(self) -> int:
        """Status of a one-row /predict on a new connection."""
        response = httpx.post(
            f"http://127.0.0.1:{self.port}/predict", json={"instance": [0.0] * 30}, timeout=10
        )
        return response.status_code


@contextmanager
def running_service(model: Path, cwd: Path, **env: str) -> Iterator[Server]:
    """Start the service with `env` on top of the test environment; stop it afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=cwd,
        env=_env(MODEL_PATH=str(model), HOST="127.0.0.1", PORT=str(port), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "service did not become ready within 30 s"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _headers(length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /predict HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    """Status and headers-plus-body of the response, read until the server closes or the
    declared body has arrived. Raises `ConnectionError` when no response came."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without a response after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ")[1]), head + b"\r\n\r\n" + body


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_finishes_the_requests_in_flight_and_exits_0(
    trained_model: Path, tmp_path: Path, workers: str
) -> None:
    clients = 6
    slices = 15
    statuses: list[int | str] = []
    headers_sent = threading.Barrier(clients + 1)

    def slow_upload(server: Server) -> None:
        # A real batch, the whole dataset, uploaded over about 1.5 s: it is in flight when
        # SIGTERM comes, and still is when the server stops listening.
        with server.connect() as sock:
            sock.sendall(_headers(len(BIG_BATCH)))
            step = len(BIG_BATCH) // slices + 1
            sock.sendall(BIG_BATCH[:step])
            headers_sent.wait()
            for start in range(step, len(BIG_BATCH), step):
                time.sleep(0.1)
                sock.sendall(BIG_BATCH[start : start + step])
            try:
                statuses.append(_read_status(sock)[0])
            except OSError as err:
                statuses.append(repr(err))

    with running_service(
        trained_model, tmp_path, WEB_CONCURRENCY=workers, GRACEFUL_TIMEOUT="10"
    ) as server:
        threads = [threading.Thread(target=slow_upload, args=(server,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        headers_sent.wait()
        time.sleep(0.1)  # let the server read the headers of every request
        stopped_at = time.monotonic()
        server.terminate()
        _wait_until_refused(server)
        assert len(statuses) < clients  # requests were still in flight
        for thread in threads:
            thread.join(timeout=30)
        stderr = server.stop()

    assert statuses == [200] * clients, stderr
    assert server.process.returncode == 0, stderr
    assert time.monotonic() - stopped_at < 10, stderr
    assert stderr.count("info: POST /predict 200") == clients, stderr
    assert "Traceback" not in stderr


def _wait_until_refused(server: Server, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.connect().close()
        except (ConnectionRefusedError, ConnectionResetError):
            # Reset: the connection was still queued when the server closed its listener.
            return
        assert time.monotonic() < deadline, f"still accepting connections {timeout} s after SIGTERM"
        time.sleep(0.05)


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(
    trained_model: Path, tmp_path: Path
) -> None:
    with running_service(trained_model, tmp_path, MAX_BODY_BYTES="100000") as server:
        with server.connect() as sock:
            sock.sendall(_headers(100_001))  # and not one byte of the body
            status, response = _read_status(sock)
            assert sock.recv(1) == b""  # the server closed: the rest is not worth reading
        assert server.predict_status() == 200
        stderr = server.stop()

    assert status == 413, response
    assert b"request body is 100001 bytes; the limit is 100000 bytes (MAX_BODY_BYTES)" in response
    assert "Traceback" not in stderr


def test_a_chunked_body_is_refused_with_413_once_it_passes_the_limit(
    trained_model: Path, tmp_path: Path
) -> None:
    chunk = b" " * 10_000
    with running_service(trained_model, tmp_path, MAX_BODY_BYTES="100000") as server:
        with server.connect() as sock:
            sock.sendall(_headers(chunked=True))
            sent = 0
            try:
                while sent < 1_000_000:  # ten times the limit: the server must stop it first
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                    time.sleep(0.005)
            except OSError:
                pass  # the server closed the connection after answering
            status, response = _read_status(sock)
        assert server.predict_status() == 200
        stderr = server.stop()

    assert status == 413, response
    assert b"the limit is 100000 bytes (MAX_BODY_BYTES)" in response
    assert sent < 1_000_000
    assert "Traceback" not in stderr


def test_a_stalled_body_is_408_after_the_timeout_and_others_are_served_meanwhile(
    trained_model: Path, tmp_path: Path
) -> None:
    body = json.dumps({"instance": [0.0] * 30}).encode()
    with running_service(trained_model, tmp_path, BODY_TIMEOUT="1") as server:
        with server.connect() as sock:
            sock.sendall(_headers(len(body)) + body[:10])  # then nothing more
            started = time.monotonic()
            assert server.predict_status() == 200
            status, response = _read_status(sock)
            waited = time.monotonic() - started
            assert sock.recv(1) == b""
        assert server.predict_status() == 200
        stderr = server.stop()

    assert status == 408, response
    assert b"request body did not arrive within 1 s (BODY_TIMEOUT)" in response
    assert 0.5 < waited < 10  # BODY_TIMEOUT is 1 s; the margin is for a loaded machine
    assert "Traceback" not in stderr


def test_a_body_cut_short_by_the_client_leaves_the_server_serving(
    trained_model: Path, tmp_path: Path
) -> None:
    with running_service(trained_model, tmp_path) as server:
        for _ in range(3):
            with server.connect() as sock:
                sock.sendall(_headers(1000) + b'{"instance": [0.0, ')
        assert server.predict_status() == 200
        stderr = server.stop()

    assert server.process.returncode == 0, stderr
    assert " 500 " not in stderr
    assert "Traceback" not in stderr
