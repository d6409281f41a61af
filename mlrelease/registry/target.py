"""Where releases go: Artifact Registry (through its API, with Google credentials) or a plain
registry speaking the Docker Registry HTTP API v2 (no `gcp_project`, an explicit
`registry_host`, no credentials).

`open_target` resolves everything a push needs before a byte moves; `preflight` then checks the
target through its API: the repository exists and takes uploads (GAR), or the registry answers.
`create_tag` and `point_tag` write tags: through the Artifact Registry API, whose tag creation
refuses a tag that exists (the atomic step of a push), or the Registry API v2's manifest PUT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import ConfigError, PreconditionError
from mlrelease.refs import ImageRef
from mlrelease.registry.v2 import Manifest, RegistryClient
from mlrelease.secrets import Secret

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials
    from mlrelease.registry.artifact_registry import ArtifactRegistry, RemoteImage

GAR_USERNAME = "oauth2accesstoken"


@dataclass
class Target:
    """A release destination: its image repository and the clients that reach it."""

    repository: ImageRef  # HOST/PATH, no tag
    registry: RegistryClient
    gar: ArtifactRegistry | None = None  # None on a plain registry
    credentials_source: str | None = None
    token: Secret | None = field(default=None, repr=False)
    immutable_tags: bool = False
    credentials: GoogleCredentials | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "artifact-registry" if self.gar else "registry"

    def ref(self, tag: str) -> ImageRef:
        return self.repository.with_tag(tag)

    def auth_config(self, refresh: bool = False) -> dict[str, str] | None:
        """Credentials for one docker-py call (never written to Docker's config); `refresh`
        gets a new access token first (one the registry refused as expired or revoked)."""
        if refresh and self.credentials is not None:
            from mlrelease.credentials import access_token

            self.token = access_token(self.credentials).value
            self.registry.refresh(GAR_USERNAME, self.token)
        if self.token is None:
            return None
        return {"username": GAR_USERNAME, "password": self.token.reveal()}

    @property
    def atomic_tags(self) -> bool:
        """Whether a tag can be created so that an existing one is refused, not replaced:
        Artifact Registry's tag creation can; a plain registry's manifest PUT cannot."""
        return self.gar is not None

    def create_tag(self, tag: str, manifest: Manifest) -> str | None:
        """Create `tag` at `manifest` unless it exists; the digest it already held (None:
        created). On a plain registry the check and the write are two requests."""
        if self.gar is not None:
            return self.gar.create_tag(tag, manifest.digest)
        held = self.manifest(tag)
        if held is not None:
            return held.digest
        self.registry.put_manifest(self.repository.path, tag, manifest)
        return None

    def point_tag(self, tag: str, manifest: Manifest) -> None:
        """Point `tag` at `manifest`, creating or moving it (aliases, --force)."""
        self.registry.put_manifest(self.repository.path, tag, manifest)

    def delete_tag(self, tag: str) -> None:
        """Remove `tag` (Artifact Registry; a plain registry cannot remove a tag alone)."""
        if self.gar is not None:
            self.gar.delete_tag(tag)

    def preflight(self) -> None:
        """GAR: the repository exists with the Docker format and uploads are allowed (this
        records whether tags are immutable). A plain registry: it answers."""
        if self.gar is None:
            self.registry.ping()
            return
        info = self.gar.get_repository()
        if info.format not in ("DOCKER", "FORMAT_UNSPECIFIED"):
            raise PreconditionError(
                f"the repository {info.name} holds {info.format} artifacts, not Docker images",
                hint=self.gar.create_hint() + " (or set `repository` to a Docker repository)",
            )
        self.immutable_tags = info.immutable_tags
        self.gar.require_upload_permission()

    def manifest(self, tag: str) -> Manifest | None:
        """The manifest the registry holds under `tag` (None: the tag is free)."""
        return self.registry.manifest(self.repository.path, tag)

    def image_labels(self, digest: str) -> dict[str, str]:
        """The labels in the image config of the manifest `digest` ({} for an index, or an
        image without labels)."""
        import json

        found = self.registry.manifest(self.repository.path, digest)
        if found is None or not found.config_digest:
            return {}
        config = self.registry.blob(self.repository.path, found.config_digest, max_bytes=4 << 20)
        if config is None:
            return {}
        document = json.loads(config)
        return dict((document.get("config") or {}).get("Labels") or {})

    def tags(self) -> list[str]:
        """Every tag of the release repository (for the aliases, which only move forward)."""
        return self.registry.tags(self.repository.path)

    def resolve(self, tag: str) -> str | None:
        """The digest `tag` points at, through the Artifact Registry API when there is one."""
        if self.gar is not None:
            return self.gar.tag_digest(tag)
        found = self.manifest(tag)
        return found.digest if found else None

    def images(self) -> list[RemoteImage]:
        """Every image in the repository, with its tags, digest, size and upload time."""
        if self.gar is not None:
            return self.gar.list_images()
        from mlrelease.registry.artifact_registry import RemoteImage

        by_digest: dict[str, tuple[Manifest, list[str]]] = {}
        for tag in self.registry.tags(self.repository.path):
            found = self.manifest(tag)
            if found is not None:
                by_digest.setdefault(found.digest, (found, []))[1].append(tag)
        return [
            RemoteImage(
                uri=str(self.repository.with_digest(digest)),
                digest=digest,
                tags=tuple(sorted(tags)),
                compressed_size_bytes=manifest.compressed_size_bytes,
                upload_time=None,  # the v2 API does not say
            )
            for digest, (manifest, tags) in by_digest.items()
        ]


def require_destination(settings: Settings) -> None:
    """ConfigError unless the settings name where releases go."""
    if not settings.has_destination:
        raise ConfigError(
            "no release destination: neither gcp_project nor registry_host is set",
            hint="set gcp_project (Artifact Registry) or registry_host (a plain registry, "
            "e.g. MLRELEASE_REGISTRY_HOST=127.0.0.1:5000)",
        )


def open_target(settings: Settings, *, key_file: Path | None = None) -> Target:
    """The release destination `settings` name, with a fresh access token for GAR."""
    require_destination(settings)
    repository = release_repository(settings)
    timeout_s, attempts = settings.request_timeout_s, settings.attempts
    if not settings.gcp_project:
        registry = RegistryClient(settings.registry_host, timeout_s=timeout_s, attempts=attempts)
        return Target(repository, registry)
    from mlrelease.credentials import access_token, resolve_credentials
    from mlrelease.registry.artifact_registry import ArtifactRegistry

    credentials = resolve_credentials(settings, key_file=key_file)
    token = access_token(credentials)
    registry = RegistryClient(
        settings.registry_host,
        username=GAR_USERNAME,
        password=token.value,
        timeout_s=timeout_s,
        attempts=attempts,
    )
    return Target(
        repository,
        registry,
        gar=ArtifactRegistry(settings, credentials),
        credentials_source=credentials.describe(),
        token=token.value,
        credentials=credentials,
    )


def release_repository(settings: Settings) -> ImageRef:
    """Where releases go, without a tag: `registry_host/PROJECT/REPOSITORY/IMAGE` in Artifact
    Registry, `registry_host/IMAGE` on a plain registry (no `gcp_project`)."""
    if settings.gcp_project:
        # A domain-scoped project (example.com:proj) is a path of two components in GAR.
        path = f"{settings.gcp_project.replace(':', '/')}/{settings.repository}/{settings.image}"
    else:
        path = settings.image
    return ImageRef(settings.registry_host, path)
