"""Keys, certificates and JWTs: what Google and the registry token service sign and verify."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# Planted in every secret the emulator issues (private keys, access tokens, request tokens), so
# that a test session can prove none of them leaked into captured output.
CANARY = "mlrelease-canary-5d1e7b"


class InvalidToken(Exception):
    """A JWT whose form, signature or claims do not hold."""


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM as Google issues it, with the canary after the end line (parsers ignore it)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return f"{pem}{CANARY}\n"


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key


def same_key(a: rsa.RSAPublicKey, b: rsa.RSAPublicKey) -> bool:
    return a.public_numbers() == b.public_numbers()


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key ID distribution derives from a certificate's public key (docker/libtrust)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def self_signed_cert(key: rsa.RSAPrivateKey, common_name: str) -> bytes:
    """A PEM certificate for the registry's rootcertbundle."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def random_id(nbytes: int = 20) -> str:
    return secrets.token_hex(nbytes)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def jwt_header(token: str) -> dict[str, Any]:
    """The unverified header, to find the key a token claims to be signed with."""
    try:
        header = json.loads(_unb64url(token.split(".")[0]))
    except (ValueError, IndexError) as err:
        raise InvalidToken("not a JWT") from err
    if not isinstance(header, dict):
        raise InvalidToken("not a JWT")
    return header


def verify_jwt(token: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The claims of an RS256 JWT whose signature holds and that has not expired."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        claims = json.loads(_unb64url(claims_b64))
        signature = _unb64url(signature_b64)
    except ValueError as err:
        raise InvalidToken("not a JWT") from err
    if jwt_header(token).get("alg") != "RS256":
        raise InvalidToken("not RS256")
    try:
        public_key.verify(
            signature,
            f"{header_b64}.{claims_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as err:
        raise InvalidToken("bad signature") from err
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < datetime.datetime.now(datetime.UTC).timestamp():
        raise InvalidToken("expired")
    return claims
