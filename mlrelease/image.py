"""Build the service image with docker-py and describe what was built.

docker-py has no BuildKit: this is the classic builder, which is what the Dockerfile is written
for. Build failures arrive as stream items, not exceptions, so every item is inspected.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import BuildError, EngineError, PreconditionError

if TYPE_CHECKING:
    import docker

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


@dataclass(frozen=True)
class Layer:
    """One layer of an image, as `docker history` shows it."""

    created_by: str
    size_bytes: int


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the image, its tags, and how much of it came from the cache."""

    image_id: str
    tags: tuple[str, ...]
    size_bytes: int
    steps: int
    cached_steps: tuple[int, ...]
    layers: tuple[Layer, ...] = field(default=())

    def to_data(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "tags": list(self.tags),
            "size_bytes": self.size_bytes,
            "steps": self.steps,
            "cached_steps": list(self.cached_steps),
            "layers": [
                {"created_by": layer.created_by, "size_bytes": layer.size_bytes}
                for layer in self.layers
            ],
        }


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
    client = client or docker_client()
    image_id = None
    steps = 0
    cached: list[int] = []
    current_step = 0
    try:
        with _isolated_docker_config():
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
