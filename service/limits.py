"""Request body limits: how big a body may be and how long it may take to arrive.

A declared `Content-Length` over the limit is refused with 413 before a byte of the body is
read; a chunked body is counted as it streams in and refused once it passes the limit. A body
that stalls or is cut short gets 408 once `BODY_TIMEOUT` has passed, so a slow client holds
its connection for a bounded time only. Both refusals close the connection: the rest of the
body is not worth reading.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = {"Connection": "close"}


class BodyTooLarge(HTTPException):
    """The request body is over `MAX_BODY_BYTES`; answered 413."""

    def __init__(self, size: str, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"request body is {size}; the limit is {limit} bytes (MAX_BODY_BYTES)",
            headers=CLOSE,
        )


class BodyTimeout(HTTPException):
    """The request body did not arrive within `BODY_TIMEOUT`; answered 408."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status_code=408,
            detail=f"request body did not arrive within {seconds:g} s (BODY_TIMEOUT)",
            headers=CLOSE,
        )


class BodyLimitMiddleware:
    """Enforce the body size and arrival-time limits on every HTTP request.

    The refusals are raised as `HTTPException`s from `receive`, where the app reads the body,
    so FastAPI answers them in its usual `{"detail": ...}` shape.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        max_bytes, timeout_s = self.max_bytes, self.timeout_s
        received = 0
        body_done = False
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, body_done, deadline
            if body_done:  # later receives wait for a disconnect: no deadline applies
                return await receive()
            if declared is not None and declared > max_bytes:
                raise BodyTooLarge(f"{declared} bytes", max_bytes)
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + timeout_s
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(f"over {max_bytes} bytes", max_bytes)
                body_done = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None
