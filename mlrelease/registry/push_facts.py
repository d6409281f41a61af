"""What a push decides on, gathered before anything moves: the release tag's commit, the
images that could be that release (in the engine, or in the registry when Cloud Build pushed
it), and what the registry holds under the tag and its aliases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.errors import PreconditionError, UsageError
from mlrelease.history import smoke_record
from mlrelease.labels import DIRTY, REVISION
from mlrelease.registry.push_plan import BuiltImage, PushFacts, RemoteTag, released_versions
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import parse_tag

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target


def local_images(
    settings: Settings, tag: str, commit: str, client: docker.DockerClient
) -> tuple[BuiltImage, ...]:
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
        found.append(BuiltImage(name, image.id, labels.get(REVISION), bool(labels.get(DIRTY))))
    return tuple(found)


def registry_images(target: Target, commit: str) -> tuple[BuiltImage, ...]:
    """The image a remote builder pushed for `commit`: `sha-<7>` in the release repository,
    with the commit its revision label names."""
    name = f"sha-{commit[:7]}"
    found = target.manifest(name)
    if found is None or found.config_digest is None:
        return ()
    labels = target.image_labels(found.digest)
    ref = str(target.ref(name))
    revision, dirty = labels.get(REVISION), bool(labels.get(DIRTY))
    return (BuiltImage(ref, found.config_digest, revision, dirty, digest=found.digest),)


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
    candidates: tuple[BuiltImage, ...],
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
        smoke={
            image.image_id: outcome
            for image in candidates
            if (outcome := smoke_record(settings, image.image_id)) is not None
        },
        require_smoke=settings.require_smoke,
    )
