"""Builder figures: what BuildKit's pip cache mount and a registry cache save, one run each.

(a) After a one-package change to requirements.txt (a line added, with a comment of this run's
    own, so that no earlier run's layers match), a BuildKit rebuild of Dockerfile.buildkit (its
    `RUN --mount=type=cache` keeps pip's downloads) against a classic rebuild of Dockerfile,
    each after a warm build of the commit before.
(b) A fresh engine (this script's images and the engine's whole BuildKit cache removed, the
    base image kept) building with the inline cache of the last build, pushed to a local
    registry, against building without it: the CI runner's case. The bytes are what the
    registry served (its log's blob GETs).

Every build is `mlrelease --verbose build --builder ...` in a temporary clone of HEAD with a
trained model, with RUN steps on MLRELEASE_BUILD_NETWORK (default host); the pip columns add up
the wheel sizes pip's log gives. pip keeps in its cache only the answers the index lets it keep
(Cache-Control max-age, an ETag, or Expires, as PyPI sends): behind an index or proxy that sends
none, the cache mount stays empty and (a) compares the builders alone. The images are tagged
under a name of this script's own and removed at the end; `docker builder prune -af` in (b)
empties the build cache of the engine DOCKER_HOST names, so run it on an engine of your own.
Run from the repository root after scripts/testground and `source .mlrelease/testground.env`:

    .venv/bin/python benchmarks/builders.py [--package six==1.17.0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the root

from benchmarks.push_bytes import start_registry

REPO = Path(__file__).resolve().parents[1]
MLRELEASE = Path(sys.executable).with_name("mlrelease")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]


_BUILT = re.compile(r"^Built \S+: .*?(\d+) of (\d+) steps from the cache", re.MULTILINE)
# pip's lines for a wheel fetched from the index and for one taken from its cache.
_PIP = re.compile(r"\b(Downloading|Using cached) \S+ \(([\d.]+) (bytes|kB|MB|GB)\)")
_UNITS = {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


@dataclass(frozen=True)
class Build:
    """One `mlrelease build`: its wall-clock time, its image, and what its log said."""

    seconds: float
    ref: str
    image_id: str
    dockerfile: str
    steps: int
    cached: int
    downloaded: int  # bytes of the wheels pip fetched from the index
    from_pip_cache: int  # bytes of the wheels pip took from its cache


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def build(repo: Path, env: dict[str, str], builder: str, *args: str) -> Build:
    """`mlrelease --verbose build`: --verbose puts each step's output (pip's) in the log."""
    started = time.perf_counter()
    proc = run(repo, str(MLRELEASE), "--verbose", "build", "--builder", builder, *args, env=env)
    seconds = time.perf_counter() - started
    ref = proc.stdout.split()[-1]
    image_id, dockerfile = docker(
        "image", "inspect", ref, "--format",
        '{{.Id}} {{index .Config.Labels "org.mlrelease.dockerfile"}}',
    ).split()  # fmt: skip
    built = _BUILT.search(proc.stderr)
    if built is None:
        sys.exit(f"no `Built ...` line in the log of {ref}:\n{proc.stderr[-2000:]}")
    fetched = {"Downloading": 0.0, "Using cached": 0.0}
    for kind, size, unit in _PIP.findall(proc.stderr):
        fetched[kind] += float(size) * _UNITS[unit]
    return Build(
        seconds,
        ref,
        image_id,
        dockerfile,
        steps=int(built[2]),
        cached=int(built[1]),
        downloaded=int(fetched["Downloading"]),
        from_pip_cache=int(fetched["Using cached"]),
    )


def docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"docker {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def tags_of(name: str) -> list[str]:
    """Every NAME:TAG of the images under repository `name`."""
    return docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).split()


def remove_images(name: str) -> None:
    """Untag every image under repository `name` (tags only: what others use stays)."""
    if tags := tags_of(name):
        docker("image", "rm", *tags)


def remove_builds(names: list[str], builds: list[Build]) -> None:
    """Remove this script's images: every tag under `names`, and each build's image (one a
    later build untagged is still there, and its layers would be reused)."""
    for name in names:
        remove_images(name)
    for made in builds:
        subprocess.run(["docker", "image", "rm", made.image_id], capture_output=True, check=False)


def fresh_engine(names: list[str], builds: list[Build]) -> None:
    """The engine as a new CI runner has it: none of this script's images, no build cache (the
    pip cache mount included). The base image, which cannot be pulled here, stays."""
    remove_builds(names, builds)
    docker("builder", "prune", "--all", "--force")


def blob_bytes_served(log: Path) -> int:
    """The bytes of the blobs the registry has served (GET .../blobs/...) so far."""
    served = 0
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("http.request.method") == "GET" and "/blobs/" in str(
            entry.get("http.request.uri", "")
        ):
            served += int(entry.get("http.response.written", 0))
    return served


def stored_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package",
        default="six==1.17.0",
        help="the requirement line (a small pure-Python package) the change adds",
    )
    args = parser.parse_args()
    image = f"mlrelease-bench/builders-{uuid.uuid4().hex[:8]}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLRELEASE_", "GCP_", "GAR_", "GOOGLE_"))
    }
    env.update(
        MLRELEASE_IMAGE=image,
        MLRELEASE_BUILD_NETWORK=os.environ.get("MLRELEASE_BUILD_NETWORK", "host"),
        NO_COLOR="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    if os.environ.get("MLRELEASE_BASE_IMAGE"):
        env["MLRELEASE_BASE_IMAGE"] = os.environ["MLRELEASE_BASE_IMAGE"]
    builds: list[Build] = []
    with tempfile.TemporaryDirectory(prefix="mlrelease-builders-bench-") as tmp:
        work = Path(tmp)
        repo = work / "repo"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(repo)], check=True)
        run(repo, sys.executable, "-m", "service.train", env=env)
        log = work / "registry.log"
        registry, host = start_registry(work, log=log)
        cache_image = f"{host}/{image}"
        try:
            # (a) the commit before, built warm both ways; then one more package.
            builds += [build(repo, env, "classic"), build(repo, env, "buildkit")]
            with (repo / "requirements.txt").open("a") as handle:
                # The run's own comment makes the file new to both caches, whatever ran before.
                handle.write(f"{args.package}  # benchmarks/builders.py, run {image}\n")
            run(repo, *GIT, "commit", "--quiet", "-am", f"add {args.package}", env=env)
            classic = build(repo, env, "classic")
            buildkit = build(repo, env, "buildkit")
            builds += [classic, buildkit]

            # (b) the last build's inline cache, in a registry; then fresh engines.
            cached = build(repo, env, "buildkit", "--cache-to", "type=inline")
            builds.append(cached)
            docker("tag", cached.ref, f"{cache_image}:cache")
            docker("push", f"{cache_image}:cache")
            pushed = stored_bytes(work / "registry")
            fresh_engine([image, cache_image], builds)
            before = blob_bytes_served(log)
            with_cache = build(repo, env, "buildkit", "--cache-from", f"{cache_image}:cache")
            pulled_with = blob_bytes_served(log) - before
            builds.append(with_cache)
            fresh_engine([image, cache_image], builds)
            before = blob_bytes_served(log)
            without = build(repo, env, "buildkit")
            pulled_without = blob_bytes_served(log) - before
            builds.append(without)
        finally:
            remove_builds([image, cache_image], builds)
            registry.terminate()
            registry.wait(timeout=10)

    print(f"(a) rebuild after adding {args.package} to requirements.txt, each after a warm build")
    print(
        f"    {'builder':<9} {'Dockerfile':<20} {'seconds':>8} {'steps cached':>13} "
        f"{'pip downloaded':>15} {'from pip cache':>15}"
    )
    for name, made in (("classic", classic), ("buildkit", buildkit)):
        print(
            f"    {name:<9} {made.dockerfile:<20} {made.seconds:>8.1f} "
            f"{made.cached:>6} of {made.steps:<4} {made.downloaded:>15,} {made.from_pip_cache:>15,}"
        )
    print(f"    buildkit / classic = {buildkit.seconds / classic.seconds:.3f} (time)")
    if classic.downloaded:
        print(
            f"    buildkit / classic = {buildkit.downloaded / classic.downloaded:.3f} (downloads)"
        )
    print()
    print("(b) BuildKit on a fresh engine (no images of this build, no build cache)")
    print(f"    inline cache pushed to the registry: {pushed:,} bytes stored")
    print(
        f"    {'cache':<34} {'seconds':>8} {'registry bytes':>15} {'steps cached':>13} "
        f"{'pip downloaded':>15}"
    )
    for name, made, pulled in (
        ("--cache-from the registry image", with_cache, pulled_with),
        ("none (the CI runner without cache)", without, pulled_without),
    ):
        print(
            f"    {name:<34} {made.seconds:>8.1f} {pulled:>15,} "
            f"{made.cached:>6} of {made.steps:<4} {made.downloaded:>15,}"
        )
    print(f"    with cache / without = {with_cache.seconds / without.seconds:.3f} (time)")


if __name__ == "__main__":
    main()
