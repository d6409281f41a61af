"""Which builder makes the image: docker-py's classic builder, or BuildKit through a docker CLI.

`builder = "cloud-build"` builds on Google's Cloud Build (cloud_build.py) and needs no engine.
`builder = "auto"` (the default) picks BuildKit when a docker CLI on this machine can run a
BuildKit build against the engine DOCKER_HOST names, else the classic builder. A CLI qualifies
when `docker buildx version` answers (buildx), or when its client is one with BuildKit built in
(18.09 to 22.x, run with DOCKER_BUILDKIT=1): from 23.0 on, `docker build` hands BuildKit builds
to the buildx plugin and refuses them without it. Each CLI is probed with two or three cheap
commands, each with a timeout; one whose `docker version` shows no Server does not talk to
DOCKER_HOST and is passed over.

What the BuildKit builder can do depends on the driver: the engine's own BuildKit (the
`docker` driver, also buildx's default) exports only the inline cache and builds only the
engine's platform; buildx's docker-container, kubernetes and remote drivers can do it all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from mlrelease.errors import ConfigError, PreconditionError

BUILDERS = ("classic", "buildkit", "cloud-build", "auto")
PROBE_TIMEOUT_S = 10
# The CLI on PATH first, then the places distributions install one.
_CANDIDATES = ("docker", "/usr/bin/docker", "/usr/local/bin/docker")
# Shared with the user's Docker config: plugins (buildx itself) and buildx's builder instances,
# never config.json, whose credential helpers can break a build.
_SHARED_CONFIG = ("cli-plugins", "buildx")

Probe = Callable[[Sequence[str], Mapping[str, str]], tuple[int, str]]


@dataclass(frozen=True)
class BuildKitCli:
    """A docker CLI that can run a BuildKit build against the engine."""

    path: str
    client_version: str
    engine_version: str
    engine_platform: str  # e.g. linux/amd64: the only platform the docker driver builds
    buildx_version: str | None = None  # None: BuildKit built into `docker build`
    driver: str = "docker"  # buildx's driver for the current builder; "docker" without buildx
    user_config: str = ""  # the user's Docker config directory, whose plugins the CLI uses

    @property
    def how(self) -> str:
        """For people: `buildx v0.12.1 (docker-container driver)` or `DOCKER_BUILDKIT=1`."""
        if self.buildx_version:
            return f"buildx {self.buildx_version} ({self.driver} driver)"
        return "its built-in BuildKit (DOCKER_BUILDKIT=1 docker build)"

    @property
    def cache_exports(self) -> tuple[str, ...]:
        """The --cache-to types this CLI and driver can write."""
        if self.buildx_version and self.driver != "docker":
            return ("registry", "gha", "inline", "local")
        return ("inline",)


@dataclass(frozen=True)
class BuilderChoice:
    """The builder a build uses, why, and what was found on the way (for doctor)."""

    name: str  # "classic" | "buildkit" | "cloud-build"
    reason: str
    cli: BuildKitCli | None = None
    looked_at: tuple[str, ...] = ()  # one phrase per CLI probed


def run_probe(command: Sequence[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Run a cheap CLI command: its exit code and output (127 when it cannot be run)."""
    try:
        done = subprocess.run(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return 127, str(err)
    return done.returncode, (done.stdout + done.stderr).strip()


def has_builtin_buildkit(client_version: str) -> bool:
    """Whether `docker build` of this client version runs BuildKit without buildx."""
    try:
        major, minor = (int(part) for part in client_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (18, 9) and major < 23


def probe_cli(path: str, env: Mapping[str, str], run: Probe = run_probe) -> BuildKitCli | str:
    """The BuildKit CLI `path` is, or a phrase saying why it is none."""
    code, out = run(
        [path, "version", "--format", "{{.Client.Version}}|{{.Server.Version}}|"
         "{{.Server.Os}}/{{.Server.Arch}}"],
        env,
    )  # fmt: skip
    fields = out.splitlines()[0].split("|") if out else []
    if code != 0 or len(fields) != 3 or not fields[1]:
        return f"{path}: does not reach the engine DOCKER_HOST names"
    client, engine, platform = fields
    code, out = run([path, "buildx", "version"], env)
    if code == 0 and out:
        version = out.split()[1] if len(out.split()) > 1 else out.split()[0]
        _, inspected = run([path, "buildx", "inspect"], env)
        driver = next(
            (
                line.split(":", 1)[1].strip()
                for line in inspected.splitlines()
                if line.startswith("Driver:")
            ),
            "docker",
        )
        return BuildKitCli(path, client, engine, platform, version, driver)
    if has_builtin_buildkit(client):
        return BuildKitCli(path, client, engine, platform)
    return f"{path}: client {client} has no buildx plugin and no built-in BuildKit"


def find_buildkit_cli(
    env: Mapping[str, str], run: Probe = run_probe, candidates: Sequence[str] | None = None
) -> tuple[BuildKitCli | None, tuple[str, ...]]:
    """The best BuildKit CLI (buildx first, then a built-in BuildKit) and a phrase per CLI."""
    found: list[BuildKitCli] = []
    notes: list[str] = []
    seen: set[str] = set()
    user = user_config_dir(env)
    with cli_config_dir(user) as config:
        probe_env = {**env, "DOCKER_CONFIG": config}
        for candidate in _CANDIDATES if candidates is None else candidates:
            _probe_one(candidate, probe_env, run, seen, found, notes)
    found = [replace(cli, user_config=str(user)) for cli in found]
    best = next((cli for cli in found if cli.buildx_version), found[0] if found else None)
    return best, tuple(notes)


def _probe_one(
    candidate: str,
    env: Mapping[str, str],
    run: Probe,
    seen: set[str],
    found: list[BuildKitCli],
    notes: list[str],
) -> None:
    path = shutil.which(candidate, path=env.get("PATH")) if "/" not in candidate else candidate
    if not path or not os.access(path, os.X_OK):
        return
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    probed = probe_cli(path, env, run)
    if isinstance(probed, str):
        notes.append(probed)
    else:
        found.append(probed)
        notes.append(f"{path}: docker {probed.client_version}, {probed.how}")


def choose_builder(
    setting: str, source: str, env: Mapping[str, str], run: Probe = run_probe
) -> BuilderChoice:
    """The builder `setting` (from `source`) names; `auto` probes for a BuildKit CLI.

    `buildkit` without such a CLI is a PreconditionError (exit 3)."""
    if setting in ("classic", "cloud-build"):
        return BuilderChoice(setting, f"builder = {setting} (from {source})")
    cli, notes = find_buildkit_cli(env, run)
    found = "; ".join(notes) or "no docker CLI found"
    if cli is not None:
        why = "auto: a docker CLI can run BuildKit" if setting == "auto" else "builder = buildkit"
        return BuilderChoice("buildkit", f"{why}: {cli.path}, {cli.how}", cli, notes)
    if setting == "buildkit":
        raise PreconditionError(
            f"builder buildkit (from {source}) needs a docker CLI that can run BuildKit: {found}",
            hint="install the buildx plugin, or a docker CLI with BuildKit built in (Debian's "
            "docker.io gives /usr/bin/docker 20.10), or use --builder classic",
        )
    return BuilderChoice(
        "classic", f"auto: no docker CLI can run BuildKit here ({found})", None, notes
    )


def check_classic(
    *, cache_from: Sequence[str], cache_to: Sequence[str], secrets: bool, platform: str | None
) -> None:
    """Refuse what only BuildKit does (ConfigError, exit 2), saying `--builder buildkit`."""
    needs = [
        *(f"--cache-from {spec}" for spec in cache_from if spec.startswith("type=")),
        *(f"--cache-to {spec}" for spec in cache_to),
        *(["build secrets (`secrets`)"] if secrets else []),
        *([f"--platform {platform}"] if platform else []),
    ]
    if needs:
        raise ConfigError(
            f"{needs[0]} needs BuildKit; the classic builder (docker-py) cannot do it",
            hint='build with `--builder buildkit` (or `builder = "buildkit"` in '
            "[tool.mlrelease]); `mlrelease doctor` says which docker CLI it would use",
        )


def build_secrets(
    pairs: Sequence[tuple[str, str]], root: Path, source: str
) -> tuple[tuple[str, str], ...]:
    """The `secrets` setting with each source made absolute (against the project root);
    ConfigError (exit 2) naming the id when a source file is missing."""
    resolved = []
    for secret_id, src in pairs:
        path = root / Path(src).expanduser()  # an absolute source stays itself
        if not path.is_file():
            raise ConfigError(
                f"the build secret {secret_id!r} (from {source}) has no source file {path}",
                hint=f"create {path}, or fix `secrets` (id={secret_id},src=PATH)",
            )
        resolved.append((secret_id, str(path)))
    return tuple(resolved)


def user_config_dir(env: Mapping[str, str]) -> Path:
    """The Docker config directory the user's CLI reads (DOCKER_CONFIG, else ~/.docker)."""
    return Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")


@contextmanager
def cli_config_dir(user: Path) -> Iterator[str]:
    """A Docker config directory for the CLI like `engine.isolated_docker_config`'s: no
    config.json (so no credential helper), but the plugins and buildx builders of `user`."""
    with tempfile.TemporaryDirectory(prefix="mlrelease-docker-config-") as directory:
        for name in _SHARED_CONFIG:
            if (user / name).is_dir():
                os.symlink(user / name, Path(directory) / name)
        yield directory
