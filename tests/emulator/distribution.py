"""The real CNCF distribution registry behind the emulator: its process, and its HTTP API as the
emulator itself uses it (catalog, tags, manifests, blobs; manifest PUT and DELETE), with tokens
the emulator mints for itself."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator.keys import libtrust_key_id, random_id, self_signed_cert, sign_jwt

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    size_bytes: int  # compressed: config plus layers, or the sum over an index's manifests
    config_digest: str | None  # an image's config blob; None for an index


@dataclass(frozen=True)
class RawManifest:
    digest: str
    media_type: str
    body: bytes  # exactly as stored: PUT again, it keeps its digest


class RegistrySigner:
    """The key and certificate the registry trusts; signs its bearer tokens."""

    def __init__(self, service: str, issuer: str) -> None:
        self.service = service
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_pem = self_signed_cert(self._key, issuer)
        self._kid = libtrust_key_id(self._key.public_key())

    def token(
        self, subject: str, access: list[dict[str, Any]], lifetime_s: int = 3600
    ) -> tuple[str, str]:
        """A registry JWT and its ID (`jti`)."""
        issued = int(time.time())
        token_id = random_id(12)
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": issued + lifetime_s,
            "nbf": issued - 5,
            "iat": issued,
            "jti": token_id,
            "access": access,
        }
        return sign_jwt(self._key, claims, self._kid), token_id


class Distribution:
    """A `docker-registry serve` process on 127.0.0.1 with `auth: token`."""

    def __init__(
        self, binary: str, root: Path, port: int, realm: str, signer: RegistrySigner
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.data_root = root / "data"  # the filesystem driver's rootdirectory
        self._signer = signer
        (root / "registry.crt").write_bytes(signer.cert_pem)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn}\n"
            "storage:\n"
            f"  filesystem: {{rootdirectory: {self.data_root}}}\n"
            "  delete: {enabled: true}\n"
            f"http: {{addr: 127.0.0.1:{port}}}\n"
            "auth:\n"
            "  token:\n"
            f"    realm: {realm}\n"
            f"    service: {signer.service}\n"
            f"    issuer: {signer.issuer}\n"
            f"    rootcertbundle: {root / 'registry.crt'}\n"
        )
        self.log_path = root / "registry.log"
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=self._log, stderr=self._log
        )
        self._wait()

    def _wait(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self._process.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1)
                return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for a token
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer within {timeout} s")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._log.close()

    def _request(
        self,
        path: str,
        access: list[dict[str, Any]],
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[dict[str, str], bytes] | None:
        """Headers and body of the answer; None for a 404. Other errors raise HTTPError."""
        token, _ = self._signer.token("gar-emulator", access, lifetime_s=60)
        headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def catalog(self) -> list[str]:
        """Every repository name the registry stores (`P/R/IMG`)."""
        names: list[str] = []
        last = ""
        access = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
        while True:
            found = self._request(f"/v2/_catalog?n=1000&last={quote(last)}", access)
            batch = json.loads(found[1]).get("repositories") or [] if found else []
            names.extend(batch)
            if len(batch) < 1000:
                return names
            last = batch[-1]

    def tags(self, name: str) -> list[str]:
        found = self._request(f"/v2/{name}/tags/list", _access(name, "pull"))
        return sorted(json.loads(found[1]).get("tags") or []) if found else []

    def raw_manifest(self, name: str, reference: str) -> RawManifest | None:
        found = self._request(
            f"/v2/{name}/manifests/{reference}",
            _access(name, "pull"),
            headers={"Accept": MANIFEST_TYPES},
        )
        if found is None:
            return None
        headers, body = found
        return RawManifest(headers["Docker-Content-Digest"], headers["Content-Type"], body)

    def manifest(self, name: str, reference: str) -> Manifest | None:
        raw = self.raw_manifest(name, reference)
        if raw is None:
            return None
        document = json.loads(raw.body)
        media_type = document.get("mediaType") or raw.media_type
        if "layers" in document:
            size = document["config"]["size"] + sum(layer["size"] for layer in document["layers"])
            return Manifest(raw.digest, media_type, size, document["config"]["digest"])
        size = sum(entry["size"] for entry in document.get("manifests", []))
        return Manifest(raw.digest, media_type, size, None)

    def digest(self, name: str, reference: str) -> str | None:
        found = self._request(
            f"/v2/{name}/manifests/{reference}",
            _access(name, "pull"),
            method="HEAD",
            headers={"Accept": MANIFEST_TYPES},
        )
        return found[0]["Docker-Content-Digest"] if found else None

    def blob(self, name: str, digest: str) -> bytes | None:
        found = self._request(f"/v2/{name}/blobs/{digest}", _access(name, "pull"))
        return found[1] if found else None

    def put_manifest(self, name: str, reference: str, manifest: RawManifest) -> str:
        """Store `manifest` under `reference` (a tag: the tag now points to it); its digest."""
        found = self._request(
            f"/v2/{name}/manifests/{reference}",
            _access(name, "pull", "push"),
            method="PUT",
            headers={"Content-Type": manifest.media_type},
            body=manifest.body,
        )
        assert found is not None, f"{name} vanished while a manifest was put"
        return found[0]["Docker-Content-Digest"]

    def delete_manifest(self, name: str, digest: str) -> bool:
        """Delete a manifest and every tag on it (distribution untags them); False if absent."""
        found = self._request(
            f"/v2/{name}/manifests/{digest}", _access(name, "delete"), method="DELETE"
        )
        return found is not None


def _access(name: str, *actions: str) -> list[dict[str, Any]]:
    return [{"type": "repository", "name": name, "actions": list(actions)}]
