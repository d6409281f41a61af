"""What a build of HEAD asks the engine for: its tags, its OCI labels and its build arguments.

Labels are reproducible: they depend on the commit and the model only, never on the wall clock
or the machine, so two builds of one commit carry the same labels (and, with the cache, are the
same image). `org.opencontainers.image.created` is the commit's committer time;
`org.opencontainers.image.source` is written only for a remote URL, normalised to https without
credentials, and a local path never goes into an image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlrelease import labels
from mlrelease.errors import PreconditionError
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import release_tag

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

# `user@host:owner/repo.git`, git's scp-like syntax for ssh (no scheme, a colon before the path).
_SCP_LIKE = re.compile(r"(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>[^\s]+)")
_REMOTE_SCHEMES = {"https", "http", "ssh", "git", "git+ssh", "ssh+git"}


@dataclass(frozen=True)
class BuildPlan:
    """What `mlrelease build` will ask the engine for: names, labels and build arguments."""

    tags: tuple[str, ...]
    labels: Mapping[str, str]
    buildargs: Mapping[str, str]
    commit: str
    version: str | None  # the vX.Y.Z tag at HEAD, None when HEAD is not a clean release


@dataclass(frozen=True)
class Revision:
    """HEAD as a build sees it: its commit and whether the working tree differs from it."""

    commit: str
    dirty: bool

    @property
    def tag(self) -> str:
        """`sha-<7>`, with `-dirty` appended for an unclean tree."""
        return f"sha-{self.commit[:7]}{'-dirty' if self.dirty else ''}"


def head_revision(repo: GitRepo) -> Revision:
    """The commit at HEAD and whether the working tree is dirty (untracked files included)."""
    head = repo.head_commit()
    if head is None:
        raise PreconditionError("the repository has no commit yet", hint="commit, then build")
    # Untracked files count: they go into the build context, so into the image.
    return Revision(commit=head, dirty=bool(repo.changed_paths(include_untracked=True)))


def source_url(remote: str | None) -> str | None:
    """The https URL of a remote repository, credentials and `.git` dropped; None for a local
    path or anything that is not a network URL.

    `git@github.com:o/r.git`, `ssh://git@github.com/o/r.git` and
    `https://user:token@github.com/o/r.git` all give `https://github.com/o/r`.
    """
    if not remote:
        return None
    parts = urlsplit(remote)
    if parts.scheme:
        if parts.scheme.lower() not in _REMOTE_SCHEMES or not parts.hostname:
            return None  # file:// and other local forms
        host, path = parts.hostname, parts.path
    elif match := _SCP_LIKE.fullmatch(remote):
        host, path = match["host"], match["path"]
    else:
        return None  # a local path
    path = path.strip("/").removesuffix(".git").strip("/")
    if not path:
        return None
    return f"https://{host}/{path}"


def _model_metadata(model: Path) -> dict[str, Any]:
    from mlrelease.build.model import read_model_metadata

    metadata = model.with_suffix(".json")
    if not model.is_file() or not metadata.is_file():
        raise PreconditionError(
            f"no trained model at {model} (with its {metadata.name})",
            hint="train it with `python -m service.train`, or set `model_path`",
        )
    return read_model_metadata(metadata)


def plan_build(settings: Settings, repo: GitRepo) -> BuildPlan:
    """Tags and OCI labels for HEAD: `sha-<7>` always, `vX.Y.Z` when HEAD is at a version tag
    and the tree is clean. (`tag_aliases` are moved in the registry by `push`, not here.)"""
    revision = head_revision(repo)
    release = None if revision.dirty else release_tag(repo.tags_at(revision.commit))
    names = [revision.tag, *([release] if release else [])]
    metadata = _model_metadata(settings.path("model_path"))
    created = repo.committer_time(revision.commit)
    image_labels = {
        labels.TITLE: settings.image,
        labels.REVISION: revision.commit,
        labels.VERSION: release or revision.tag,
        labels.CREATED: created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        labels.MODEL_SHA256: str(metadata.get("sha256", "")),
        labels.MODEL_SKLEARN_VERSION: str(metadata.get("sklearn_version", "")),
    }
    if source := source_url(repo.remote_url()):
        image_labels[labels.SOURCE] = source
    if revision.dirty:
        image_labels[labels.DIRTY] = "true"
    return BuildPlan(
        tags=tuple(f"{settings.image}:{name}" for name in names),
        labels=image_labels,
        buildargs={"PYTHON_IMAGE": settings.base_image},
        commit=revision.commit,
        version=release,
    )
