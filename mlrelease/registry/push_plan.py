"""The rules of a push, as a pure function of what is known before anything moves.

`plan_push` takes the facts (the release tag and its commit, the built images that could be
that release, what the registry holds under the tag, the repository's versions, the options)
and returns what to do: which image goes out, whether the tag is pushed, left as it is
(the same image is there) or replaced (`--force`), and which alias tags move. Every refusal is
raised here, with its fix, before the engine or the registry is asked to change anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mlrelease.errors import PreconditionError
from mlrelease.versions.rules import Version, parse_tag


@dataclass(frozen=True)
class BuiltImage:
    """An image that may be the release: in the engine under one of the names a release has
    locally, or already in the registry, pushed there by a remote builder (Cloud Build)."""

    name: str  # e.g. ml-service:v1.2.0, or HOST/P/R/ml-service:sha-1a2b3c4 in the registry
    image_id: str
    revision: str | None  # the commit it was built from (its revision label)
    dirty: bool  # built from a working tree with uncommitted changes
    digest: str | None = None  # its manifest's digest, when the registry already holds it


@dataclass(frozen=True)
class RemoteTag:
    """What the registry holds under a tag."""

    digest: str  # the manifest's digest
    config_digest: str | None  # the image ID, for a single-platform image


@dataclass(frozen=True)
class PushFacts:
    """Everything the rules look at."""

    image: str  # the local image name, e.g. ml-service
    tag: str  # vX.Y.Z
    version: Version
    commit: str  # the commit the git tag points at
    # IMAGE:vX.Y.Z first, then IMAGE:sha-<7>, in the engine (or sha-<7> in the registry)
    candidates: tuple[BuiltImage, ...]
    existing: RemoteTag | None  # the registry's image under `tag`
    immutable_tags: bool
    force: bool
    aliases: tuple[str, ...]  # `tag_aliases` as configured: major, minor, latest, NAME
    released: tuple[Version, ...]  # the versions the repository's tags name
    smoke: Mapping[str, str] = field(default_factory=dict)  # image ID -> "passed" | "failed"
    require_smoke: bool = False


Action = Literal["push", "unchanged", "replace"]


@dataclass(frozen=True)
class PushPlan:
    """What the push will do."""

    image: BuiltImage
    action: Action  # push a new tag, leave it (same image there), or replace it (--force)
    aliases: tuple[str, ...]  # alias tags to point at the release
    warnings: tuple[str, ...]
    notes: tuple[str, ...]  # aliases left where they are, and why


def plan_push(facts: PushFacts) -> PushPlan:
    """The plan for `facts`; PreconditionError (exit 3) for a push that must not happen."""
    image = choose_image(facts.image, facts.tag, facts.commit, facts.candidates)
    warnings: list[str] = []
    smoke_rule(image, facts.smoke.get(image.image_id), facts.require_smoke, warnings)
    action = tag_action(facts, image, warnings)
    aliases, notes = moving_aliases(facts.aliases, facts.version, facts.released)
    if aliases and facts.immutable_tags:
        warnings.append(
            f"aliases {', '.join(aliases)} not moved: the repository's tags are immutable"
        )
        aliases = []
    return PushPlan(image, action, tuple(aliases), tuple(warnings), tuple(notes))


def choose_image(image: str, tag: str, commit: str, candidates: Iterable[BuiltImage]) -> BuiltImage:
    """The first candidate built from `commit` on a clean tree. When none is, the refusal
    names the first candidate found and why it is not the release (or that none is built)."""
    found = list(candidates)
    for candidate in found:
        if candidate.revision == commit and not candidate.dirty:
            return candidate
    rebuild = f"git checkout {tag} && mlrelease build"
    if not found:
        raise PreconditionError(
            f"no image of {tag}: neither {image}:{tag} nor {image}:sha-{commit[:7]} is built",
            hint=rebuild,
        )
    first = found[0]
    if first.dirty and first.revision == commit:
        raise PreconditionError(
            f"{first.name} was built from a working tree with uncommitted changes", hint=rebuild
        )
    raise PreconditionError(
        f"{first.name} was built from commit {(first.revision or 'unknown')[:7]}, "
        f"but {tag} is commit {commit[:7]}",
        hint=rebuild,
    )


def smoke_rule(local: BuiltImage, outcome: str | None, required: bool, warnings: list[str]) -> None:
    """An image whose smoke test failed, or that was never smoke-tested, is pushed with a
    warning, or refused (exit 3) when `require_smoke` is set."""
    if outcome == "passed":
        return
    what = "failed its smoke test" if outcome == "failed" else "was never smoke-tested"
    if required:
        raise PreconditionError(
            f"{local.name} {what}, and require_smoke is set",
            hint=f"`mlrelease smoke {local.name}` (fix and rebuild first if it fails), then push",
        )
    warnings.append(
        f"{local.name} {what} (`mlrelease smoke {local.name}`; --require-smoke refuses)"
    )


def tag_action(facts: PushFacts, local: BuiltImage, warnings: list[str]) -> Action:
    """push (the tag is free), unchanged (it holds this image) or replace (--force, mutable
    tags only); PreconditionError when it holds another image."""
    existing = facts.existing
    if existing is None:
        return "push"
    if existing.config_digest == local.image_id:
        return "unchanged"
    if facts.immutable_tags:
        raise PreconditionError(
            f"{facts.tag} already holds another image ({existing.digest}) and the repository's "
            "tags are immutable: it cannot be replaced, not even with --force",
            hint="release a new version: `mlrelease bump patch`",
        )
    if not facts.force:
        raise PreconditionError(
            f"{facts.tag} already holds another image ({existing.digest})",
            hint="release a new version (`mlrelease bump patch`), or replace it with --force",
        )
    warnings.append(f"--force: replacing {facts.tag}, which held {existing.digest}")
    return "replace"


def alias_names(configured: Iterable[str], version: Version) -> list[str]:
    """`major` -> vX, `minor` -> vX.Y, anything else as written; none for a prerelease."""
    if version.prerelease:
        return []
    names = {"major": f"v{version.major}", "minor": f"v{version.major}.{version.minor}"}
    return [names.get(alias, alias) for alias in configured]


def moving_aliases(
    configured: Iterable[str], version: Version, released: Iterable[Version]
) -> tuple[list[str], list[str]]:
    """(the aliases that move to `version`, a note for each that stays).

    Aliases only move forward: `vX` to the highest stable X.*.*, `vX.Y` to the highest stable
    X.Y.*, and `latest` (or any other name) to the highest stable version in the repository.
    Pushing an older version leaves them where they are."""
    configured = tuple(configured)
    stable = [v for v in released if not v.prerelease]
    moving, notes = [], []
    for configured_name, name in zip(configured, alias_names(configured, version), strict=False):
        if configured_name == "major":
            line = [v for v in stable if v.major == version.major]
        elif configured_name == "minor":
            line = [v for v in stable if (v.major, v.minor) == (version.major, version.minor)]
        else:
            line = stable
        newest = max(line, default=version)
        if newest > version:
            notes.append(f"{name} stays at {newest.tag}, which is newer than {version.tag}")
        else:
            moving.append(name)
    return moving, notes


def released_versions(tags: Iterable[str]) -> tuple[Version, ...]:
    """The versions among a repository's tags."""
    return tuple(v for tag in tags if (v := parse_tag(tag)) is not None)
