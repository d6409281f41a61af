"""uvicorn's h11 protocol with Nagle's algorithm turned off on every connection.

asyncio turns it off only for sockets that report `IPPROTO_TCP`, and the listening socket that
uvicorn binds itself for several workers reports 0 (uvicorn issue 3149). With Nagle on, the
body of a response, written after its headers, waits for the client's delayed ACK: about
40 ms on every keep-alive request past the first.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """`H11Protocol` that sets `TCP_NODELAY` on each TCP connection it is given."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Turn Nagle off, then start the connection as uvicorn does."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
