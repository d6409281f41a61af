"""Cosign-compatible signatures: the simple-signing payload, ECDSA P-256 over SHA-256.

cosign's SIGNATURE_SPEC: the payload names the image by its manifest digest
(`critical.image.docker-manifest-digest`), `critical.type` is `cosign container image
signature`, and the signature is ASN.1 DER ECDSA over the SHA-256 of the payload bytes,
base64-encoded. The private key comes from `signing_key` (a PEM, or a path to one), never
printed) or a Cloud KMS key version (`kms_key`, see `kms`); the public key from `verify_key`,
or is derived from the signing key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

    from mlrelease.config.settings import Settings
    from mlrelease.secrets import Secret
    from mlrelease.supply.kms import KmsSigner

PAYLOAD_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"


def simple_signing_payload(repository: str, digest: str) -> bytes:
    """The payload cosign signs for `repository@digest`, as cosign writes it (compact JSON)."""
    document = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def payload_digest(payload: bytes) -> str | None:
    """The manifest digest a simple-signing payload names; None when it is not one."""
    try:
        document: Any = json.loads(payload)
        critical = document["critical"]
        if critical["type"] != SIGNATURE_TYPE:
            return None
        return str(critical["image"]["docker-manifest-digest"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Signer:
    """A private key that signs payloads (ECDSA P-256, SHA-256)."""

    key: EllipticCurvePrivateKey

    def sign(self, payload: bytes) -> str:
        """The base64 DER signature of `payload`."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return base64.b64encode(self.key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()

    def public_key(self) -> EllipticCurvePublicKey:
        return self.key.public_key()


def verify_signature(public_key: EllipticCurvePublicKey, payload: bytes, signature: str) -> bool:
    """Whether `signature` (base64 DER) is `public_key`'s signature of `payload`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        public_key.verify(base64.b64decode(signature), payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_signer(settings: Settings) -> Signer | KmsSigner | None:
    """The key `signing_key` holds, else the Cloud KMS key version `kms_key` names; None
    when neither is configured."""
    if settings.signing_key is not None:
        return Signer(_private_key(settings.signing_key, settings.source("signing_key")))
    if settings.kms_key:
        from mlrelease.supply.kms import KmsSigner

        return KmsSigner(settings)
    return None


def load_public_key(settings: Settings) -> EllipticCurvePublicKey | None:
    """`verify_key`, or the public half of `signing_key` (or of the KMS key `kms_key`); None
    when none is configured."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if settings.verify_key:
        source = settings.source("verify_key")
        pem = _pem(settings.verify_key, "verify_key", source)
        try:
            key = load_pem_public_key(pem)
        except ValueError:
            raise _bad_key("verify_key", source, "a PEM public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise _bad_key("verify_key", source, "an ECDSA P-256 public key")
        return key
    signer = load_signer(settings)
    return signer.public_key() if signer else None


def public_key_pem(key: EllipticCurvePublicKey) -> str:
    """The PEM (SubjectPublicKeyInfo) of a public key, as `cosign public-key` prints it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _private_key(secret: Secret, source: str) -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = _pem(secret.reveal(), "signing_key", source)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # The library's message may quote the key: never pass it on.
        raise _bad_key("signing_key", source, "an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise _bad_key("signing_key", source, "an ECDSA P-256 private key")
    return key


def _pem(value: str, key: str, source: str) -> bytes:
    """A PEM given inline or as the path of a file holding it."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(
            f"{key} from {source} is neither a PEM nor a readable file ({err.strerror})",
            hint=f"set {key} to the PEM itself or to the path of a PEM file",
        ) from None


def _bad_key(key: str, source: str, expected: str) -> ConfigError:
    return ConfigError(
        f"{key} from {source} is not {expected}",
        hint="make one with `openssl ecparam -name prime256v1 -genkey -noout | "
        "openssl pkcs8 -topk8 -nocrypt` (its public half: `openssl ec -pubout`)",
    )
