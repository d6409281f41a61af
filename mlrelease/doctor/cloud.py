"""The remote checks: `credentials` (they parse and refresh), `repository` (it exists, holds
Docker images; its tag mutability), `permission` (uploads are allowed).

They run concurrently and share (`Remote.shared`) one resolution of the credentials and one
client per doctor run, so the token endpoint is asked once. On a plain registry (no
`gcp_project`, an explicit `registry_host`) `repository` checks that the registry answers and
the others skip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.doctor.frame import Outcome, Remote, Unavailable, fail, ok, skip, warn
from mlrelease.errors import MlreleaseError

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials
    from mlrelease.registry.artifact_registry import ArtifactRegistry


def _credentials(settings: Settings) -> GoogleCredentials | MlreleaseError:
    from mlrelease.credentials import access_token, resolve_credentials

    try:
        creds = resolve_credentials(settings)
        access_token(creds)
    except MlreleaseError as err:
        return err
    return creds


def working_credentials(remote: Remote) -> GoogleCredentials:
    """The run's credentials, resolved and refreshed once for all the remote checks; those
    that need them skip (Unavailable) when they do not work, which `credentials` reports."""
    creds = remote.shared("credentials", lambda: _credentials(remote.settings))
    if isinstance(creds, MlreleaseError):
        raise Unavailable("the credentials do not work (see credentials)")
    return creds


def _registry(remote: Remote) -> ArtifactRegistry:
    from mlrelease.registry.artifact_registry import ArtifactRegistry

    creds = working_credentials(remote)
    return remote.shared("registry", lambda: ArtifactRegistry(remote.settings, creds))


def _destination(settings: Settings, *, report: bool = False) -> Outcome | None:
    """An outcome when there is no Artifact Registry to check, else None. A missing
    destination is reported once, by `repository` (`report`); the others skip."""
    if settings.gcp_project:
        return None
    if not settings.has_destination:
        if not report:
            return skip("no release destination is configured (see repository)")
        return warn(
            "no release destination: neither gcp_project nor registry_host is set",
            "set gcp_project in [tool.mlrelease] (or GCP_PROJECT), with region and repository",
        )
    return skip(f"releases go to the plain registry {settings.registry_host}")


def check_credentials(remote: Remote) -> Outcome:
    """The credentials resolve and the token endpoint gives a token; report the identity."""
    if (outcome := _destination(remote.settings)) is not None:
        return outcome
    creds = remote.shared("credentials", lambda: _credentials(remote.settings))
    if isinstance(creds, MlreleaseError):
        return fail(creds.message, creds.hint)
    return ok(creds.describe())


def check_repository(remote: Remote) -> Outcome:
    """The repository exists in the region with the Docker format; its tags' mutability."""
    settings = remote.settings
    if (outcome := _destination(settings, report=True)) is not None:
        if outcome.status != "skip":
            return outcome
        from mlrelease.registry.v2 import RegistryClient

        try:
            RegistryClient(settings.registry_host, timeout_s=settings.request_timeout_s).ping()
        except MlreleaseError as err:
            return fail(err.message, err.hint)
        return ok(f"the registry {settings.registry_host} answers")
    registry = _registry(remote)
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
    if not info.immutable_tags:
        # A mutable tag can be moved by any later push: a release tag should name one image.
        return warn(
            f"{where}: Docker format, but its tags are mutable: a push can move a release tag",
            f"make them immutable: gcloud artifacts repositories update {settings.repository} "
            f"--location={settings.region} --project={settings.gcp_project} --immutable-tags",
        )
    return ok(f"{where}: Docker format, immutable tags")


def check_permission(remote: Remote) -> Outcome:
    """The credentials may upload to the repository."""
    if (outcome := _destination(remote.settings)) is not None:
        return outcome
    from mlrelease.registry.artifact_registry import UPLOAD_PERMISSION

    registry = _registry(remote)
    try:
        missing = registry.missing_permissions([UPLOAD_PERMISSION])
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    who = registry.identity or "the caller"
    if missing:
        return fail(f"{who} lacks {UPLOAD_PERMISSION}", registry.grant_hint())
    return ok(f"{who} may upload ({UPLOAD_PERMISSION})")
