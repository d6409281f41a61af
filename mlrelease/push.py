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

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import (
    AuthError,
    EngineError,
    ExternalServiceError,
    PreconditionError,
    RegistryError,
    UsageError,
)
from mlrelease.git import GitRepo
from mlrelease.results import PushResult, ReleaseEntry, ReleasesResult
from mlrelease.versioning import Version, parse_tag

if TYPE_CHECKING:
    import docker

    from mlrelease.config import Settings
    from mlrelease.refs import ImageRef
    from mlrelease.target import Target

DEFAULT_ATTEMPTS = 3
REVISION_LABEL = "org.opencontainers.image.revision"
DIRTY_LABEL = "org.mlrelease.dirty"
_TRANSIENT = re.compile(
    r"\b(5\d\d|429)\b|too ?many ?requests|service unavailable|bad gateway|gateway time|"
    r"internal server error|connection reset|broken pipe|timeout|timed out|\bEOF\b|"
    r"connection refused|i/o timeout|no such host",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PushEvent:
    """One line of the engine's push progress: a layer's status (with bytes while it uploads),
    or, without `layer`, a message about the whole push."""

    layer: str | None
    status: str  # Preparing, Pushing, Pushed, Layer already exists, ...
    current: int | None = None
    total: int | None = None

    @property
    def final(self) -> bool:
        """Whether the layer is done (sent, or found already in the registry)."""
        return self.status in LAYER_DONE or self.status.startswith("Mounted from")


LAYER_DONE = ("Pushed", "Layer already exists")


class PushFailed(ExternalServiceError):
    """The engine's push failed for a reason that retrying did not cure."""

    code = "push_failed"


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
    attempts: int = DEFAULT_ATTEMPTS,
    on_progress: Callable[[PushEvent], None] = lambda event: None,
    backoff_s: float = 1.0,
) -> PushResult:
    """Push the release `tag` (vX.Y.Z) to the configured target, as the module docstring says."""
    from mlrelease.image import docker_client
    from mlrelease.target import open_target, require_destination

    version = parse_tag(tag)
    if version is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    if attempts < 1:
        raise UsageError(f"--attempts must be at least 1, not {attempts}")
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
        digest, used = _push_with_retry(
            client, local, ref, target.auth_config(), attempts, on_progress, backoff_s
        )
    _verify(target, ref, digest)
    for alias in aliases:
        alias_digest, alias_attempts = _push_with_retry(
            client,
            local,
            ref.with_tag(alias),
            target.auth_config(),
            attempts,
            on_progress,
            backoff_s,
        )
        _verify(target, ref.with_tag(alias), alias_digest)
        used = max(used, alias_attempts)
    return report.result(
        digest=digest,
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
        pushed: bool,
        verified: bool,
        dry_run: bool,
        aliases: list[str],
        attempts: int,
    ) -> PushResult:
        manifest = self.target.manifest(self.ref.tag or "") if digest else None
        return PushResult(
            ref=str(self.ref),
            uri=self.ref.repository,
            digest=digest,
            pushed=pushed,
            verified=verified,
            dry_run=dry_run,
            local_image=self.local.name,
            compressed_size_bytes=manifest.compressed_size_bytes if manifest else None,
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


def _push_with_retry(
    client: docker.DockerClient,
    local: LocalImage,
    ref: ImageRef,
    auth_config: dict[str, str] | None,
    attempts: int,
    on_progress: Callable[[PushEvent], None],
    backoff_s: float,
) -> tuple[str, int]:
    """Tag the local image as `ref`, push it; (digest, attempts used)."""
    from docker.errors import DockerException

    try:
        client.images.get(local.image_id).tag(ref.repository, ref.tag)
    except DockerException as err:
        raise EngineError(f"the engine could not tag {local.name} as {ref}") from err
    for attempt in range(1, attempts + 1):
        try:
            return _push_once(client, ref, auth_config, on_progress), attempt
        except _Transient as err:
            if attempt == attempts:
                raise PushFailed(
                    f"the push of {ref} failed {attempts} times; last: {err}",
                    hint="the registry is failing; retry later (a second push resumes: "
                    "layers already sent are skipped)",
                ) from None
            wait = backoff_s * 2 ** (attempt - 1)
            on_progress(
                PushEvent(
                    None, f"attempt {attempt} of {attempts} failed ({err}); retrying in {wait:g} s"
                )
            )
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class _Transient(Exception):
    """A push failure worth retrying (5xx, 429, a reset connection, a timeout)."""


def _push_once(
    client: docker.DockerClient,
    ref: ImageRef,
    auth_config: dict[str, str] | None,
    on_progress: Callable[[PushEvent], None],
) -> str:
    from docker.errors import APIError, DockerException

    digest = None
    try:
        stream = client.api.push(
            ref.repository, tag=ref.tag, auth_config=auth_config, stream=True, decode=True
        )
        for item in stream:
            if "error" in item or "errorDetail" in item:
                raise _classify(
                    ref, str(item.get("errorDetail", {}).get("message") or item["error"])
                )
            if "aux" in item and item["aux"].get("Digest"):
                digest = str(item["aux"]["Digest"])
            _report_progress(item, on_progress)
    except APIError as err:
        raise _classify(ref, str(err.explanation or err)) from None
    except DockerException as err:
        raise EngineError(
            f"the Docker engine failed during the push: {type(err).__name__}"
        ) from err
    except OSError as err:
        raise _Transient(f"the connection to the engine broke: {type(err).__name__}") from None
    if digest is None:
        raise PushFailed(f"the engine finished pushing {ref} without reporting a digest")
    return digest


def _report_progress(item: dict[str, Any], on_progress: Callable[[PushEvent], None]) -> None:
    status = str(item.get("status", ""))
    detail = item.get("progressDetail") or {}
    if item.get("id") and status:
        on_progress(PushEvent(str(item["id"]), status, detail.get("current"), detail.get("total")))
    elif status:
        on_progress(PushEvent(None, status))


def _classify(ref: ImageRef, message: str) -> Exception:
    """A failed push as the error that says whose fault it is."""
    from mlrelease.gar import PermissionDenied, RepositoryNotFound

    text = " ".join(message.split())[:300]
    lowered = text.lower()
    if "denied" in lowered:
        return PermissionDenied(
            f"the registry denied the push of {ref}: {text}",
            hint="grant roles/artifactregistry.writer on the repository to the pushing identity",
        )
    if "unauthorized" in lowered or "authentication required" in lowered:
        return AuthError(
            f"the registry refused the credentials for {ref}: {text}",
            hint="check the credentials with `mlrelease auth`",
        )
    if "name unknown" in lowered or "repository name not known" in lowered:
        return RepositoryNotFound(
            f"the registry does not know the repository of {ref}: {text}",
            hint="create the repository (see `mlrelease doctor`), or fix `repository`",
        )
    if _TRANSIENT.search(text):
        return _Transient(text)
    return PushFailed(f"the push of {ref} failed: {text}")


def list_releases(settings: Settings, *, key_file: Path | None = None) -> ReleasesResult:
    """The versions in the target repository, newest first by semver, with their images."""
    from mlrelease.target import open_target

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
