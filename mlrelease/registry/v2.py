"""A small client of the Docker Registry HTTP API v2: ping, manifests, tags, and (from
`v2_blobs.py`) blobs and referrers.

Speaks to any registry (CNCF distribution, Artifact Registry's `*-docker.pkg.dev`); the token
dance, timeouts and retries are `v2_session.py`'s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mlrelease.errors import PreconditionError, RegistryError
from mlrelease.registry.v2_blobs import RegistryBlobs
from mlrelease.registry.v2_session import registry_message

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry stores it: its digest, config digest and compressed size,
    and the bytes themselves with their media type (to put them under another tag)."""

    digest: str
    config_digest: str | None  # the image ID of a single-platform image
    compressed_size_bytes: int  # config plus layers, as pushed
    media_type: str = ""
    body: bytes = b""


class RegistryClient(RegistryBlobs):
    """The v2 API of the registry at `host` (`host[:port]`), optionally with basic credentials.

    Every request is bounded by `timeout_s`; transient answers (429, 5xx) and broken or silent
    connections are tried `attempts` times with backoff, the token service's too."""

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
        if response.status_code in (400, 409) and "immutab" in registry_message(response):
            raise PreconditionError(
                f"the registry refused to move {path}:{reference}: {registry_message(response)}",
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

    def delete_manifest(self, path: str, digest: str) -> bool:
        """Delete the manifest `digest` (and so every tag on it); False when already gone."""
        response = self._send_scoped(
            "DELETE", f"/{path}/manifests/{digest}", (f"repository:{path}:delete,pull",)
        )
        if response.status_code == 404:
            return False
        self._raise_for(response, f"{path}@{digest}")
        return True
