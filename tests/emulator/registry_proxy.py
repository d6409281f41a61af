"""What the Docker engine talks to as GAR's registry host: the registry token service at
/v2/token, and a streaming proxy to the real distribution registry for everything else.

Faults (`fail_next(target="registry")`) land on manifest requests only: the engine retries a
failed blob request itself after 5 s, 10 s, ..., but fails a push at once on its manifest PUT.
Hangs (`hang_next(target="registry")`) land on blob upload PATCH and PUT requests, mid-body.
Where a repository's tags are immutable, a manifest PUT that would move an existing tag, or a
DELETE of a tagged manifest, is refused as GAR refuses it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import re
from collections.abc import Callable, Iterator

from tests.emulator import immutable_tags
from tests.emulator.distribution import Distribution
from tests.emulator.http import EmulatorServer, Handler, Response, Route
from tests.emulator.registry_auth import RegistryTokenService, registry_error
from tests.emulator.state import State

TOKEN_PATH = "/v2/token"
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/[^/]+$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
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
    if status == 401:  # a token that expired or was revoked while the push ran
        return registry_error(401, "UNAUTHORIZED", "authentication required")
    return registry_error(status, "UNAVAILABLE", "the registry is temporarily unavailable")


def registry_router(tokens: RegistryTokenService) -> Callable[[str, str], Route]:
    def route(method: str, path: str) -> Route:
        if path == TOKEN_PATH:
            return Route("registry-token", tokens.handle, registry_fault, hangs="registry-token")
        if _MANIFEST.match(path):
            # "push" faults land on the engine's manifest PUT only: a push fails, not a read.
            pushing = ("push",) if method == "PUT" else ()
            return Route("registry", None, registry_fault, pushing)
        if method in ("PATCH", "PUT") and _UPLOAD.match(path):
            return Route("registry", None, hangs="registry")
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
        manifest = _MANIFEST.match(self.route_path)
        writes = self.command in ("PUT", "DELETE") and "Authorization" in headers
        if manifest and writes and self._immutable(manifest["name"]):
            # Check and write under one lock, so that no tag moves in between.
            with self.server.state.tag_lock:
                self._guarded(manifest["name"], manifest["reference"], headers)
            return
        self._forward(headers, self._body())

    def _body(self) -> Iterator[bytes] | None:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if "Content-Length" not in self.headers and not chunked:
            if self.hang is not None:
                self.hold(self.hang)
            return None
        return self._held_midway(self.body_chunks()) if self.hang else self.body_chunks()

    def _held_midway(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The body, with the hang after its first chunk: an upload stalled mid-way."""
        assert self.hang is not None
        held = False
        for chunk in chunks:
            yield chunk
            if not held:
                held = True
                self.hold(self.hang)
        if not held:
            self.hold(self.hang)

    def _guarded(self, name: str, reference: str, headers: dict[str, str]) -> None:
        registry = self.server.registry
        body = self.read_body()
        if self.command == "PUT" and not _DIGEST.match(reference):
            current = registry.digest(name, reference)
            if current is not None and current != "sha256:" + hashlib.sha256(body).hexdigest():
                message = immutable_tags.cannot_update(reference)
                self.answer(registry_error(400, "MANIFEST_INVALID", message))
                return
        if self.command == "DELETE":
            tagged = [t for t in registry.tags(name) if registry.digest(name, t) == reference]
            if tagged:
                message = immutable_tags.cannot_delete(tagged[0])
                self.answer(registry_error(400, "MANIFEST_INVALID", message))
                return
        self._forward(headers, iter([body]) if body or "Content-Length" in headers else None)

    def _forward(self, headers: dict[str, str], body: Iterator[bytes] | None) -> None:
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            self.record(response.status)
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

    def _immutable(self, name: str) -> bool:
        repository = self.server.state.repositories.get(name.split("/")[1] if "/" in name else "")
        return repository is not None and repository.immutable_tags

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
    """GAR's registry host on a free port; `upstream` is the distribution registry behind it,
    `registry` the emulator's own client of it (to check tags before they move)."""

    registry: Distribution

    def __init__(self, state: State, router: Callable[[str, str], Route]) -> None:
        super().__init__(0, state, router, RegistryProxyHandler)
        self.upstream = ("127.0.0.1", 0)
