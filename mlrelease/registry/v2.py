"""A small client of the Docker Registry HTTP API v2: ping, manifests, tags.

Speaks to any registry (CNCF distribution, Artifact Registry's `*-docker.pkg.dev`), doing the
token dance itself: a 401 with `WWW-Authenticate: Bearer realm=…` is answered by asking the
realm for a token with the basic credentials given (for GAR, `oauth2accesstoken` and an access
token). Registries on loopback are spoken to over plain HTTP, as the Docker engine does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlrelease.errors import AuthError, PreconditionError, RegistryError, one_line

if TYPE_CHECKING:
    import requests

    from mlrelease.secrets import Secret

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
BACKOFF_S = 0.5
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry stores it: its digest, config digest and compressed size,
    and the bytes themselves with their media type (to put them under another tag)."""

    digest: str
    config_digest: str | None  # the image ID of a single-platform image
    compressed_size_bytes: int  # config plus layers, as pushed
    media_type: str = ""
    body: bytes = b""


def scheme_for(host: str) -> str:
    """`http` for a registry on loopback (as the engine allows), `https` otherwise."""
    name = urlsplit(f"//{host}").hostname or host
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:
        return "https"


class RegistryClient:
    """The v2 API of the registry at `host` (`host[:port]`), optionally with basic credentials.

    Every request is bounded by `timeout_s`; transient answers (429, 5xx) and broken or silent
    connections are tried `attempts` times with backoff, the token service's too."""

    def __init__(
        self,
        host: str,
        *,
        username: str | None = None,
        password: Secret | None = None,
        timeout_s: float = 60.0,
        attempts: int = 3,
    ):
        self.host = host
        self.base = f"{scheme_for(host)}://{host}/v2"
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._basic = (username, password) if username and password is not None else None
        self._tokens: dict[str, str] = {}
        self._session: requests.Session | None = None

    def ping(self) -> None:
        """RegistryError unless the registry answers its API root (401 counts as an answer)."""
        response = self._send_authorized("GET", "/", scope=None, allow_unauthorized=True)
        if response.status_code >= 500:
            raise RegistryError(f"the registry {self.host} answers {response.status_code}")

    def manifest(self, path: str, reference: str) -> Manifest | None:
        """The manifest of `path:reference` (a tag or digest), None if there is none."""
        response = self._send_authorized(
            "GET",
            f"/{path}/manifests/{reference}",
            scope=f"repository:{path}:pull",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if response.status_code == 404:
            return None
        self._raise_for(response, f"{path}:{reference}")
        body = response.content
        digest = response.headers.get("Docker-Content-Digest") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        document: dict[str, Any] = json.loads(body)
        config = document.get("config") or {}
        size = int(config.get("size", 0)) + sum(
            int(layer.get("size", 0)) for layer in document.get("layers", [])
        )
        media_type = document.get("mediaType") or response.headers.get("Content-Type", "")
        return Manifest(digest, config.get("digest"), size, str(media_type), body)

    def put_manifest(self, path: str, reference: str, manifest: Manifest) -> str:
        """Store `manifest` (its exact bytes) under `path:reference`; the digest the registry
        reports. A tag the registry refuses to move (immutable) is a PreconditionError."""
        response = self._send_authorized(
            "PUT",
            f"/{path}/manifests/{reference}",
            scope=f"repository:{path}:push,pull",
            headers={"Content-Type": manifest.media_type},
            data=manifest.body,
        )
        if response.status_code in (400, 409) and "immutab" in _registry_message(response):
            raise PreconditionError(
                f"the registry refused to move {path}:{reference}: {_registry_message(response)}",
                hint="the repository's tags are immutable: release a new version instead",
            )
        self._raise_for(response, f"{path}:{reference}")
        return response.headers.get("Docker-Content-Digest") or manifest.digest

    def tags(self, path: str) -> list[str]:
        """Every tag of `path` (empty when the repository does not exist yet)."""
        response = self._send_authorized(
            "GET", f"/{path}/tags/list", scope=f"repository:{path}:pull"
        )
        if response.status_code == 404:
            return []
        self._raise_for(response, path)
        return list(response.json().get("tags") or [])

    # Blobs and deletes (promotion, retention on a plain registry)

    def blob_exists(self, path: str, digest: str) -> bool:
        """Whether `path` already holds the blob `digest` (a HEAD, no body moves)."""
        response = self._send_authorized(
            "HEAD", f"/{path}/blobs/{digest}", scope=f"repository:{path}:pull"
        )
        if response.status_code == 404:
            return False
        self._raise_for(response, f"{path}@{digest}")
        return True

    def mount_blob(self, path: str, digest: str, source: str) -> str | None:
        """Ask the registry to mount `digest` from the repository `source` on this host into
        `path`: None when it did (201), else the upload URL it opened instead (202)."""
        scopes = (f"repository:{path}:push,pull", f"repository:{source}:pull")
        response = self._send_scoped(
            "POST", f"/{path}/blobs/uploads/?mount={digest}&from={source}", scopes
        )
        if response.status_code == 201:
            return None
        self._raise_for(response, f"a mount of {digest} into {path}")
        return self._upload_url(response)

    def start_upload(self, path: str) -> str:
        """Open a blob upload session in `path`; its URL."""
        response = self._send_scoped("POST", f"/{path}/blobs/uploads/", (self._push(path),))
        self._raise_for(response, f"an upload to {path}")
        return self._upload_url(response)

    def upload_blob(self, path: str, url: str, digest: str, chunks: Iterable[bytes]) -> int:
        """Send the blob `digest` in `chunks` (a PATCH each, so that memory holds one chunk
        and a failed chunk is retried alone), then close the upload with its digest; the
        bytes sent."""
        sent = 0
        for chunk in chunks:
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{sent}-{sent + len(chunk) - 1}",
            }
            response = self._send_scoped("PATCH", url, (self._push(path),), headers, chunk)
            self._raise_for(response, f"an upload of {digest} to {path}")
            url = self._upload_url(response)
            sent += len(chunk)
        separator = "&" if "?" in url else "?"
        response = self._send_scoped(
            "PUT", f"{url}{separator}digest={digest}", (self._push(path),), {}, b""
        )
        self._raise_for(response, f"the upload of {digest} to {path}")
        return sent

    @contextmanager
    def open_blob(self, path: str, digest: str) -> Iterator[requests.Response]:
        """The blob `digest` of `path` as a streamed response (read it with `iter_content`)."""
        scope = f"repository:{path}:pull"
        url = f"{self.base}/{path}/blobs/{digest}"
        response = self._stream_get(url, scope)
        if response.status_code == 401:
            response.close()
            self._tokens[scope] = self._token(response, scope)
            response = self._stream_get(url, scope)
        try:
            self._raise_for(response, f"{path}@{digest}")
            yield response
        finally:
            response.close()

    def delete_manifest(self, path: str, digest: str) -> bool:
        """Delete the manifest `digest` (and so every tag on it); False when already gone."""
        response = self._send_scoped(
            "DELETE", f"/{path}/manifests/{digest}", (f"repository:{path}:delete,pull",)
        )
        if response.status_code == 404:
            return False
        self._raise_for(response, f"{path}@{digest}")
        return True

    def _push(self, path: str) -> str:
        return f"repository:{path}:push,pull"

    def _upload_url(self, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"the registry {self.host} opened an upload without a Location")
        # Relative locations are relative to the registry's root, not to /v2.
        return location if "://" in location else f"{scheme_for(self.host)}://{self.host}{location}"

    def _send_scoped(
        self,
        method: str,
        url: str,
        scopes: tuple[str, ...],
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """`_send_authorized` for a URL (absolute or under /v2) needing several scopes at once
        (a mount needs push on the destination and pull on the source)."""
        key = " ".join(scopes)
        url = url if "://" in url else self.base + url
        headers = dict(headers or {})
        if key in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[key]}"
        response = self._send(method, url, headers, data)
        if response.status_code == 401:
            self._tokens[key] = self._token(response, list(scopes))  # type: ignore[arg-type]
            headers["Authorization"] = f"Bearer {self._tokens[key]}"
            response = self._send(method, url, headers, data)
        return response

    def _stream_get(self, url: str, scope: str) -> requests.Response:
        import requests

        session = self._session or requests.Session()
        self._session = session
        headers = (
            {"Authorization": f"Bearer {self._tokens[scope]}"} if scope in self._tokens else {}
        )
        try:
            return session.get(url, headers=headers, stream=True, timeout=self.timeout_s)
        except requests.RequestException as err:
            raise RegistryError(
                f"cannot read a blob from the registry {self.host}: {type(err).__name__}",
                hint=f"check that the registry at {self.host} is up and reachable",
            ) from None

    def put_blob(self, path: str, data: bytes) -> str:
        """Upload `data` as a blob of `path` (monolithic: POST, then PUT with the digest),
        unless the registry holds it already; its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.blob_exists(path, digest):
            return digest
        scope = f"repository:{path}:push,pull"
        started = self._send_authorized("POST", f"/{path}/blobs/uploads/", scope=scope)
        self._raise_for(started, f"an upload to {path}")
        location = started.headers.get("Location", "")
        if not location:
            raise RegistryError(f"the registry {self.host} gave no upload location for {path}")
        if location.startswith("/"):
            location = f"{scheme_for(self.host)}://{self.host}{location}"
        separator = "&" if "?" in location else "?"
        headers = {"Content-Type": "application/octet-stream"}
        if scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        finished = self._send("PUT", f"{location}{separator}digest={digest}", headers, data)
        self._raise_for(finished, f"the blob {digest} of {path}")
        return digest

    def blob(self, path: str, digest: str, *, max_bytes: int = 64 << 20) -> bytes | None:
        """The blob `digest` of `path` (checked against its digest), None if there is none."""
        response = self._send_authorized(
            "GET", f"/{path}/blobs/{digest}", scope=f"repository:{path}:pull"
        )
        if response.status_code == 404:
            return None
        self._raise_for(response, f"{path}@{digest}")
        body = response.content
        if len(body) > max_bytes:
            raise RegistryError(f"the blob {digest} of {path} is larger than {max_bytes} bytes")
        algorithm, _, expected = digest.partition(":")
        if algorithm == "sha256" and hashlib.sha256(body).hexdigest() != expected:
            raise RegistryError(f"the registry {self.host} sent a blob that is not {digest}")
        return body

    def referrers(self, path: str, digest: str) -> dict[str, Any] | None:
        """The OCI 1.1 referrers index of `path@digest`; None where the registry has no
        referrers API (distribution 2.8 answers 404), so the tag schema must be used."""
        response = self._send_authorized(
            "GET",
            f"/{path}/referrers/{digest}",
            scope=f"repository:{path}:pull",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        )
        if response.status_code in (404, 405):
            return None
        self._raise_for(response, f"the referrers of {path}@{digest}")
        index: dict[str, Any] = response.json()
        return index

    # The HTTP exchange

    def _send_authorized(
        self,
        method: str,
        url: str,
        *,
        scope: str | None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        allow_unauthorized: bool = False,
    ) -> requests.Response:
        """The request, with a bearer token for `scope`, fetched on a 401 challenge."""
        headers = dict(headers or {})
        if scope and scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        response = self._send(method, self.base + url, headers, data)
        if response.status_code == 401 and not allow_unauthorized and scope:
            self._tokens[scope] = self._token(response, scope)
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
            response = self._send(method, self.base + url, headers, data)
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        data: bytes | None = None,
        *,
        params: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        what: str | None = None,
    ) -> requests.Response:
        """One request with retries: transient answers (429, 5xx), broken connections and
        requests that got no answer within `timeout_s`, with backoff."""
        import requests

        session = self._session or requests.Session()
        self._session = session
        for attempt in range(1, self.attempts + 1):
            try:
                response = session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    params=params,
                    auth=auth,
                    timeout=self.timeout_s,
                )
            except requests.RequestException as err:
                if attempt == self.attempts:
                    silent = isinstance(err, requests.Timeout)
                    reason = (
                        f"no answer within {self.timeout_s:g} s" if silent else type(err).__name__
                    )
                    raise RegistryError(
                        f"cannot reach {what or f'the registry {self.host}'}: {reason} "
                        f"({self.attempts} attempts)",
                        hint=f"check that the registry at {self.host} is up and reachable",
                    ) from None
            else:
                if response.status_code not in TRANSIENT_STATUSES or attempt == self.attempts:
                    return response
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, challenge: requests.Response, scope: str) -> str:
        header = challenge.headers.get("WWW-Authenticate", "")
        params = dict(_CHALLENGE.findall(header))
        if not header.lower().startswith("bearer") or "realm" not in params:
            raise AuthError(
                f"the registry {self.host} asks for credentials mlrelease cannot give",
                hint="use a registry with token auth (as Artifact Registry) or none",
            )
        auth = None
        if self._basic:
            auth = (self._basic[0], self._basic[1].reveal())  # type: ignore[union-attr]
        query = {"service": params.get("service", ""), "scope": scope}
        answer = self._send(
            "GET",
            params["realm"],
            {},
            params=query,
            auth=auth,  # type: ignore[arg-type]
            what=f"the token service of the registry {self.host}",
        )
        if answer.status_code in (401, 403):
            raise AuthError(
                f"the registry {self.host} refused the credentials ({answer.status_code}): "
                f"{_registry_message(answer)}",
                hint="check the credentials with `mlrelease auth`",
            )
        self._raise_for(answer, "the token service")
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"the registry {self.host}'s token service gave no token")
        return str(token)

    def refresh(self, username: str, password: Secret) -> None:
        """New basic credentials for the token service; tokens got with the old ones are
        dropped."""
        self._basic = (username, password)
        self._tokens.clear()

    def _raise_for(self, response: requests.Response, what: str) -> None:
        if response.status_code < 400:
            return
        message = f"the registry {self.host} answered {response.status_code} for {what}: "
        message += _registry_message(response)
        if response.status_code in (401, 403):
            raise AuthError(message, hint="check the credentials with `mlrelease auth`")
        raise RegistryError(message)


def _registry_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return one_line("; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors))
    except (ValueError, AttributeError):
        return response.reason or ""
