"""Push a release and prove that what landed is what was built; list the releases.

`push_release` runs, in order and stopping at the first failure:
1. what may be pushed: a `vX.Y.Z` tag that exists in git, and a local image built from that tag's
   commit on a clean tree (its revision label says so);
2. the target's preflight (repository, upload permission, or a plain registry that answers);
3. the tag in the registry: absent (push), the same image (nothing to push), another image
   (refused unless `--force`, never on immutable tags);
4. the push, with per-call credentials, every stream item checked, transient failures retried;
5. verification: the tag resolves, through the API, to the digest the engine reported;
6. the aliases (`tag_aliases`: major, minor, latest), for stable versions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import PreconditionError, RegistryError, UsageError
from mlrelease.registry.engine_push import PushEvent, push_with_retry
from mlrelease.results import PushResult, ReleaseEntry, ReleasesResult
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import Version, parse_tag

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.refs import ImageRef
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest

REVISION_LABEL = "org.opencontainers.image.revision"
DIRTY_LABEL = "org.mlrelease.dirty"


@dataclass(frozen=True)
class LocalImage:
    """The local image of a release, checked against its git tag."""

    name: str  # the local reference found, e.g. ml-service:v1.2.0
    image_id: str
    commit: str


def find_local_image(
    settings: Settings, tag: str, commit: str, client: docker.DockerClient
) -> LocalImage:
    """`IMAGE:vX.Y.Z` (or `IMAGE:sha-<7>` of the tag's commit) built from `commit` on a clean
    tree; PreconditionError with the command that builds it otherwise."""
    from docker.errors import ImageNotFound

    rebuild = f"git checkout {tag} && mlrelease build"
    for name in (f"{settings.image}:{tag}", f"{settings.image}:sha-{commit[:7]}"):
        try:
            image = client.images.get(name)
        except ImageNotFound:
            continue
        labels = image.labels or {}
        if labels.get(DIRTY_LABEL):
            raise PreconditionError(
                f"{name} was built from a working tree with uncommitted changes", hint=rebuild
            )
        built_from = labels.get(REVISION_LABEL)
        if built_from != commit:
            raise PreconditionError(
                f"{name} was built from commit {(built_from or 'unknown')[:7]}, "
                f"but {tag} is commit {commit[:7]}",
                hint=rebuild,
            )
        return LocalImage(name, image.id, commit)
    raise PreconditionError(
        f"no local image of {tag}: {settings.image}:{tag} is not built", hint=rebuild
    )


def push_release(
    settings: Settings,
    tag: str,
    *,
    key_file: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[PushEvent], None] = lambda event: None,
    backoff_s: float = 1.0,
) -> PushResult:
    """Push the release `tag` (vX.Y.Z) to the configured target, as the module docstring says."""
    from mlrelease.build.image import docker_client
    from mlrelease.registry.target import open_target, require_destination

    version = parse_tag(tag)
    if version is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    require_destination(settings)
    commit = GitRepo.discover(settings.root).tags().get(tag)
    if commit is None:
        raise PreconditionError(
            f"there is no git tag {tag} (or it does not point at a commit)",
            hint="create it with `mlrelease bump`, or fetch it: `git fetch --tags`",
        )
    client = docker_client()
    local = find_local_image(settings, tag, commit, client)
    target = open_target(settings, key_file=key_file)
    target.preflight()
    ref = target.ref(tag)
    existing = target.manifest(tag)
    already = existing is not None and existing.config_digest == local.image_id
    warnings: list[str] = []
    if existing is not None and not already:
        if target.immutable_tags:
            raise PreconditionError(
                f"{ref} already holds another image ({existing.digest}) and the repository's "
                "tags are immutable: it cannot be replaced, not even with --force",
                hint="release a new version: `mlrelease bump patch`",
            )
        if not force:
            raise PreconditionError(
                f"{ref} already holds another image ({existing.digest})",
                hint="release a new version (`mlrelease bump patch`), or replace it with --force",
            )
        warnings.append(f"--force: replacing {ref}, which held {existing.digest}")
    aliases = _aliases(settings.tag_aliases, version)
    if aliases and target.immutable_tags:
        warnings.append(
            f"aliases {', '.join(aliases)} not moved: the repository's tags are immutable"
        )
        aliases = []
    report = PushReport(target, ref, local, warnings)
    if dry_run:
        return report.result(
            digest=existing.digest if already and existing else None,
            landed=existing if already else None,
            pushed=False,
            verified=False,
            dry_run=True,
            aliases=aliases,
            attempts=0,
        )
    used = 0
    if already and existing is not None:
        digest = existing.digest
    else:
        digest, used = push_with_retry(
            client,
            local.image_id,
            ref,
            target.auth_config(),
            settings.attempts,
            on_progress,
            backoff_s,
        )
    _verify(target, ref, digest)
    for alias in aliases:
        alias_digest, alias_attempts = push_with_retry(
            client,
            local.image_id,
            ref.with_tag(alias),
            target.auth_config(),
            settings.attempts,
            on_progress,
            backoff_s,
        )
        _verify(target, ref.with_tag(alias), alias_digest)
        used = max(used, alias_attempts)
    return report.result(
        digest=digest,
        landed=existing if already else target.manifest(tag),
        pushed=not already,
        verified=True,
        dry_run=False,
        aliases=aliases,
        attempts=used,
    )


@dataclass(frozen=True)
class PushReport:
    """What every outcome of a push reports, whatever happened."""

    target: Target
    ref: ImageRef
    local: LocalImage
    warnings: list[str]

    def result(
        self,
        *,
        digest: str | None,
        landed: Manifest | None,
        pushed: bool,
        verified: bool,
        dry_run: bool,
        aliases: list[str],
        attempts: int,
    ) -> PushResult:
        """The result, `landed` being the manifest the registry holds under the tag (its
        compressed size is reported), read once by the caller."""
        return PushResult(
            ref=str(self.ref),
            uri=self.ref.repository,
            digest=digest,
            pushed=pushed,
            verified=verified,
            dry_run=dry_run,
            local_image=self.local.name,
            compressed_size_bytes=landed.compressed_size_bytes if landed else None,
            aliases=tuple(aliases),
            attempts=attempts,
            credentials_source=self.target.credentials_source,
            target=self.target.kind,
            warnings=tuple(self.warnings),
        )


def _verify(target: Target, ref: ImageRef, digest: str) -> None:
    """RegistryError (exit 5) unless `ref`'s tag resolves, through the API, to `digest`."""
    resolved = target.resolve(ref.tag or "")
    if resolved != digest:
        raise RegistryError(
            f"{ref} resolves to {resolved or 'nothing'} after the push, not to the pushed {digest}",
            hint="another push may have moved the tag; inspect it with `mlrelease releases`",
        )


def _aliases(configured: Iterable[str], version: Version) -> list[str]:
    """`major` -> vX, `minor` -> vX.Y, anything else as written; none for a prerelease."""
    if version.prerelease:
        return []
    names = {"major": f"v{version.major}", "minor": f"v{version.major}.{version.minor}"}
    return [names.get(alias, alias) for alias in configured]


def list_releases(settings: Settings, *, key_file: Path | None = None) -> ReleasesResult:
    """The versions in the target repository, newest first by semver, with their images."""
    from mlrelease.registry.target import open_target

    target = open_target(settings, key_file=key_file)
    entries = []
    for image in target.images():
        versions = sorted(v for tag in image.tags if (v := parse_tag(tag)) is not None)
        if not versions:
            continue
        newest = versions[-1]
        entries.append(
            (
                newest,
                ReleaseEntry(
                    version=str(newest),
                    tags=image.tags,
                    digest=image.digest,
                    uri=image.uri,
                    compressed_size_bytes=image.compressed_size_bytes,
                    upload_time=image.upload_time.isoformat() if image.upload_time else None,
                ),
            )
        )
    entries.sort(key=lambda pair: pair[0], reverse=True)
    return ReleasesResult(repository=str(target.repository), releases=tuple(e for _, e in entries))
