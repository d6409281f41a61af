"""What the emulated Google knows: accounts' keys, issued tokens, repositories, IAM, faults."""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator.keys import CANARY, random_id

TOKEN_LIFETIME_S = 3599
FAULT_TARGETS = ("registry", "push", "api", "token")


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Repository:
    name: str
    format: str
    immutable_tags: bool
    created: datetime.datetime = field(default_factory=now)


@dataclass(frozen=True)
class Fault:
    status: int
    drop: bool


@dataclass(frozen=True)
class AccessToken:
    identity: str  # a service account's email, or a federated principal
    expires: float  # time.time()


class State:
    """Shared by the emulator's servers. Methods take the lock; `repositories` and `denied` are
    changed by the test's thread only, between requests, and replaced whole by reset()."""

    def __init__(self, project: str, location: str) -> None:
        self.project = project
        self.location = location
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}  # key id -> (email, public key)
        self._revoked_keys: set[str] = set()
        self._tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> identity
        self._registry_token_ids: set[str] = set()
        self._faults: dict[str, list[Fault]] = {}
        self.repositories: dict[str, Repository] = {}
        self.denied: set[str] = set()
        self.uploads: dict[str, dict[str, datetime.datetime]] = {}  # image name -> digest -> time
        self.requests: list[tuple[str, str, str, int]] = []
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.repositories = {"docker": Repository("docker", "DOCKER", False)}
            self.denied = set()
            self._faults = {}
            self._revoked_keys = set()
            self.requests.clear()

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

    # Faults and the request log
    def fail_next(self, n: int, target: str, status: int, drop: bool) -> None:
        if target not in FAULT_TARGETS:
            raise ValueError(f"target must be one of {FAULT_TARGETS}, not {target!r}")
        with self._lock:
            self._faults.setdefault(target, []).extend([Fault(status, drop)] * n)

    def take_fault(self, target: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(target)
            return queue.pop(0) if queue else None

    def log(self, target: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((target, method, path, status))

    def record_upload(self, image: str, digest: str) -> None:
        with self._lock:
            self.uploads.setdefault(image, {})[digest] = now()

    def upload_time(self, image: str, digest: str) -> datetime.datetime | None:
        with self._lock:
            return self.uploads.get(image, {}).get(digest)
