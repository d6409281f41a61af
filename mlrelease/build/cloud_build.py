"""Cloud Build as a builder: Google's build service builds the image and pushes it to Artifact
Registry, so the machine that runs mlrelease needs no Docker engine.

As `gcloud builds submit` does: the build context (what `mlrelease build` would send the engine,
`.dockerignore` honoured, by docker-py's own tar) goes to `gs://<project>_cloudbuild/source/
<time>-<uuid>.tgz`, the bucket created when missing; CreateBuild runs one docker step with the
plan's build args, labels and tags, and `images` names the `sha-<7>` tag so that Cloud Build
pushes and records it (the release tag is created later, atomically, by `push`). The build's
log is tailed by ranged reads of `log-<id>.txt` while it runs, as gcloud's log tailer does;
Ctrl-C cancels the build. Every request is bounded by `request_timeout_s`, the whole build by
`cloud_build_timeout_s`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlrelease.errors import (
    BuildError,
    ConfigError,
    ExternalServiceError,
    one_line,
)

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials
    from mlrelease.registry.target import Target
    from mlrelease.results.build import BuildResult

DOCKER_STEP = "gcr.io/cloud-builders/docker"


@dataclass(frozen=True)
class CloudBuildRequest:
    """What one build builds: the context, the Dockerfile in it, and how to tag it."""

    context: Path
    dockerfile: str  # relative to the context, or a path outside it (sent inside the tarball)
    tags: tuple[str, ...]  # HOST/PROJECT/REPOSITORY/IMAGE:TAG, pushed by Cloud Build
    buildargs: Mapping[str, str]
    labels: Mapping[str, str]
    buildkit: bool  # the Dockerfile needs BuildKit (DOCKER_BUILDKIT=1 in the step)
    no_cache: bool = False
    cache_from: tuple[str, ...] = ()  # image references


@dataclass(frozen=True)
class CloudBuilt:
    """A finished, successful build: the image's digest and where its log is."""

    build_id: str
    log_url: str
    digest: str
    images: tuple[str, ...]  # the pushed names
    steps: int
    cached_steps: tuple[int, ...]


def step_args(request: CloudBuildRequest) -> list[str]:
    """The docker step's arguments: `docker build` with the tags, labels and build args."""
    args = ["build"]
    if not request.buildkit:  # BuildKit knows no `cloudbuild` network; its default reaches out
        args += ["--network", "cloudbuild"]
    if request.no_cache:
        args.append("--no-cache")
    for tag in request.tags:
        args += ["-t", tag]
    for key, value in sorted(request.labels.items()):
        args += ["--label", f"{key}={value}"]
    for key, value in sorted(request.buildargs.items()):
        args += ["--build-arg", f"{key}={value}"]
    for ref in request.cache_from:
        args += ["--cache-from", ref]
    return [*args, "-f", request.dockerfile, "."]


def check_cloud_request(
    *, cache_from: Sequence[str], cache_to: Sequence[str], secrets: bool, platform: str | None
) -> None:
    """Refuse what a Cloud Build docker step cannot take from here (ConfigError, exit 2)."""
    needs = [
        *(f"--cache-from {spec}" for spec in cache_from if spec.startswith("type=")),
        *(f"--cache-to {spec}" for spec in cache_to),
        *(["build secrets (`secrets`: files on this machine)"] if secrets else []),
        *([f"--platform {platform}"] if platform else []),
    ]
    if needs:
        raise ConfigError(
            f"{needs[0]} cannot be used with builder cloud-build",
            hint="Cloud Build takes --cache-from IMAGE (a previous release); build the rest "
            "with `--builder buildkit`",
        )


@contextmanager
def source_tarball(context: Path, dockerfile: str) -> Iterator[tuple[IO[bytes], str]]:
    """The gzipped context docker-py would send the engine (`.dockerignore` honoured; a
    Dockerfile outside the context added under a generated name), and the Dockerfile's name
    in it."""
    from docker.api.build import process_dockerfile
    from docker.utils import build as docker_build

    ignore = context / ".dockerignore"
    exclude = None
    if ignore.is_file():
        lines = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
        exclude = [line for line in lines if line and not line.startswith("#")]
    name, text = process_dockerfile(dockerfile, str(context))
    with tempfile.TemporaryFile(prefix="mlrelease-source-") as handle:
        docker_build.tar(
            str(context), exclude=exclude, dockerfile=(name, text), fileobj=handle, gzip=True
        )
        handle.seek(0)
        yield handle, name


def run_cloud_build(
    settings: Settings,
    credentials: GoogleCredentials,
    request: CloudBuildRequest,
    on_log: Callable[[str], None],
) -> CloudBuilt:
    """Stage, build, follow: the pushed image's digest, or BuildError (exit 1) with the
    failing step and the last log lines, or ExternalServiceError (exit 5) for a timeout."""
    from mlrelease.build.buildkit import BuildKitLog
    from mlrelease.build.cloud_build_api import CloudBuild

    cloud = CloudBuild(settings, credentials)
    steps = BuildKitLog()

    def read(line: str) -> None:
        steps.read(line)
        on_log(line)

    with source_tarball(request.context, request.dockerfile) as (tarball, dockerfile):
        on_log(f"Cloud Build: uploading the build context to gs://{cloud.bucket}/source/")
        source = cloud.stage(tarball)
    request = CloudBuildRequest(**{**request.__dict__, "dockerfile": dockerfile})
    step: dict[str, Any] = {"name": DOCKER_STEP, "args": step_args(request)}
    if request.buildkit:
        step["env"] = ["DOCKER_BUILDKIT=1"]
    build = cloud.create(step, list(request.tags), source)
    build, last = cloud.follow(build, read)
    status = build.status.name
    if status != "SUCCESS":
        raise _failure(build, status, last)
    digests = {image.name: image.digest for image in build.results.images}
    digest = digests.get(request.tags[0])
    if not digest:
        raise ExternalServiceError(
            f"the Cloud Build build {build.id} succeeded but reports no digest for "
            f"{request.tags[0]}",
            hint=f"see its log: {build.log_url}",
        )
    total, cached = steps.numbered()
    return CloudBuilt(
        build_id=build.id,
        log_url=build.log_url,
        digest=digest,
        images=tuple(digests),
        steps=total,
        cached_steps=cached,
    )


def registry_image(target: Target, built: CloudBuilt) -> BuildResult:
    """The build's result for the image Cloud Build pushed: its config digest as the image
    ID, its size as the Artifact Registry API reports it (compressed, as stored), and its
    layers from the manifest and the config's history."""
    import json

    from mlrelease.errors import RegistryError
    from mlrelease.results.build import BuildResult, Layer

    path = target.repository.path
    manifest = target.registry.manifest(path, built.digest)
    if manifest is None or manifest.config_digest is None:
        raise RegistryError(
            f"Cloud Build reports {built.images[0]} as {built.digest}, which the registry "
            "does not hold as a single image",
            hint=f"see the build's log: {built.log_url}",
        )
    config = json.loads(
        target.registry.blob(path, manifest.config_digest, max_bytes=4 << 20) or b"{}"
    )
    sizes = [
        int(layer.get("size", 0)) for layer in json.loads(manifest.body or b"{}").get("layers", [])
    ]
    made = [entry for entry in config.get("history", []) if not entry.get("empty_layer")]
    layers = tuple(
        Layer(created_by=entry.get("created_by", ""), size_bytes=size)
        for entry, size in reversed(list(zip(made, sizes, strict=False)))
    )  # newest first, as the engine's history lists them
    size = next(
        (image.compressed_size_bytes for image in target.images() if image.digest == built.digest),
        manifest.compressed_size_bytes,
    )
    return BuildResult(
        image_id=manifest.config_digest,
        tags=built.images,
        size_bytes=size,
        steps=built.steps,
        cached_steps=built.cached_steps,
        layers=layers,
        builder="cloud-build",
        digest=built.digest,
        build_id=built.build_id,
        log_url=built.log_url,
    )


def _failure(build: Any, status: str, last: list[str]) -> Exception:
    detail = one_line(build.failure_info.detail or build.status_detail or status)
    failed = next(
        (f"step {i} ({step.name})" for i, step in enumerate(build.steps)
         if step.status.name in ("FAILURE", "TIMEOUT", "INTERNAL_ERROR")),
        None,
    )  # fmt: skip
    where = f" at {failed}" if failed else ""
    tail = one_line(" | ".join(line for line in last if line.strip())[-200:])
    if status in ("TIMEOUT", "EXPIRED"):
        return ExternalServiceError(
            f"the Cloud Build build {build.id} ended {status}{where}: {detail}",
            hint="raise `timeout_s` under [tool.mlrelease.cloud_build], or a faster "
            f"`machine_type`; log: {build.log_url}",
        )
    if status == "CANCELLED":
        return BuildError(
            f"the Cloud Build build {build.id} was cancelled (not by this command)",
            hint=f"rerun the build; log: {build.log_url}",
        )
    return BuildError(
        f"the Cloud Build build {build.id} failed{where}: {detail}; last lines: {tail}",
        hint=f"fix the failing step, then rebuild; the whole log: {build.log_url}",
    )
