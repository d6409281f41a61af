"""Build the service image with docker-py and describe what was built.

docker-py has no BuildKit: this is the classic builder, which is what the Dockerfile is written
for. Build failures arrive as stream items, not exceptions, so every item is inspected.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import BuildError, EngineError, PreconditionError
from mlrelease.git import GitRepo
from mlrelease.results import BuildResult, Layer
from mlrelease.versioning import parse_tag

if TYPE_CHECKING:
    import docker

    from mlrelease.config import Settings

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


@contextmanager
def _isolated_docker_config() -> Iterator[None]:
    # A credential helper named in ~/.docker/config.json can break even a build: use an empty one.
    previous = os.environ.get("DOCKER_CONFIG")
    with tempfile.TemporaryDirectory(prefix="mlrelease-docker-config-") as empty:
        os.environ["DOCKER_CONFIG"] = empty
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("DOCKER_CONFIG", None)
            else:
                os.environ["DOCKER_CONFIG"] = previous


def docker_client() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (API version negotiated, never pinned)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except DockerException as err:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise EngineError(f"the Docker engine at {host} does not answer: {err}") from err
    return client


def build_image(
    *,
    context: Path,
    dockerfile: str = "Dockerfile",
    tags: Sequence[str],
    buildargs: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    network_mode: str | None = None,
    target: str | None = None,
    nocache: bool = False,
    on_log: Callable[[str], None] = lambda line: None,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build `dockerfile` in `context`, tag it with every name in `tags`, and describe the image.

    `on_log` receives each line of the build log as it arrives.
    """
    from docker.errors import APIError, DockerException

    if not tags:
        raise ValueError("build_image needs at least one tag")
    if not (context / dockerfile).is_file():
        raise PreconditionError(
            f"no {dockerfile} in {context}",
            hint="run from the repository root or set `dockerfile`/`context` in [tool.mlrelease]",
        )
    image_id = None
    steps = 0
    cached: list[int] = []
    current_step = 0
    try:
        with _isolated_docker_config():
            # Made inside: docker-py reads the config (and its credential helpers) at creation.
            client = client or docker_client()
            stream = client.api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=tags[0],
                buildargs=dict(buildargs or {}),
                labels=dict(labels or {}),
                network_mode=network_mode,
                target=target,
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                decode=True,
            )
            for item in stream:
                if "error" in item or "errorDetail" in item:
                    detail = item.get("errorDetail", {}).get("message") or item.get("error", "")
                    step = f" at step {current_step}/{steps}" if current_step else ""
                    raise BuildError(f"the build failed{step}: {detail.strip()}")
                if "aux" in item and "ID" in item["aux"]:
                    image_id = item["aux"]["ID"]
                for line in str(item.get("stream", "")).splitlines():
                    if match := _STEP.match(line):
                        current_step, steps = int(match[1]), int(match[2])
                    elif line.strip() == "---> Using cache":
                        cached.append(current_step)
                    if line.strip():
                        on_log(line.rstrip())
        if image_id is None:
            raise BuildError("the build finished without reporting an image ID")
        image = client.images.get(image_id)
        for extra in tags[1:]:
            repository, _, tag = extra.rpartition(":")
            image.tag(repository, tag)
        layers = tuple(
            Layer(created_by=entry.get("CreatedBy", ""), size_bytes=int(entry.get("Size", 0)))
            for entry in image.history()
        )
    except APIError as err:
        raise BuildError(f"the engine refused the build: {err.explanation or err}") from err
    except DockerException as err:
        raise EngineError(f"the Docker engine failed during the build: {err}") from err
    return BuildResult(
        image_id=image_id,
        tags=tuple(tags),
        size_bytes=int(image.attrs["Size"]),
        steps=steps,
        cached_steps=tuple(cached),
        layers=layers,
    )


@dataclass(frozen=True)
class BuildPlan:
    """What `mlrelease build` will ask the engine for: names, labels and build arguments."""

    tags: tuple[str, ...]
    labels: Mapping[str, str]
    buildargs: Mapping[str, str]
    dirty: bool


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


def _model_metadata(model: Path) -> dict[str, Any]:
    metadata = model.with_suffix(".json")
    if not model.is_file() or not metadata.is_file():
        raise PreconditionError(
            f"no trained model at {model} (with its {metadata.name})",
            hint="train it with `python -m service.train`, or set `model_path`",
        )
    try:
        return dict(json.loads(metadata.read_text()))
    except (OSError, ValueError) as err:
        raise PreconditionError(
            f"the model metadata {metadata} is unreadable: {err}",
            hint="retrain with `python -m service.train`",
        ) from err


def plan_build(settings: Settings, repo: GitRepo) -> BuildPlan:
    """Tags and OCI labels for HEAD: `sha-<7>` always, `vX.Y.Z` when HEAD is at a version tag
    and the tree is clean, plus the configured aliases."""
    revision = head_revision(repo)
    release = None
    if not revision.dirty:
        at_head = [name for name, commit in repo.tags().items() if commit == revision.commit]
        versions = sorted((v, name) for name in at_head if (v := parse_tag(name)) is not None)
        release = versions[-1][1] if versions else None
    names = [revision.tag, *([release] if release else []), *settings.tag_aliases]
    metadata = _model_metadata(settings.path("model_path"))
    labels = {
        "org.opencontainers.image.title": settings.image,
        "org.opencontainers.image.revision": revision.commit,
        "org.opencontainers.image.version": release or revision.tag,
        "org.opencontainers.image.created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.mlrelease.model.sha256": str(metadata.get("sha256", "")),
        "org.mlrelease.model.sklearn_version": str(metadata.get("sklearn_version", "")),
    }
    if source := repo.remote_url():
        labels["org.opencontainers.image.source"] = source
    if revision.dirty:
        labels["org.mlrelease.dirty"] = "true"
    return BuildPlan(
        tags=tuple(f"{settings.image}:{name}" for name in names),
        labels=labels,
        buildargs={"PYTHON_IMAGE": settings.base_image},
        dirty=revision.dirty,
    )


def default_image(settings: Settings) -> str:
    """The reference `mlrelease build` gives HEAD first: `IMAGE:sha-<7>[-dirty]`."""
    return f"{settings.image}:{head_revision(GitRepo.discover(settings.root)).tag}"


def build(
    settings: Settings, *, no_cache: bool = False, on_log: Callable[[str], None]
) -> BuildResult:
    """Build the service image for HEAD as `settings` describe it."""
    plan = plan_build(settings, GitRepo.discover(settings.root))
    return build_image(
        context=settings.path("context"),
        dockerfile=os.path.relpath(settings.path("dockerfile"), settings.path("context")),
        tags=plan.tags,
        buildargs=plan.buildargs,
        labels=plan.labels,
        network_mode=settings.build_network,
        nocache=no_cache,
        on_log=on_log,
    )
