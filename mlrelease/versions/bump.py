"""The version use cases: the rules of `versioning` applied to a git repository."""

from __future__ import annotations

from pathlib import Path

from mlrelease.errors import (
    DirtyTreeError,
    HeadAlreadyTagged,
    PreconditionError,
    TagExistsError,
    UsageError,
)
from mlrelease.results.versions import BumpResult, VersionInfo
from mlrelease.versions.git import GitRepo, check_tag_name
from mlrelease.versions.rules import (
    DEFAULT_PRE_TOKEN,
    Part,
    check_pre_token,
    current_version,
    next_version,
    parse_tag,
)


def describe(cwd: Path) -> VersionInfo:
    """The current version of the repository at `cwd` and whether HEAD is at its tag."""
    repo = GitRepo.containing(cwd)
    head, tags = repo.head_and_tags()
    version, tag = current_version(name for name, commit in tags.items() if commit)
    return VersionInfo(
        version=str(version),
        tag=tag,
        commit=head,
        at_head=tag is not None and head is not None and tags[tag] == head,
        ignored_tags=tuple(sorted(name for name in tags if parse_tag(name) is None)),
    )


def bump(
    cwd: Path,
    part: Part,
    *,
    pre_token: str = DEFAULT_PRE_TOKEN,
    message: str | None = None,
    dry_run: bool = False,
    push: bool = False,
    remote: str = "origin",
) -> BumpResult:
    """Create (and optionally push) the annotated tag for the next version at HEAD.

    Every check runs before anything changes, also with `dry_run`, which then changes nothing.
    Refuses an empty message, a remote name git would take for an option, a tag name too long
    to store, a dirty tree (untracked files do not count), a HEAD that already carries a version
    tag, and a tag that already exists locally or, with `push`, on the remote.
    """
    token = check_pre_token(pre_token)
    _check_message(message)
    _check_remote_name(remote)
    repo = GitRepo.containing(cwd)
    (head, changed), tags = repo.status_and_tags()
    if head is None:
        raise PreconditionError(
            "the repository has no commit to tag", hint="commit something first, then rerun"
        )
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        raise DirtyTreeError(
            f"the working tree has uncommitted changes: {', '.join(changed[:5])}{more}"
        )
    at_head = sorted(name for name, commit in tags.items() if commit == head and parse_tag(name))
    if at_head:
        raise HeadAlreadyTagged(
            f"HEAD {head[:7]} already carries the version tag {', '.join(at_head)}"
        )
    previous, _ = current_version(name for name, commit in tags.items() if commit)
    version = next_version(previous, Part(part), token)
    tag = check_tag_name(version.tag)
    if tag in tags:
        if tags[tag] is None:
            raise TagExistsError(
                f"the tag {tag} already exists and points at no commit, so it is no version",
                hint=f"remove or rename that tag (`git tag -d {tag}`), then rerun",
            )
        raise TagExistsError(f"the tag {tag} already exists")
    if push:
        repo.require_remote(remote)
        if repo.remote_has_tag(remote, tag):
            raise TagExistsError(f"the tag {tag} already exists on the remote {remote}")
    text = message or f"Release {tag}"
    if not dry_run:
        repo.create_tag(tag, head, text)
        if push:
            repo.push_tag(remote, tag)
    return BumpResult(
        previous=str(previous),
        version=str(version),
        tag=tag,
        commit=head,
        pushed=push and not dry_run,
        dry_run=dry_run,
        remote=remote if push else None,
        message=text,
    )


def _check_message(message: str | None) -> None:
    if message is None:
        return
    if not message.strip():
        raise UsageError(
            "the tag message (-m) is empty",
            hint="pass a message, or leave -m out for the default `Release vX.Y.Z`",
        )
    if "\0" in message:
        raise UsageError("the tag message (-m) contains a NUL character", hint="remove it")


def _check_remote_name(remote: str) -> None:
    # A name starting with "-" would reach git as an option; git refuses the others itself.
    if not remote or remote.startswith("-") or any(c.isspace() or c == "\0" for c in remote):
        raise UsageError(
            f"--remote {remote!r} is not a git remote name",
            hint="pass the name of a remote that `git remote` lists, e.g. --remote origin",
        )
