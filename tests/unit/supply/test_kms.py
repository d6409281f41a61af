"""Signing with a Cloud KMS key version, against a stand-in for the KMS REST API that holds
a real P-256 key: the real google-cloud-kms client, AsymmetricSign and GetPublicKey."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlrelease.config.settings import load_settings
from mlrelease.errors import ConfigError, ExternalServiceError
from mlrelease.supply.kms import KmsSigner
from mlrelease.supply.signing import public_key_pem, simple_signing_payload, verify_signature

NAME = "projects/p/locations/global/keyRings/r/cryptoKeys/release/cryptoKeyVersions/1"


class FakeKms(ThreadingHTTPServer):
    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        super().__init__(("127.0.0.1", 0), _Handler)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.algorithm = "EC_SIGN_P256_SHA256"
        self.corrupt = False
        self.requests: list[tuple[str, str, dict]] = []


class _Handler(BaseHTTPRequestHandler):
    server: FakeKms

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        from cryptography.hazmat.primitives import serialization

        path = self.path.partition("?")[0]
        self.server.requests.append(("GET", path, {}))
        if path != f"/v1/{NAME}/publicKey":
            return self._answer(
                404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no"}}
            )
        pem = self.server.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = {"pem": pem.decode(), "algorithm": self.server.algorithm, "name": NAME}
        self._answer(200, body)

    def do_POST(self) -> None:
        import google_crc32c
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils

        path = self.path.partition("?")[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(("POST", path, body))
        if path != f"/v1/{NAME}:asymmetricSign":
            return self._answer(
                404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no"}}
            )
        digest = base64.b64decode(body["digest"]["sha256"])
        verified = int(body["digestCrc32c"]) == google_crc32c.value(digest)
        signature = self.server.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        crc = google_crc32c.value(signature) + (1 if self.server.corrupt else 0)
        self._answer(
            200,
            {
                "signature": base64.b64encode(signature).decode(),
                "signatureCrc32c": str(crc),
                "verifiedDigestCrc32c": verified,
                "name": NAME,
                "protectionLevel": "SOFTWARE",
            },
        )


@pytest.fixture
def kms() -> Iterator[FakeKms]:
    server = FakeKms()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _signer(kms: FakeKms, tmp_path: Path) -> KmsSigner:
    from google.auth.credentials import AnonymousCredentials

    settings = load_settings(tmp_path, env={"MLRELEASE_KMS_KEY": NAME})
    endpoint = f"http://127.0.0.1:{kms.server_address[1]}"
    return KmsSigner(settings, endpoint=endpoint, credentials=AnonymousCredentials())


def test_a_kms_signature_verifies_with_the_kms_public_key(kms, tmp_path) -> None:
    signer = _signer(kms, tmp_path)
    payload = simple_signing_payload("r", "sha256:" + "ab" * 32)
    signature = signer.sign(payload)
    public = signer.public_key()
    assert verify_signature(public, payload, signature)
    assert public_key_pem(public) == public_key_pem(kms.key.public_key())
    (method, path, body), *_ = kms.requests
    assert (method, path) == ("POST", f"/v1/{NAME}:asymmetricSign")
    assert set(body) == {"digest", "digestCrc32c"}


def test_a_corrupted_answer_and_a_wrong_algorithm_are_refused(kms, tmp_path) -> None:
    signer = _signer(kms, tmp_path)
    kms.corrupt = True
    with pytest.raises(ExternalServiceError, match="integrity"):
        signer.sign(b"payload")
    kms.algorithm = "RSA_SIGN_PSS_2048_SHA256"
    with pytest.raises(ConfigError, match="not EC_SIGN_P256_SHA256"):
        signer.public_key()


def test_kms_key_names_are_checked(tmp_path) -> None:
    with pytest.raises(ConfigError, match="kms_key"):
        load_settings(tmp_path, env={"MLRELEASE_KMS_KEY": "projects/p/keyRings/r"})
