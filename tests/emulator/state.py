"""What the emulated Google knows: accounts' keys, issued tokens, repositories, IAM, faults.
Images, tags and versions are not kept here: they are read from the registry each time."""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator.faults import Faults
from tests.emulator.keys import CANARY, InvalidToken, jwt_header, random_id, verify_jwt

TOKEN_LIFETIME_S = 3599


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def rfc3339(moment: datetime.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ`, the year in four digits: strftime's %Y gives `1` for an
    image created at the zero time (0001-01-01, as reproducible builds set it)."""
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.%fZ")


@dataclass
class Repository:
    name: str
    format: str
    immutable_tags: bool
    created: datetime.datetime = field(default_factory=now)
    updated: datetime.datetime = field(default_factory=now)
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    cleanup_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> as stored
    cleanup_policy_dry_run: bool = False


@dataclass(frozen=True)
class AccessToken:
    identity: str  # a service account's email, or a federated principal
    expires: float  # time.time()


class State:
    """Shared by the emulator's servers. Methods take the lock; `repositories` and `denied` are
    changed by the test's thread between requests (and a repository's own fields by
    repositories.patch), and replaced whole by reset().
    `tag_lock` makes a tag's check-then-write atomic between the API and the registry proxy."""

    def __init__(self, project: str, location: str) -> None:
        self.project = project
        self.location = location
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}  # key id -> (email, public key)
        self._revoked_keys: set[str] = set()
        self._tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> identity
        self._registry_token_ids: set[str] = set()
        self.faults = Faults()
        self.tag_lock = threading.RLock()
        self.repositories: dict[str, Repository] = {}
        self.denied: set[str] = set()
        self.requests: list[tuple[str, str, str, int]] = []
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.repositories = {"docker": Repository("docker", "DOCKER", False)}
            self.denied = set()
            self._revoked_keys = set()
            self.requests.clear()
        self.faults.clear()

    # Keys and tokens
    def register_key(self, key_id: str, email: str, public_key: rsa.RSAPublicKey) -> None:
        with self._lock:
            self._keys[key_id] = (email, public_key)

    def revoke_key(self, key_id: str) -> None:
        with self._lock:
            self._revoked_keys.add(key_id)

    def key(self, key_id: str) -> tuple[str, rsa.RSAPublicKey] | None:
        """The account and public key for a key ID, unless unknown or revoked."""
        with self._lock:
            if key_id in self._revoked_keys:
                return None
            return self._keys.get(key_id)

    def issue_token(self, identity: str) -> str:
        token = f"ya29.{CANARY}-{random_id(24)}"
        with self._lock:
            self._tokens[token] = AccessToken(identity, time.time() + TOKEN_LIFETIME_S)
        return token

    def identity_of(self, token: str) -> str | None:
        """Who an access token was issued to, if it is still valid."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires < time.time():
            return None
        return issued.identity

    def caller(self, bearer: str) -> str | None:
        """Who sent a bearer credential: the holder of a valid access token, or the account
        whose registered key signed a self-signed JWT (what Google's client libraries send for
        a service account by default); None for anything else."""
        identity = self.identity_of(bearer)
        if identity is not None or bearer.count(".") != 2:
            return identity
        try:
            registered = self.key(str(jwt_header(bearer).get("kid", "")))
            if registered is None:
                return None
            email, public_key = registered
            claims = verify_jwt(bearer, public_key)
        except InvalidToken:
            return None
        return email if claims.get("iss") == email == claims.get("sub") else None

    def issue_refresh_token(self, identity: str) -> str:
        token = f"1//{CANARY}-{random_id(24)}"
        with self._lock:
            self._refresh_tokens[token] = identity
        return token

    def refresh_identity(self, token: str) -> str | None:
        with self._lock:
            return self._refresh_tokens.get(token)

    def add_registry_token(self, token_id: str) -> None:
        with self._lock:
            self._registry_token_ids.add(token_id)

    def registry_token_valid(self, token_id: str) -> bool:
        with self._lock:
            return token_id in self._registry_token_ids

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._refresh_tokens.clear()
            self._registry_token_ids.clear()

    # The request log
    def log(self, target: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((target, method, path, status))
