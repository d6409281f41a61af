"""The remote checks: `credentials` (they parse and refresh), `repository` (it exists, holds
Docker images; its tag mutability), `permission` (uploads are allowed).

They run concurrently and share one resolution of the credentials and one client per doctor
run, so the token endpoint is asked once. On a plain registry (no `gcp_project`, an explicit
`registry_host`) `repository` checks that the registry answers and the others skip.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from mlrelease.doctor.frame import Outcome, Unavailable, fail, ok, skip, warn
from mlrelease.errors import MlreleaseError

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.artifact_registry import ArtifactRegistry
    from mlrelease.registry.credentials import GoogleCredentials


class _Cloud:
    """What the remote checks of one run share, each piece made once under a lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()

    @cached_property
    def credentials(self) -> GoogleCredentials | MlreleaseError:
        from mlrelease.registry.credentials import access_token, resolve_credentials

        try:
            creds = resolve_credentials(self.settings)
            access_token(creds)
        except MlreleaseError as err:
            return err
        return creds

    @cached_property
    def registry(self) -> ArtifactRegistry:
        from mlrelease.registry.artifact_registry import ArtifactRegistry

        creds = self.credentials
        if isinstance(creds, MlreleaseError):
            raise Unavailable("the credentials do not work (see credentials)")
        return ArtifactRegistry(self.settings, creds)


# Keyed by the Settings object of a run (held by its _Cloud, so its id is never reused).
_runs: dict[int, _Cloud] = {}
_runs_lock = threading.Lock()


def _cloud(settings: Settings) -> _Cloud:
    with _runs_lock:
        if id(settings) not in _runs:
            _runs[id(settings)] = _Cloud(settings)
        return _runs[id(settings)]


def _shared(settings: Settings, name: str) -> object:
    cloud = _cloud(settings)
    with cloud.lock:
        return getattr(cloud, name)


def _destination(settings: Settings, *, report: bool = False) -> Outcome | None:
    """An outcome when there is no Artifact Registry to check, else None. A missing
    destination is reported once, by `repository` (`report`); the others skip."""
    if settings.gcp_project:
        return None
    if settings.source("registry_host").startswith("default"):
        if not report:
            return skip("no release destination is configured (see repository)")
        return warn(
            "no release destination: neither gcp_project nor registry_host is set",
            "set gcp_project in [tool.mlrelease] (or GCP_PROJECT), with region and repository",
        )
    return skip(f"releases go to the plain registry {settings.registry_host}")


def check_credentials(settings: Settings) -> Outcome:
    """The credentials resolve and the token endpoint gives a token; report the identity."""
    if (outcome := _destination(settings)) is not None:
        return outcome
    creds = _shared(settings, "credentials")
    if isinstance(creds, MlreleaseError):
        return fail(creds.message, creds.hint)
    return ok(creds.describe())  # type: ignore[attr-defined]


def check_repository(settings: Settings) -> Outcome:
    """The repository exists in the region with the Docker format; its tags' mutability."""
    if (outcome := _destination(settings, report=True)) is not None:
        if outcome.status != "skip":
            return outcome
        from mlrelease.registry.v2 import RegistryClient

        try:
            RegistryClient(settings.registry_host).ping()
        except MlreleaseError as err:
            return fail(err.message, err.hint)
        return ok(f"the registry {settings.registry_host} answers")
    registry: ArtifactRegistry = _shared(settings, "registry")  # type: ignore[assignment]
    try:
        info = registry.get_repository()
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    where = f"{settings.repository} in {settings.gcp_project}/{settings.region}"
    if info.format not in ("DOCKER", "FORMAT_UNSPECIFIED"):
        return fail(
            f"{where} holds {info.format} artifacts, not Docker images",
            registry.create_hint() + " (or set `repository` to a Docker repository)",
        )
    tags = "immutable tags" if info.immutable_tags else "mutable tags"
    return ok(f"{where}: Docker format, {tags}")


def check_permission(settings: Settings) -> Outcome:
    """The credentials may upload to the repository."""
    if (outcome := _destination(settings)) is not None:
        return outcome
    from mlrelease.registry.artifact_registry import UPLOAD_PERMISSION

    registry: ArtifactRegistry = _shared(settings, "registry")  # type: ignore[assignment]
    try:
        missing = registry.missing_permissions([UPLOAD_PERMISSION])
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    who = registry.identity or "the caller"
    if missing:
        return fail(f"{who} lacks {UPLOAD_PERMISSION}", registry.grant_hint())
    return ok(f"{who} may upload ({UPLOAD_PERMISSION})")
