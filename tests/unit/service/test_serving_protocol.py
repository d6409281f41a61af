"""Nagle's algorithm is off on every connection, whatever socket uvicorn listens on."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from service.serving import NoDelayH11Protocol


async def _asgi_app(scope: dict, receive: object, send: object) -> None:
    raise AssertionError("no request is sent")


def _nodelay_of_accepted_connection(protocol_class: type[H11Protocol]) -> int:
    """TCP_NODELAY of a connection accepted on a listener bound as uvicorn binds one for
    several workers: `proto` left at 0."""

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        seen: asyncio.Future[int] = loop.create_future()
        config = uvicorn.Config(_asgi_app, log_config=None)
        state = ServerState()

        class Probe(protocol_class):  # type: ignore[valid-type, misc]
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        server = await loop.create_server(
            lambda: Probe(config=config, server_state=state, app_state={}), sock=listener
        )
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(seen, timeout=5)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(scenario())


def test_uvicorns_own_protocol_leaves_nagle_on_for_such_a_listener() -> None:
    # The reason for NoDelayH11Protocol; if this starts failing, asyncio or uvicorn changed.
    assert _nodelay_of_accepted_connection(H11Protocol) == 0


def test_the_service_protocol_turns_nagle_off() -> None:
    assert _nodelay_of_accepted_connection(NoDelayH11Protocol) != 0
