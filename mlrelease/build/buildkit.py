"""Build the service image with BuildKit through a docker CLI, and describe it as docker-py does.

`command_line` is a pure function from a `BuildKitRequest` to the CLI's argv: `docker buildx
build --load --provenance=false` with buildx (attestations would make the image an index),
else `docker build` with DOCKER_BUILDKIT=1. The image ID comes from `--iidfile` (with buildx,
`--metadata-file` first), never from a log line; the image is then read through docker-py, so
the result has the classic builder's shape. `--progress plain` lines go to `on_log` as they
arrive; a secret's source path never appears in the logged form of the command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.build.builders import BuildKitCli, cli_config_dir
from mlrelease.errors import BuildError, ConfigError, EngineError
from mlrelease.processes import stop
from mlrelease.results.build import BuildResult, Layer

if TYPE_CHECKING:
    import docker

CACHE_TYPES = ("registry", "gha", "inline", "local")
_VERTEX = re.compile(r"^#(\d+) \[(?:(\S+) )?(\d+)/(\d+)\] (.*)")
_VERTEX_ANY = re.compile(r"^#(\d+) (\[[^\]]*\] .*|[a-z].*)$")
_CACHED = re.compile(r"^#(\d+) CACHED$")
_ERROR = re.compile(r"^#(\d+) ERROR: (.*)")
_TAIL_LINES = 15


@dataclass(frozen=True)
class BuildKitRequest:
    """Everything a BuildKit build is asked for; secrets are (id, source path) pairs."""

    context: Path
    dockerfile: str  # a path, relative to the working directory or absolute
    tags: tuple[str, ...]
    iidfile: Path
    metadata_file: Path | None = None  # buildx only
    buildargs: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    network: str | None = None
    no_cache: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()
    platform: str | None = None


def cache_spec(text: str, flag: str) -> dict[str, str]:
    """`type=registry,ref=X` (or a bare image reference, a registry cache) as a mapping;
    ConfigError for an unknown type or a missing attribute."""
    if "=" not in text.split(",", 1)[0]:
        return {"type": "registry", "ref": text}
    try:
        spec = dict(part.split("=", 1) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not KEY=VALUE,...") from None
    kind = spec.get("type", "")
    if kind not in CACHE_TYPES:
        raise ConfigError(
            f"{flag} {text!r}: unknown cache type {kind!r}",
            hint=f"use one of type={', type='.join(CACHE_TYPES)}",
        )
    needs = {"registry": "ref", "local": "src" if flag == "--cache-from" else "dest"}.get(kind)
    if needs and needs not in spec:
        raise ConfigError(f"{flag} {text!r}: type={kind} needs {needs}=")
    return spec


def check_request(request: BuildKitRequest, cli: BuildKitCli) -> None:
    """Refuse, with the reason, what this CLI and driver cannot do (ConfigError, exit 2)."""
    for text in request.cache_to:
        kind = cache_spec(text, "--cache-to")["type"]
        if kind not in cli.cache_exports:
            reason = (
                "the docker CLI's built-in BuildKit has no --cache-to (only the inline cache, "
                "through BUILDKIT_INLINE_CACHE=1)"
                if not cli.buildx_version
                else f"buildx's {cli.driver} driver exports only the inline cache"
            )
            raise ConfigError(
                f"--cache-to {text}: {reason}",
                hint="use --cache-to type=inline, or buildx with a docker-container builder "
                "(`docker buildx create --use --driver docker-container`)",
            )
    for text in request.cache_from:
        kind = cache_spec(text, "--cache-from")["type"]
        if not cli.buildx_version and kind not in ("registry", "inline"):
            raise ConfigError(
                f"--cache-from {text}: the docker CLI's built-in BuildKit reads only image "
                "(registry or inline) caches",
                hint="install buildx for type=gha and type=local caches",
            )
    if request.platform:
        platforms = [item.strip() for item in request.platform.split(",") if item.strip()]
        if len(platforms) > 1:
            raise ConfigError(
                f"--platform {request.platform}: a multi-platform image cannot be loaded into "
                "the engine; build one platform at a time",
            )
        if cli.driver == "docker" and not _same_platform(platforms[0], cli.engine_platform):
            raise ConfigError(
                f"--platform {platforms[0]}: the engine's BuildKit (docker driver) builds only "
                f"the engine's platform, {cli.engine_platform}",
                hint="build on a machine of that platform, or use buildx with a "
                "docker-container builder and QEMU",
            )


def _same_platform(wanted: str, engine: str) -> bool:
    return wanted == engine or wanted.startswith(engine + "/")


def command_line(request: BuildKitRequest, cli: BuildKitCli) -> tuple[list[str], dict[str, str]]:
    """The argv of the build and the variables it needs on top of the environment."""
    buildx = cli.buildx_version is not None
    argv = [cli.path, *(["buildx", "build", "--load", "--provenance=false"] if buildx else
            ["build"])]  # fmt: skip
    argv += ["--progress", "plain", "--iidfile", str(request.iidfile)]
    if buildx and request.metadata_file is not None:
        argv += ["--metadata-file", str(request.metadata_file)]
    argv += ["-f", request.dockerfile]
    for tag in request.tags:
        argv += ["-t", tag]
    buildargs = dict(request.buildargs)
    for text in request.cache_to:
        spec = cache_spec(text, "--cache-to")
        if spec["type"] == "inline" and not buildx:
            buildargs["BUILDKIT_INLINE_CACHE"] = "1"
        else:
            argv += ["--cache-to", text]
    for name, value in buildargs.items():
        argv += ["--build-arg", f"{name}={value}"]
    for name, value in request.labels.items():
        argv += ["--label", f"{name}={value}"]
    if request.target:
        argv += ["--target", request.target]
    if request.network:
        argv += ["--network", request.network]
    if request.no_cache:
        argv.append("--no-cache")
    for text in request.cache_from:
        spec = cache_spec(text, "--cache-from")
        plain_ref = not buildx and spec["type"] == "registry"
        argv += ["--cache-from", spec["ref"] if plain_ref else text]
    for secret_id, source in request.secrets:
        argv += ["--secret", f"id={secret_id},src={source}"]
    if request.platform:
        argv += ["--platform", request.platform]
    argv.append(str(request.context))
    return argv, ({} if buildx else {"DOCKER_BUILDKIT": "1"})


def logged_form(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The command as people may see it: a secret's source path is dropped, its id kept."""
    shown = [f"{name}={value}" for name, value in env.items()]
    for word in argv:
        if word.startswith("id=") and ",src=" in word:
            word = word.split(",src=", 1)[0]
        shown.append(word if word and not re.search(r"[\s'\"$`\\]", word) else repr(word))
    return " ".join(shown)


@dataclass
class BuildKitLog:
    """What the plain progress said: each vertex's name, the steps, the cached ones, errors."""

    names: dict[int, str] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)  # stage -> its number of steps
    step_of: dict[int, tuple[str, int]] = field(default_factory=dict)
    cached: set[int] = field(default_factory=set)
    failed: tuple[str, str] | None = None  # (step, error)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))

    def read(self, line: str) -> None:
        self.tail.append(line)
        if match := _VERTEX.match(line):
            vertex, stage = int(match[1]), match[2] or ""
            number, count = int(match[3]), int(match[4])
            # A stage's size from its steps after FROM: builds running at once on one engine
            # share the FROM vertex of a common base, and it may carry the other build's label
            # (`[1/4] FROM`). A stage of FROM alone (`[name 1/1]`) has only that line.
            if number > 1 or count == 1:
                self.stages.setdefault(stage, count)
            self.step_of[vertex] = (stage, number)
        if match := _ERROR.match(line):
            vertex = int(match[1])
            self.failed = (self.names.get(vertex, f"#{vertex}"), match[2].strip())
        elif match := _CACHED.match(line):
            self.cached.add(int(match[1]))
        elif match := _VERTEX_ANY.match(line):
            self.names.setdefault(int(match[1]), match[2])

    def numbered(self) -> tuple[int, tuple[int, ...]]:
        """All steps over the stages, and the cached ones numbered through the stages in the
        order they were first seen."""
        offsets, total = {}, 0
        for stage, count in self.stages.items():
            offsets[stage], total = total, total + count
        cached = {
            offsets[stage] + number
            for vertex, (stage, number) in self.step_of.items()
            if vertex in self.cached and stage in offsets
        }
        return total, tuple(sorted(cached))


def run_build(
    request: BuildKitRequest,
    cli: BuildKitCli,
    *,
    on_log: Callable[[str], None],
    timeout: float,
) -> tuple[str, int, tuple[int, ...]]:
    """Run the build: the image ID, the number of steps and the cached ones.

    A failed step is a BuildError (exit 1) naming it, with the log's last lines in `detail`
    and `data`; a build over `timeout` seconds is stopped and is a BuildError too."""
    check_request(request, cli)
    argv, extra = command_line(request, cli)
    on_log(f"$ {logged_form(argv, extra)}")
    steps = BuildKitLog()
    timed_out = threading.Event()
    with cli_config_dir(Path(cli.user_config)) as config:
        env = {**os.environ, **extra, "DOCKER_CONFIG": config}
        try:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as err:
            raise EngineError(f"cannot run {cli.path}: {err.strerror or err}") from err

        def overrun() -> None:
            timed_out.set()
            stop(proc)

        watchdog = threading.Timer(timeout, overrun)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                if line:
                    steps.read(line)
                    on_log(line)
            code = proc.wait()
        except BaseException:
            stop(proc)
            raise
        finally:
            watchdog.cancel()
    if timed_out.is_set():
        raise BuildError(f"the build did not finish within {timeout:g} s and was stopped")
    if code != 0:
        step, error = steps.failed or ("", steps.tail[-1] if steps.tail else "")
        where = f" at step {step}" if step else ""
        raise BuildError(
            f"the build failed{where}: {error}",
            detail="\n".join(steps.tail),
            data={"step": step or None, "log_tail": list(steps.tail)},
        )
    total, cached = steps.numbered()
    return _image_id(request), total, cached


def _image_id(request: BuildKitRequest) -> str:
    if request.metadata_file is not None and request.metadata_file.is_file():
        try:
            metadata = json.loads(request.metadata_file.read_text(encoding="utf-8"))
            if digest := metadata.get("containerimage.config.digest"):
                return str(digest)
        except ValueError:
            pass  # the iidfile says it too
    try:
        image_id = request.iidfile.read_text(encoding="utf-8").strip()
    except OSError:
        image_id = ""
    if not image_id:
        raise BuildError("the build finished without writing its image ID (--iidfile)")
    return image_id


def build_with_cli(
    cli: BuildKitCli,
    *,
    context: Path,
    dockerfile: str,
    tags: Sequence[str],
    buildargs: Mapping[str, str],
    labels: Mapping[str, str],
    network: str | None,
    no_cache: bool,
    cache_from: Sequence[str],
    cache_to: Sequence[str],
    secrets: Sequence[tuple[str, str]],
    platform: str | None,
    on_log: Callable[[str], None],
    client: docker.DockerClient,
    timeout: float,
    target: str | None = None,
) -> BuildResult:
    """Build with BuildKit and describe the image as `classic.build_image` does."""
    from docker.errors import DockerException

    with tempfile.TemporaryDirectory(prefix="mlrelease-buildkit-") as directory:
        request = BuildKitRequest(
            context=context,
            dockerfile=dockerfile if os.path.isabs(dockerfile) else str(context / dockerfile),
            tags=tuple(tags),
            iidfile=Path(directory) / "iid",
            metadata_file=Path(directory) / "metadata.json" if cli.buildx_version else None,
            buildargs=buildargs,
            labels=labels,
            target=target,
            network=network,
            no_cache=no_cache,
            cache_from=tuple(cache_from),
            cache_to=tuple(cache_to),
            secrets=tuple(secrets),
            platform=platform,
        )
        image_id, total, cached = run_build(request, cli, on_log=on_log, timeout=timeout)
    try:
        image = client.images.get(image_id)
        layers = tuple(
            Layer(created_by=entry.get("CreatedBy", ""), size_bytes=int(entry.get("Size", 0)))
            for entry in image.history()
        )
    except DockerException as err:
        raise EngineError(f"the Docker engine failed to read the built image: {err}") from err
    return BuildResult(
        image_id=image.id,
        tags=tuple(tags),
        size_bytes=int(image.attrs["Size"]),
        steps=total,
        cached_steps=cached,
        layers=layers,
        builder="buildkit",
    )
