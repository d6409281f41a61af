"""Push a release and prove that what landed is what was built.

`push_release` gathers the facts (`gather_facts`), lets `push_plan.plan_push` decide, and then
carries the plan out, stopping at the first failure:
1. what may be pushed: a `vX.Y.Z` tag that exists in git, and a local image built from that tag's
   commit on a clean tree (its revision label says so);
2. the target's preflight (repository, upload permission, or a plain registry that answers);
3. the plan: the tag absent (push), the same image (nothing to push), another image (refused
   unless `--force`, never on immutable tags); the aliases that move forward;
4. the push, with per-call credentials, every stream item checked, transient failures retried;
5. verification: the tag resolves, through the API, to the digest the engine reported;
6. the aliases (`tag_aliases`: major, minor, latest), for stable versions only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import PreconditionError, RegistryError, UsageError
from mlrelease.labels import DIRTY, REVISION
from mlrelease.registry.engine_push import push_with_retry
from mlrelease.registry.push_plan import (
    LocalImage,
    PushFacts,
    PushPlan,
    RemoteTag,
    choose_local_image,
    plan_push,
    released_versions,
)
from mlrelease.results.push import PushEvent, PushResult
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import parse_tag

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.refs import ImageRef
    from mlrelease.registry.target import Target


def local_images(
    settings: Settings, tag: str, commit: str, client: docker.DockerClient
) -> tuple[LocalImage, ...]:
    """The images in the engine under the names a release has locally: `IMAGE:vX.Y.Z`, then
    `IMAGE:sha-<7>` of the tag's commit."""
    from docker.errors import ImageNotFound

    found = []
    for name in (f"{settings.image}:{tag}", f"{settings.image}:sha-{commit[:7]}"):
        try:
            image = client.images.get(name)
        except ImageNotFound:
            continue
        labels = image.labels or {}
        found.append(LocalImage(name, image.id, labels.get(REVISION), bool(labels.get(DIRTY))))
    return tuple(found)


def release_commit(settings: Settings, tag: str) -> str:
    """The commit the git tag `tag` points at; PreconditionError when there is no such tag."""
    if parse_tag(tag) is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    commit = GitRepo.discover(settings.root).tags().get(tag)
    if commit is None:
        raise PreconditionError(
            f"there is no git tag {tag} (or it does not point at a commit)",
            hint="create it with `mlrelease bump`, or fetch it: `git fetch --tags`",
        )
    return commit


def gather_facts(
    settings: Settings,
    tag: str,
    commit: str,
    candidates: tuple[LocalImage, ...],
    target: Target,
    *,
    force: bool,
) -> PushFacts:
    """What `plan_push` decides on, read from the registry after the preflight."""
    version = parse_tag(tag)
    if version is None:  # pragma: no cover - release_commit checked it
        raise UsageError(f"{tag!r} is not a release tag")
    existing = target.manifest(tag)
    return PushFacts(
        image=settings.image,
        tag=tag,
        version=version,
        commit=commit,
        candidates=candidates,
        existing=RemoteTag(existing.digest, existing.config_digest) if existing else None,
        immutable_tags=target.immutable_tags,
        force=force,
        aliases=settings.tag_aliases,
        released=released_versions(target.tags()) if settings.tag_aliases else (),
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
    from mlrelease.engine import docker_client
    from mlrelease.registry.target import open_target, require_destination

    require_destination(settings)
    commit = release_commit(settings, tag)
    client = docker_client()
    candidates = local_images(settings, tag, commit, client)
    # The local side first: no credentials are asked for an image that may not go out.
    choose_local_image(settings.image, tag, commit, candidates)
    target = open_target(settings, key_file=key_file)
    target.preflight()
    plan = plan_push(gather_facts(settings, tag, commit, candidates, target, force=force))
    ref = target.ref(tag)
    if dry_run:
        existing = target.manifest(tag) if plan.action == "unchanged" else None
        return _result(
            target,
            ref,
            plan,
            digest=existing.digest if existing else None,
            size=existing.compressed_size_bytes if existing else None,
            pushed=False,
            verified=False,
            dry_run=True,
            attempts=0,
        )
    used = 0
    if plan.action == "unchanged":
        digest = _resolved(target, ref)
    else:
        digest, used = push_with_retry(
            client,
            plan.local.image_id,
            ref,
            target.auth_config(),
            settings.attempts,
            on_progress,
            backoff_s,
        )
    _verify(target, ref, digest)
    for alias in plan.aliases:
        alias_digest, alias_attempts = push_with_retry(
            client,
            plan.local.image_id,
            ref.with_tag(alias),
            target.auth_config(),
            settings.attempts,
            on_progress,
            backoff_s,
        )
        _verify(target, ref.with_tag(alias), alias_digest)
        used = max(used, alias_attempts)
    landed = target.manifest(tag)
    return _result(
        target,
        ref,
        plan,
        digest=digest,
        size=landed.compressed_size_bytes if landed else None,
        pushed=plan.action != "unchanged",
        verified=True,
        dry_run=False,
        attempts=used,
    )


def _result(
    target: Target,
    ref: ImageRef,
    plan: PushPlan,
    *,
    digest: str | None,
    size: int | None,
    pushed: bool,
    verified: bool,
    dry_run: bool,
    attempts: int,
) -> PushResult:
    return PushResult(
        ref=str(ref),
        uri=ref.repository,
        digest=digest,
        pushed=pushed,
        verified=verified,
        dry_run=dry_run,
        local_image=plan.local.name,
        compressed_size_bytes=size,
        aliases=plan.aliases,
        attempts=attempts,
        credentials_source=target.credentials_source,
        target=target.kind,
        warnings=plan.warnings,
        notes=plan.notes,
    )


def _resolved(target: Target, ref: ImageRef) -> str:
    digest = target.resolve(ref.tag or "")
    if digest is None:
        raise RegistryError(f"{ref} vanished from the registry while it was being pushed")
    return digest


def _verify(target: Target, ref: ImageRef, digest: str) -> None:
    """RegistryError (exit 5) unless `ref`'s tag resolves, through the API, to `digest`."""
    resolved = target.resolve(ref.tag or "")
    if resolved != digest:
        raise RegistryError(
            f"{ref} resolves to {resolved or 'nothing'} after the push, not to the pushed {digest}",
            hint="another push may have moved the tag; inspect it with `mlrelease releases`",
        )
