"""GarEmulator: Google's token endpoints and Artifact Registry API on one port, and GAR's
registry host (token service plus a fault-injecting proxy to a real registry) on another."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from tests.emulator import google_errors
from tests.emulator.artifact_registry import ArtifactRegistryApi
from tests.emulator.attachments import AttachmentsApi
from tests.emulator.distribution import Distribution, RegistrySigner
from tests.emulator.http import EmulatorServer, Response, Route
from tests.emulator.keys import CANARY, new_rsa_key, private_key_pem, random_id
from tests.emulator.registry_auth import RegistryTokenService
from tests.emulator.registry_proxy import RegistryProxyServer, registry_router
from tests.emulator.registry_storage import RegistryStorage
from tests.emulator.state import Repository, State
from tests.emulator.tokens import (
    IAM_PREFIX,
    JWT_TOKEN_TYPE,
    OIDC_PATH,
    STS_PATH,
    TOKEN_PATH,
    TokenService,
)

DEFAULT_ACCOUNT = "ci@test-project.iam.gserviceaccount.com"
PROJECT_NUMBER = "123456789012"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GarEmulator:
    """Google, as far as mlrelease meets it, on two free 127.0.0.1 ports.

    `token_uri` and `api_endpoint` (port P): the OAuth token endpoint, STS, IAM credentials, a
    GitHub-style OIDC token URL, and the Artifact Registry API v1 (mlrelease's gar_endpoint).
    `registry_host` (port Q): where the engine pushes `Q/PROJECT/REPOSITORY/IMAGE:TAG`; the
    registry token service at /v2/token and a proxy to a real distribution registry.
    The API serves repositories (get, patch with cleanup policies), dockerImages, packages,
    versions and tags (create, get, list, patch, delete), operations and testIamPermissions,
    all read from and done to what the registry stores.
    Start with `GarEmulator(registry_binary, workdir)`; `stop()` when done.
    """

    project = "test-project"
    location = "us-central1"

    def __init__(self, registry_binary: str, workdir: Path) -> None:
        self._state = State(self.project, self.location)
        self.pool_audience = (
            f"//iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/"
            "workloadIdentityPools/github/providers/github"
        )
        self._tokens = TokenService(self._state, self.pool_audience)
        signer = RegistrySigner(service=f"{self.location}-docker.pkg.dev", issuer="gar-emulator")
        # Both servers bind port 0 now; the registry's realm must name the proxy's port.
        self._api_server = EmulatorServer(0, self._state, self._api_route)
        self._registry_server = RegistryProxyServer(
            self._state, registry_router(RegistryTokenService(self._state, signer))
        )
        self.api_endpoint = f"http://127.0.0.1:{self._api_server.server_port}"
        self.token_uri = self.api_endpoint + TOKEN_PATH
        self.registry_host = f"127.0.0.1:{self._registry_server.server_port}"
        registry_port = free_port()
        try:
            self._registry = Distribution(
                registry_binary,
                workdir,
                registry_port,
                realm=f"http://{self.registry_host}/v2/token",
                signer=signer,
            )
        except BaseException:
            self._api_server.server_close()
            self._registry_server.server_close()
            raise
        self._registry_server.upstream = ("127.0.0.1", registry_port)
        self._registry_server.registry = self._registry
        self._api = ArtifactRegistryApi(
            self._state,
            self._registry,
            RegistryStorage(self._registry.data_root),
            f"{self.location}-docker.pkg.dev",
        )
        self._attachments = AttachmentsApi(self._state, self._registry)
        self._api_server.start()
        self._registry_server.start()

    def stop(self) -> None:
        """Stop both servers and the registry; held requests are let go, never waited for."""
        self._state.faults.release()
        self._api_server.stop()
        self._registry_server.stop()
        self._registry.stop()

    def _api_route(self, method: str, path: str) -> Route:
        if path == TOKEN_PATH:
            return Route("token", self._tokens.oauth_token, _oauth_fault, hangs="token")
        if path == STS_PATH:
            return Route("token", self._tokens.sts_token, _oauth_fault, hangs="token")
        if path.startswith(IAM_PREFIX):
            return Route(
                "token",
                self._tokens.generate_access_token,
                google_errors.unavailable,
                hangs="token",
            )
        if path == OIDC_PATH:
            return Route("oidc", self._tokens.oidc_token)
        if self._attachments.handles(method, path):
            return Route("api", self._attachments.handle, google_errors.unavailable, hangs="api")
        return Route("api", self._api.handle, google_errors.unavailable, hangs="api")

    @property
    def registry_log(self) -> Path:
        """The distribution registry's own log (its access log and errors)."""
        return self._registry.log_path

    @property
    def requests(self) -> list[tuple[str, str, str, int]]:
        """(target, method, path, status) of every request so far; no query strings, no secrets.
        A dropped connection is logged with status 0."""
        return self._state.requests

    # Credentials
    def service_account_key(self, email: str = DEFAULT_ACCOUNT) -> dict[str, Any]:
        """A new key JSON as Google issues it; its token_uri points here."""
        key = new_rsa_key()
        key_id = random_id(20)
        self._state.register_key(key_id, email, key.public_key())
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": key_id,
            "private_key": private_key_pem(key),
            "client_email": email,
            "client_id": str(int(key_id[:15], 16)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
            "universe_domain": "googleapis.com",
        }

    def authorized_user_info(self, email: str = "dev@example.com") -> dict[str, Any]:
        """What `gcloud auth application-default login` writes; its token_uri points here."""
        return {
            "type": "authorized_user",
            "client_id": f"{random_id(6)}.apps.googleusercontent.com",
            "client_secret": f"{CANARY}-{random_id(8)}",
            "refresh_token": self._state.issue_refresh_token(email),
            "token_uri": self.token_uri,
            "quota_project_id": self.project,
        }

    def external_account_file(
        self, workdir: Path, impersonate: str | None = DEFAULT_ACCOUNT
    ) -> Path:
        """Writes `workdir/gha-creds-ID.json` as google-github-actions/auth does; returns it."""
        request_url = f"{self.api_endpoint}{OIDC_PATH}?api-version=2.0"
        info: dict[str, Any] = {
            "type": "external_account",
            "audience": self.pool_audience,
            "subject_token_type": JWT_TOKEN_TYPE,
            "token_url": self.api_endpoint + STS_PATH,
            "credential_source": {
                "url": f"{request_url}&audience=https:{self.pool_audience}",
                "headers": {"Authorization": f"Bearer {self._tokens.new_request_token()}"},
                "format": {"type": "json", "subject_token_field_name": "value"},
            },
        }
        if impersonate:
            info["service_account_impersonation_url"] = (
                f"{self.api_endpoint}{IAM_PREFIX}{impersonate}:generateAccessToken"
            )
        path = workdir / f"gha-creds-{random_id(8)}.json"
        path.write_text(json.dumps(info, indent=2))
        return path

    def external_account_info(
        self, workdir: Path, impersonate: str | None = DEFAULT_ACCOUNT
    ) -> dict[str, Any]:
        """The external_account credentials dict (also written to workdir, see above)."""
        return json.loads(self.external_account_file(workdir, impersonate).read_text())

    def revoke_key(self, key: dict[str, Any]) -> None:
        """The token endpoint answers invalid_grant for this key from now on."""
        self._state.revoke_key(key["private_key_id"])

    def revoke_tokens(self) -> None:
        """Access, refresh and registry tokens issued so far stop working (401)."""
        self._state.revoke_tokens()

    # Repositories and IAM
    def add_repository(
        self, repository: str, *, format: str = "DOCKER", immutable_tags: bool = False
    ) -> None:
        self._state.repositories[repository] = Repository(repository, format, immutable_tags)

    def remove_repository(self, repository: str) -> None:
        self._state.repositories.pop(repository, None)

    def deny(self, permission: str) -> None:
        """Every caller lacks `permission` (testIamPermissions omits it; the API and the
        registry token service refuse what needs it with 403), from the next request on: a
        permission revoked mid-run."""
        self._state.denied.add(permission)

    def grant(self, permission: str) -> None:
        """Undo `deny(permission)`."""
        self._state.denied.discard(permission)

    def denies(self, permission: str) -> bool:
        """Whether `deny(permission)` is in force (for services emulated beside this one)."""
        return permission in self._state.denied

    def identity_of(self, access_token: str) -> str | None:
        """Who an access token this emulator issued belongs to, while it is valid."""
        return self._state.identity_of(access_token)

    def caller(self, bearer: str) -> str | None:
        """Who a bearer credential stands for, as Google's APIs here accept it: a valid access
        token's holder, or the signer of a self-signed JWT made with a key issued here."""
        return self._state.caller(bearer)

    # Faults
    def fail_next(
        self, n: int, *, target: str = "registry", status: int = 503, drop: bool = False
    ) -> None:
        """The next n requests to `target` get `status` with an error body, or, with drop, a
        closed connection. "registry": manifest requests through the registry host; "push": the
        engine's manifest PUTs only (a push fails, reads do not); "registry-token": the registry
        token service (/v2/token); "api": the Artifact Registry API; "token": the OAuth, STS and
        generateAccessToken endpoints."""
        self._state.faults.fail_next(n, target, status, drop)

    def hang_next(
        self, n: int, *, target: str = "api", seconds: float | None = None, after: int = 0
    ) -> None:
        """After `after` more requests to `target` pass, the next n are accepted and get no
        answer for `seconds`, or
        until `release()` (None: until released, at most faults.MAX_HANG_S); then they are
        served as usual, if the client still waits. "api": the Artifact Registry API frozen;
        "token": the OAuth, STS and generateAccessToken endpoints; "registry-token": the
        registry token service; "registry": blob upload PATCH/PUT requests through the registry
        host, stalled after their first chunk of body (an upload paused mid-way)."""
        self._state.faults.hang_next(n, target, seconds, after)

    def held(self, target: str = "api") -> int:
        """How many requests to `target` are being held by a hang right now."""
        return self._state.faults.held(target)

    def release(self) -> None:
        """End every hang at once, held or still queued."""
        self._state.faults.release()

    def reset(self) -> None:
        """Repository "docker" only, everything granted, no faults or hangs, no key revoked.
        What the registry stores stays."""
        self._state.reset()

    def tags(self, repository: str, image: str) -> list[str]:
        """The tags of `P/REPOSITORY/IMAGE` in the real registry."""
        return self._registry.tags(f"{self.project}/{repository}/{image}")

    def incomplete_tags(self, repository: str, image: str) -> list[str]:
        """The tags of `P/REPOSITORY/IMAGE` whose manifest names a config or layer blob the
        registry does not hold (an image that never fully landed)."""
        import json as json_module

        name = f"{self.project}/{repository}/{image}"
        incomplete = []
        for tag in self._registry.tags(name):
            raw = self._registry.raw_manifest(name, tag)
            if raw is None:
                incomplete.append(tag)
                continue
            document = json_module.loads(raw.body)
            blobs = [document.get("config") or {}, *document.get("layers", [])]
            if any(self._registry.blob(name, blob.get("digest", "")) is None for blob in blobs):
                incomplete.append(tag)
        return incomplete

    def tag_digest(self, repository: str, image: str, tag: str) -> str | None:
        """The digest `P/REPOSITORY/IMAGE:TAG` points to in the real registry, if any."""
        return self._registry.digest(f"{self.project}/{repository}/{image}", tag)


def _oauth_fault(status: int) -> Response:
    return google_errors.oauth_error(status, "internal_failure", "Backend Error")
