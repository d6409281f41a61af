"""What a build of HEAD asks the engine for: its tags, its OCI labels and its build arguments.

Labels are reproducible: they depend on the commit and the model only, never on the wall clock
or the machine, so two builds of one commit carry the same labels (and, with the cache, are the
same image). `org.opencontainers.image.created` is the commit's committer time;
`org.opencontainers.image.source` is written only for a remote URL, normalised to https without
credentials, and a local path never goes into an image.

The model labels: one file gives `org.mlrelease.model.sha256`, its checksum. Several give
`org.mlrelease.model.files`, the compact JSON object `{"path": "sha256", ...}` with its keys
sorted (paths relative to the project root), and `org.mlrelease.model.sha256`, the sha256 of
that label's text: one value that changes when any file does. `org.mlrelease.model.
sklearn_version` is written only when the metadata gives it. No model, no model labels.
`org.opencontainers.image.base.name` names the final stage's base as built (base_image.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlrelease import labels
from mlrelease.build.base_image import BasePlan, plan_base
from mlrelease.build.dockerfile import Dockerfile, parse
from mlrelease.build.model import check_model, model_spec
from mlrelease.errors import PreconditionError
from mlrelease.results.build import ModelReport
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
    base: BasePlan = field(default_factory=lambda: BasePlan(None))
    model: ModelReport | None = None  # None: no model file, the image brings its own


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


def model_labels(model: ModelReport | None) -> dict[str, str]:
    """The model's labels, as the module docstring describes them."""
    if model is None:
        return {}
    found: dict[str, str] = {}
    if len(model.files) == 1:
        found[labels.MODEL_SHA256] = model.files[0].sha256
    else:
        files = {file.path: file.sha256 for file in model.files}
        combined = json.dumps(files, sort_keys=True, separators=(",", ":"))
        found[labels.MODEL_FILES] = combined
        found[labels.MODEL_SHA256] = hashlib.sha256(combined.encode("utf-8")).hexdigest()
    if model.sklearn_version:
        found[labels.MODEL_SKLEARN_VERSION] = model.sklearn_version
    if model.metric:
        found[labels.MODEL_METRIC] = model.metric
    return found


def _read_dockerfile(settings: Settings) -> tuple[Dockerfile | None, str]:
    try:
        text = settings.path("dockerfile").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, ""  # the build's own input check says what is wrong with it
    return parse(text, settings.path("dockerfile")), text


def plan_build(settings: Settings, repo: GitRepo) -> BuildPlan:
    """Tags and OCI labels for HEAD: `sha-<7>` always, `vX.Y.Z` when HEAD is at a version tag
    and the tree is clean. (`tag_aliases` are moved in the registry by `push`, not here.)"""
    revision = head_revision(repo)
    release = None if revision.dirty else release_tag(repo.tags_at(revision.commit))
    names = [revision.tag, *([release] if release else [])]
    dockerfile, text = _read_dockerfile(settings)
    configured = None if "base_image" in settings.defaulted else settings.base_image
    base = (
        plan_base(dockerfile, text, configured, settings.source("base_image"))
        if dockerfile is not None
        else BasePlan(None)
    )
    spec = model_spec(settings, dockerfile)
    model = check_model(settings, spec) if spec is not None else None
    created = repo.committer_time(revision.commit)
    image_labels = {
        labels.TITLE: settings.image,
        labels.REVISION: revision.commit,
        labels.VERSION: release or revision.tag,
        labels.CREATED: created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        labels.DOCKERFILE: settings.dockerfile,
        **model_labels(model),
    }
    if base.name:
        image_labels[labels.BASE_NAME] = base.name
    if source := source_url(repo.remote_url()):
        image_labels[labels.SOURCE] = source
    if revision.dirty:
        image_labels[labels.DIRTY] = "true"
    return BuildPlan(
        tags=tuple(f"{settings.image}:{name}" for name in names),
        labels=image_labels,
        buildargs=dict(base.buildargs),
        commit=revision.commit,
        version=release,
        base=base,
        model=model,
    )
