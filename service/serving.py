"""Running the app under uvicorn: one process, or a supervisor and WEB_CONCURRENCY workers.

Two corrections to uvicorn's defaults, both for the several-worker case:
- Nagle's algorithm is turned off on every connection. asyncio turns it off only for sockets
  that report `IPPROTO_TCP`, and the listening socket that uvicorn binds itself for several
  workers reports 0 (https://github.com/Kludex/uvicorn/issues/3149); with Nagle on, the body
  of each response, written after its headers, waited for the client's delayed ACK, about
  40 ms a request.
- On SIGTERM the supervisor closes its copy of the listening socket at once, as the workers
  close theirs, so that new connections are refused instead of queued until the last worker
  has finished and then reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess


class NoDelayH11Protocol(H11Protocol):
    """`H11Protocol` that sets `TCP_NODELAY` on each TCP connection it is given."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Turn Nagle off, then start the connection as uvicorn does."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, which stops listening as soon as SIGTERM arrives."""

    def handle_term(self) -> None:
        """Close the listening socket, then stop the workers as uvicorn does."""
        for sock in self.sockets:
            sock.close()
        super().handle_term()


def serve(
    app_factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    graceful_timeout: int,
    log_config: dict[str, Any],
    log_level: str,
) -> bool:
    """Serve the app that `app_factory` ("module:function") builds until SIGTERM.

    Each worker imports the factory and builds its own app. Returns whether the server
    started (a single process that fails its lifespan has not).
    """
    config = uvicorn.Config(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=NoDelayH11Protocol,
        timeout_graceful_shutdown=graceful_timeout,
        log_config=log_config,
        log_level=log_level,
        access_log=False,  # the app logs one line per request itself
        server_header=False,
    )
    if workers > 1:
        Supervisor(config, sockets=[config.bind_socket()]).run()
        return True
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises SIGINT after shutting down
        server.run()
    return server.started
