"""A threaded HTTP/1.1 server on 127.0.0.1 with routing, fault injection (error answers,
dropped connections, held requests) and a request log."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulator.faults import Fault, Hang
from tests.emulator.state import State


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(errors="replace")).items()}

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value if scheme.lower() == "bearer" and value else None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
    )


@dataclass(frozen=True)
class Route:
    target: str  # "token", "api", "registry", ...: what faults and the request log name
    handle: Callable[[Request], Response] | None  # None: the handler class streams it itself
    fault_body: Callable[[int], Response] | None = None  # None: faults never land here
    also_faults: tuple[str, ...] = ()  # further fault targets that land here first
    hangs: str | None = None  # the hang target whose hangs land here


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    hang: Hang | None = None  # the hang this request takes, if any
    route_hangs: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry query strings; the emulator keeps its own log."""

    def do_GET(self) -> None:
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self) -> None:
        self.route_path = urlsplit(self.path).path
        route = self.server.router(self.command, self.route_path)
        self.target = route.target
        self.route_hangs = route.hangs
        faults = self.server.state.faults
        fault = None
        if route.fault_body:
            for target in (*route.also_faults, route.target):
                if fault := faults.take_fault(target):
                    break
        self.hang = faults.take_hang(route.hangs) if route.hangs and fault is None else None
        if fault is not None:
            self.read_body()
            self.inject(fault, route.fault_body)
        else:
            self.serve(route)

    def hold(self, hang: Hang) -> None:
        """Answer nothing until the hang ends (the client may give up meanwhile)."""
        assert self.route_hangs is not None
        self.server.state.faults.hold(hang, self.route_hangs)

    def record(self, status: int) -> None:
        """Log the request before answering: a client holding its answer finds it logged."""
        self.server.state.log(self.target, self.command, self.route_path, status)

    def serve(self, route: Route) -> None:
        request = Request(
            method=self.command,
            path=self.route_path,
            query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.read_body(),
        )
        assert route.handle is not None
        if self.hang is not None:
            self.hold(self.hang)
        self.answer(route.handle(request))

    def inject(self, fault: Fault, body: Callable[[int], Response] | None) -> None:
        if fault.drop or body is None:
            self.drop()
        else:
            self.answer(body(fault.status))

    def drop(self) -> None:
        """Close the connection without a byte of answer (logged with status 0)."""
        self.record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def answer(self, response: Response) -> None:
        self.record(response.status)
        # A client that gave up on a held request has gone: nobody to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

    def read_body(self) -> bytes:
        return b"".join(self.body_chunks())

    def body_chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The request body as it arrives, plain or chunked."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                while length:
                    chunk = self.rfile.read(min(size, length))
                    if not chunk:
                        raise ConnectionError("request body cut short")
                    length -= len(chunk)
                    yield chunk
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining:
            chunk = self.rfile.read(min(size, remaining))
            if not chunk:
                raise ConnectionError("request body cut short")
            remaining -= len(chunk)
            yield chunk


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        port: int,
        state: State,
        router: Callable[[str, str], Route],
        handler: type[Handler] = Handler,
    ) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.state = state
        self.router = router
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting; threads still held by a hang are daemons and never waited for."""
        self.state.faults.release()
        self.shutdown()
        self.server_close()
