"""The Registry HTTP API v2 as a registry client speaks it through GAR's registry host: a token
from the realm for an access token, then blobs and manifests. Faster than the engine for tests
that need images in place, and it shows every status the host answers."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

import requests

from tests.emulator.server import GarEmulator

SERVICE = "us-central1-docker.pkg.dev"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True)
class Pushed:
    name: str  # P/R/IMG
    digest: str
    manifest: bytes
    layer_digest: str


class RegistryClient:
    def __init__(self, gar: GarEmulator, access_token: str, timeout: float = 30) -> None:
        self.base = f"http://{gar.registry_host}"
        self.access_token = access_token
        self.timeout = timeout

    def token(self, *scopes: str) -> str:
        """A registry token for `scope`s (`repository:P/R/IMG:push,pull`); raises on refusal."""
        response = self.realm(*scopes)
        response.raise_for_status()
        return response.json()["token"]

    def realm(self, *scopes: str) -> requests.Response:
        return requests.get(
            f"{self.base}/v2/token",
            params={"scope": list(scopes), "service": SERVICE},
            auth=("oauth2accesstoken", self.access_token),
            timeout=self.timeout,
        )

    def _headers(self, name: str, actions: str = "pull") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(f'repository:{name}:{actions}')}"}

    def upload_blob(self, name: str, data: bytes) -> str:
        """A monolithic upload (POST, then PUT with the digest); the blob's digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        headers = self._headers(name, "push,pull")
        started = requests.post(
            f"{self.base}/v2/{name}/blobs/uploads/", headers=headers, timeout=self.timeout
        )
        started.raise_for_status()
        location = started.headers["Location"]
        location = location if location.startswith("http") else self.base + location
        finished = requests.put(
            location,
            params={"digest": digest},
            data=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
            timeout=self.timeout,
        )
        finished.raise_for_status()
        return digest

    def push_image(
        self, name: str, tag: str | None = "v1", created: str = "2024-05-06T07:08:09.123456789Z"
    ) -> Pushed:
        """A new one-layer image (its own digest every time) under `name`, tagged `tag` (None:
        pushed by digest, untagged)."""
        layer = uuid.uuid4().bytes * 64
        layer_digest = self.upload_blob(name, layer)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": created,
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            }
        ).encode()
        config_digest = self.upload_blob(name, config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {
                    "mediaType": DOCKER_CONFIG,
                    "size": len(config),
                    "digest": config_digest,
                },
                "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": layer_digest}],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        response = self.put_manifest(name, tag or digest, manifest)
        response.raise_for_status()
        return Pushed(name, digest, manifest, layer_digest)

    def put_manifest(self, name: str, reference: str, manifest: bytes) -> requests.Response:
        return requests.put(
            f"{self.base}/v2/{name}/manifests/{reference}",
            data=manifest,
            headers={**self._headers(name, "push,pull"), "Content-Type": DOCKER_MANIFEST},
            timeout=self.timeout,
        )

    def head_manifest(self, name: str, reference: str) -> requests.Response:
        return requests.head(
            f"{self.base}/v2/{name}/manifests/{reference}",
            headers={**self._headers(name), "Accept": DOCKER_MANIFEST},
            timeout=self.timeout,
        )

    def delete_manifest(self, name: str, digest: str) -> requests.Response:
        return requests.delete(
            f"{self.base}/v2/{name}/manifests/{digest}",
            headers=self._headers(name, "delete"),
            timeout=self.timeout,
        )

    def tags(self, name: str) -> list[str]:
        response = requests.get(
            f"{self.base}/v2/{name}/tags/list", headers=self._headers(name), timeout=self.timeout
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])
