"""What the Docker engine talks to as GAR's registry host: the registry token service at
/v2/token, and a streaming proxy to the real distribution registry for everything else.

Faults (`fail_next(target="registry")`) land on manifest requests only: the engine retries a
failed blob request itself after 5 s, 10 s, ..., but fails a push at once on its manifest PUT."""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
from collections.abc import Callable

from tests.emulator.http import EmulatorServer, Handler, Response, Route
from tests.emulator.registry_auth import RegistryTokenService, registry_error
from tests.emulator.state import State

TOKEN_PATH = "/v2/token"
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def registry_fault(status: int) -> Response:
    if status == 429:
        return registry_error(429, "TOOMANYREQUESTS", "too many requests")
    return registry_error(status, "UNAVAILABLE", "the registry is temporarily unavailable")


def registry_router(tokens: RegistryTokenService) -> Callable[[str, str], Route]:
    def route(method: str, path: str) -> Route:
        if path == TOKEN_PATH:
            return Route("registry-token", tokens.handle)
        if _MANIFEST.match(path):
            # "push" faults land on the engine's manifest PUT only: a push fails, not a read.
            pushing = ("push",) if method == "PUT" else ()
            return Route("registry", None, registry_fault, pushing)
        return Route("registry", None)

    return route


class RegistryProxyHandler(Handler):
    """Streams request and response bodies both ways; layers may be hundreds of MB."""

    server: RegistryProxyServer

    def serve(self, route: Route) -> None:
        if route.handle is not None:
            super().serve(route)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if self._revoked(headers.get("Authorization", "")):
            del headers["Authorization"]  # the registry then answers 401 with its challenge
        has_body = (
            "Content-Length" in headers
            or "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        )
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=600)
        try:
            upstream.request(
                self.command,
                self.path,
                body=self.body_chunks() if has_body else None,
                headers=headers,
            )
            response = upstream.getresponse()
            self.record(response.status)
            manifest = _MANIFEST.match(self.route_path)
            if manifest and self.command == "PUT" and response.status == 201:
                digest = response.getheader("Docker-Content-Digest", "")
                self.server.state.record_upload(manifest["name"], digest)
            self._relay(response)
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304)
        chunked = not bodiless and response.getheader("Content-Length") is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            return
        while chunk := response.read1(1 << 16):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _revoked(self, authorization: str) -> bool:
        """A bearer token this emulator issued before `revoke_tokens()`."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        state: State = self.server.state
        try:
            claims_b64 = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4)))
        except (IndexError, ValueError, binascii.Error):
            return True
        return not state.registry_token_valid(str(claims.get("jti")))


class RegistryProxyServer(EmulatorServer):
    """GAR's registry host on a free port; `upstream` is the distribution registry behind it."""

    def __init__(self, state: State, router: Callable[[str, str], Route]) -> None:
        super().__init__(0, state, router, RegistryProxyHandler)
        self.upstream = ("127.0.0.1", 0)
