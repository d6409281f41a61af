"""A threaded HTTP/1.1 server on 127.0.0.1 for the emulated services beside GAR (Cloud Storage's
front, Cloud Build): one handler, its own injected faults and its own request log, so that it
needs nothing of the GarEmulator's internals."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulator.http import Request, Response

__all__ = ["Request", "Response", "ServiceServer"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ServiceServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the server keeps its own log, without query strings."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        body = b"".join(self._body_chunks())
        fault = self.server.take_fault()
        if fault is not None and fault[1]:
            self.server.log(self.command, path, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None:
            response = self.server.fault_body(fault[0])
        else:
            request = Request(
                method=self.command,
                path=path,
                query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response = self.server.handle(request)
        self.server.log(self.command, path, response.status)
        self.send_response(response.status, HTTPStatus(response.status).phrase)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body, plain or chunked."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while length := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                yield self.rfile.read(length)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        if remaining:
            yield self.rfile.read(remaining)


class ServiceServer(ThreadingHTTPServer):
    """Serves `handle` on a free 127.0.0.1 port (`endpoint`) until `stop()`. `target` names the
    service in the request log; `fault_body` writes the error body of an injected fault."""

    daemon_threads = True

    def __init__(
        self,
        target: str,
        handle: Callable[[Request], Response],
        fault_body: Callable[[int], Response],
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target = target
        self.handle = handle
        self.fault_body = fault_body
        self.endpoint = f"http://127.0.0.1:{self.server_port}"
        self.requests: list[tuple[str, str, str, int]] = []
        self._faults: list[tuple[int, bool]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closes its kept-alive connection is no error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def fail_next(self, n: int, status: int, drop: bool) -> None:
        with self._lock:
            self._faults.extend([(status, drop)] * n)

    def take_fault(self) -> tuple[int, bool] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((self.target, method, path, status))

    def reset(self) -> None:
        """No faults queued, an empty request log."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
