"""The blob and referrer endpoints of the Docker Registry HTTP API v2.

Blobs are looked for (HEAD), mounted across repositories of one host, uploaded in chunks or at
once, and read streamed or whole (checked against their digest); the referrers API (OCI
distribution spec 1.1) lists the artifacts whose subject is a manifest. `RegistryClient`
(`v2.py`) adds manifests and tags.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mlrelease.errors import RegistryError
from mlrelease.registry.v2_session import RegistrySession, scheme_for

if TYPE_CHECKING:
    import requests


class RegistryBlobs(RegistrySession):
    """The blobs of the registry's repositories, and the referrers of their manifests."""

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

    def _push(self, path: str) -> str:
        return f"repository:{path}:push,pull"

    def _upload_url(self, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"the registry {self.host} opened an upload without a Location")
        # Relative locations are relative to the registry's root, not to /v2.
        return location if "://" in location else f"{scheme_for(self.host)}://{self.host}{location}"
