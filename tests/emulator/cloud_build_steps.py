"""How the Cloud Build emulator runs a build step on the local Docker engine.

A `gcr.io/cloud-builders/docker` step runs its args with the docker CLI on this machine, as the
builder image would inside the worker; any other step runs as a container of its image, which
must already be in the engine (nothing can be pulled here), with the workspace at /workspace.
Builds and containers use the host's network: there is no `cloudbuild` network here, and RUN
steps reach PyPI only through the host's."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DOCKER_BUILDER = re.compile(r"^(gcr\.io/cloud-builders/docker|docker)(:[\w.-]+|@sha256:\w+)?$")
_SUBSTITUTION = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|\$)")
_KILL_GRACE_S = 5.0


@dataclass(frozen=True)
class Outcome:
    """How a step's process ended: its exit code, or why it was stopped."""

    exit_code: int | None
    stopped: str | None = None  # "cancelled", "timeout" (the build's), "step-timeout"


def docker_cli() -> str:
    """The docker CLI that speaks the engine's API: the engine's own (20.10, Debian's
    docker.io) when present, else the first on PATH. The classic builder (as Cloud Build's
    docker builder uses it) then needs no deprecation warning in the log."""
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    found = shutil.which("docker")
    if found is None:
        raise RuntimeError("no docker CLI on PATH")
    return found


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`$VAR` and `${VAR}` replaced from `values` (built-ins and `_USER` substitutions);
    unknown names stay as written, `$$` is a dollar."""

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name is None:
            return "$"
        return values.get(name, match[0])

    return _SUBSTITUTION.sub(replace, text)


def with_host_network(args: list[str]) -> list[str]:
    """`docker build` and `docker run` args on the host's network (other commands as given)."""
    if not args or args[0] not in ("build", "run", "create"):
        return list(args)
    kept: list[str] = [args[0], "--network", "host"]
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in ("--network", "--net"):
            skip = True
        elif not arg.startswith(("--network=", "--net=")):
            kept.append(arg)
    return kept


def built_tags(args: list[str]) -> list[str]:
    """The `-t`/`--tag` names of a `docker build`, or the target of a `docker tag`."""
    if args[:1] == ["tag"] and len(args) >= 3:
        return [args[-1]]
    if args[:1] != ["build"]:
        return []
    tags = []
    for flag, value in itertools.pairwise(args):
        if flag in ("-t", "--tag"):
            tags.append(value)
    tags += [arg.split("=", 1)[1] for arg in args if arg.startswith(("-t=", "--tag="))]
    return tags


def container_command(
    docker: str,
    image: str,
    *,
    name: str,
    workspace: Path,
    directory: str,
    env: list[str],
    entrypoint: str,
    args: list[str],
) -> list[str]:
    """`docker run` of a step's own image, the workspace mounted as Cloud Build mounts it."""
    command = [docker, "run", "--rm", "--pull", "never", "--name", name, "--network", "host"]
    command += ["-v", f"{workspace}:/workspace", "-w", f"/workspace/{directory}".rstrip("/")]
    for variable in env:
        command += ["-e", variable]
    if entrypoint:
        command += ["--entrypoint", entrypoint]
    return [*command, image, *args]


def run(
    command: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    cancel: threading.Event,
    deadline: float,
    step_deadline: float | None = None,
    on_stop: Callable[[], None] | None = None,
) -> Outcome:
    """Runs `command`, giving each output line (stdout and stderr, as Cloud Build merges them)
    to `on_line`, until it exits, `cancel` is set, or a deadline (time.monotonic()) passes;
    then its process group is stopped and `on_stop` runs (to remove a container)."""
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so that a stop reaches children
        )
    except OSError as err:
        on_line(f"exec: {err}")
        return Outcome(127)
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for raw in iter(stdout.readline, b""):
            on_line(raw.decode(errors="replace").rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped = None
    while process.poll() is None:
        now = time.monotonic()
        if cancel.is_set():
            stopped = "cancelled"
        elif now >= deadline:
            stopped = "timeout"
        elif step_deadline is not None and now >= step_deadline:
            stopped = "step-timeout"
        if stopped:
            _stop(process)
            if on_stop is not None:
                on_stop()
            break
        cancel.wait(0.1)
    process.wait()
    reader.join(timeout=10)
    stdout.close()
    return Outcome(None if stopped else process.returncode, stopped)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the step's process group (a killed docker CLI makes the engine cancel its
    build), SIGKILL after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def docker_succeeds(docker: str, env: Mapping[str, str], *args: str) -> bool:
    """Whether `docker ARGS` exits 0 (its output is dropped)."""
    done = subprocess.run(
        [docker, *args], env=dict(env), capture_output=True, check=False, timeout=120
    )
    return done.returncode == 0


def remove_images(docker: str, env: Mapping[str, str], names: list[str], layers: list[str]) -> None:
    """Removes what a build left in the engine, as a discarded worker would: the images it
    tagged, then the untagged images the classic builder reported (` ---> ID`), which a
    multi-stage build leaves behind for its earlier stages. A tagged image (the base image) is
    never removed, and one still in use refuses removal."""
    for name in dict.fromkeys(names):
        docker_succeeds(docker, env, "image", "rm", name)
    for layer in reversed(dict.fromkeys(layers)):
        tags = subprocess.run(
            [docker, "image", "inspect", "--format", "{{len .RepoTags}}", layer],
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if tags.returncode == 0 and tags.stdout.strip() == "0":
            docker_succeeds(docker, env, "image", "rm", layer)
