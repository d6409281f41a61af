"""Signing with a Cloud KMS key version (`kms_key`): AsymmetricSign over the payload's SHA-256.

The key must be `EC_SIGN_P256_SHA256`, the scheme cosign's SIGNATURE_SPEC requires, so a KMS
signature is the same ASN.1 DER ECDSA signature a local key makes. The digest goes with its
CRC32C and the answer is checked as Google's integrity guidance says (`verifiedDigestCrc32c`,
the signature's own CRC32C, the key name). The private key never leaves KMS; the public key
comes from GetPublicKey. Credentials are the ones Artifact Registry uses (`mlrelease auth`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from mlrelease.errors import AuthError, ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from mlrelease.config.settings import Settings

DEFAULT_ENDPOINT = "cloudkms.googleapis.com"
EC_SIGN_P256_SHA256 = 12  # CryptoKeyVersion.CryptoKeyVersionAlgorithm


class KmsSigner:
    """A Cloud KMS key version that signs payloads (ECDSA P-256, SHA-256)."""

    def __init__(
        self,
        settings: Settings,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        credentials: Any = None,
    ) -> None:
        if not settings.kms_key:
            raise ValueError("KmsSigner needs kms_key")
        self.name = settings.kms_key
        self.settings = settings
        self.endpoint = endpoint
        self._credentials = credentials
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The KMS client on a REST transport that sends an access token."""
        if self._client is None:
            from google.cloud.kms_v1 import KeyManagementServiceClient
            from google.cloud.kms_v1.services.key_management_service.transports.rest import (
                KeyManagementServiceRestTransport,
            )

            credentials = self._credentials
            if credentials is None:
                from mlrelease.credentials import resolve_credentials

                credentials = resolve_credentials(self.settings).credentials
            transport = KeyManagementServiceRestTransport(
                host=self.endpoint, credentials=credentials, always_use_jwt_access=False
            )
            self._client = KeyManagementServiceClient(transport=transport)
        return self._client

    def sign(self, payload: bytes) -> str:
        """The base64 DER signature of `payload`, made by KMS."""
        import google_crc32c

        digest = hashlib.sha256(payload).digest()
        request = {
            "name": self.name,
            "digest": {"sha256": digest},
            "digest_crc32c": {"value": google_crc32c.value(digest)},
        }
        answer = self._call("AsymmetricSign", lambda: self.client.asymmetric_sign(request=request))
        signature = bytes(answer.signature)
        intact = (
            answer.verified_digest_crc32c
            and answer.name == self.name
            and answer.signature_crc32c == google_crc32c.value(signature)
        )
        if not intact:
            raise ExternalServiceError(
                f"Cloud KMS's signature for {self.name} failed its integrity checks (CRC32C)",
                hint="retry; a corrupted answer is transient",
            )
        return base64.b64encode(signature).decode()

    def public_key(self) -> EllipticCurvePublicKey:
        """The key version's public key (GetPublicKey), which must be EC P-256 / SHA-256."""
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        answer = self._call(
            "GetPublicKey", lambda: self.client.get_public_key(request={"name": self.name})
        )
        if int(answer.algorithm) != EC_SIGN_P256_SHA256:
            raise ConfigError(
                f"the KMS key {self.name} is {answer.algorithm.name}, not EC_SIGN_P256_SHA256",
                hint="create an asymmetric-signing key version with algorithm ec-sign-p256-sha256",
            )
        key = load_pem_public_key(answer.pem.encode())
        if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover - checked above
            raise ConfigError(f"the KMS key {self.name} is not an EC key")
        return key

    def _call(self, what: str, call: Any) -> Any:
        from google.api_core import exceptions

        try:
            return call()
        except (
            exceptions.Forbidden,
            exceptions.PermissionDenied,
            exceptions.Unauthenticated,
        ) as err:
            raise AuthError(
                f"Cloud KMS refused {what} on {self.name}: {err.message}",
                hint="grant roles/cloudkms.signerVerifier on the key to the release identity",
            ) from err
        except exceptions.NotFound as err:
            raise ConfigError(
                f"there is no KMS key version {self.name}", hint="check kms_key"
            ) from err
        except exceptions.GoogleAPIError as err:
            raise ExternalServiceError(f"Cloud KMS {what} failed: {err}") from err
