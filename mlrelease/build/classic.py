"""The classic builder: docker-py's, which is what a Dockerfile without BuildKit syntax is
written for. Build failures arrive as stream items, not exceptions, so every item is inspected.
Its cache sources are images in the engine: those missing are pulled first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.engine import docker_client, isolated_docker_config
from mlrelease.errors import BuildError, EngineError
from mlrelease.results.build import BuildResult, Layer

if TYPE_CHECKING:
    import docker
    from docker.models.images import Image

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


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
    cache_from: Sequence[str] = (),
    on_log: Callable[[str], None] = lambda line: None,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build `dockerfile` in `context`, tag it with every name in `tags`, and describe the image.
    The inputs are checked by the caller (`check_build_inputs`), before the engine is asked.

    `on_log` receives each line of the build log as it arrives; `cache_from` names images,
    already in the engine, whose layers the builder may reuse.
    """
    from docker.errors import APIError, DockerException

    if not tags:
        raise ValueError("build_image needs at least one tag")
    image_id = None
    steps = 0
    cached: list[int] = []
    current_step = 0
    try:
        with isolated_docker_config():
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
                cache_from=list(cache_from) or None,
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
        layers = image_layers(image)
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


def image_layers(image: Image) -> tuple[Layer, ...]:
    """The image's layers, newest first, each with the instruction that made it."""
    return tuple(
        Layer(created_by=entry.get("CreatedBy", ""), size_bytes=int(entry.get("Size", 0)))
        for entry in image.history()
    )


def cache_sources(refs: Sequence[str]) -> tuple[list[str], list[str]]:
    """The `refs` usable as cache sources, pulling those the engine lacks, and a warning for
    each that could not be pulled (the build goes on without it).

    Pulls use the user's Docker config, unlike builds: a `docker login` or credential helper
    is what lets CI pull its last release."""
    from docker.errors import DockerException, ImageNotFound
    from docker.utils import parse_repository_tag

    usable: list[str] = []
    warnings: list[str] = []
    if not refs:
        return usable, warnings
    client = docker_client()
    for ref in refs:
        try:
            client.images.get(ref)
            usable.append(ref)
            continue
        except ImageNotFound:
            pass
        except DockerException as err:
            raise EngineError(f"the Docker engine failed to look up {ref}: {err}") from err
        repository, tag = parse_repository_tag(ref)
        try:
            client.images.pull(repository, tag=tag or "latest")
            usable.append(ref)
        except DockerException as err:
            reason = " ".join(str(getattr(err, "explanation", None) or err).split())
            warnings.append(
                f"--cache-from {ref}: not in the engine and the pull failed "
                f"({reason}); building without it"
            )
    return usable, warnings
