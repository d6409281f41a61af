"""Cloud Build figures: `mlrelease build --builder cloud-build` through the Cloud Build, Cloud
Storage and Artifact Registry emulators against `mlrelease build --builder buildkit` of the same
project on the local engine; both builds from cold (--no-cache), one run each. The ratio is the
emulator's overhead: staging the context, the API round trips, the log tailer and the push the
Cloud Build worker makes. Run from the repository root after scripts/testground:

    .venv/bin/python benchmarks/cloud_build.py [--megabytes 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make the emulators importable

from tests.emulator.cloud_build import CloudBuildEmulator  # noqa: E402
from tests.emulator.server import GarEmulator  # noqa: E402
from tests.emulator.storage import StorageEmulator  # noqa: E402

MLRELEASE = Path(sys.executable).with_name("mlrelease")


def project(path: Path, image: str, base: str, megabytes: int) -> None:
    """A git repository with a two-step Dockerfile and a payload of `megabytes` random MB."""
    path.mkdir()
    (path / "payload").write_bytes(os.urandom(megabytes * 1024 * 1024))
    (path / "Dockerfile").write_text(
        f"FROM {base}\nCOPY payload /payload\nRUN python -c \"print('built')\" > /built\n"
    )
    (path / "pyproject.toml").write_text(f'[tool.mlrelease]\nimage = "{image}"\nmodel_path = ""\n')
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)


def timed_build(path: Path, env: dict[str, str], builder: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(MLRELEASE), "--json", "build", "--builder", builder, "--no-cache"],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{builder} build failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)["data"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=8)
    args = parser.parse_args()
    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary:
        raise SystemExit("no docker-registry binary: run scripts/testground first")
    base = os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    image = f"mlrelease-bench/cloud-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="mlrelease-cloud-bench-") as tmp:
        work = Path(tmp)
        for name in ("gar", "cloudbuild"):
            (work / name).mkdir()
        gar = GarEmulator(binary, work / "gar")
        storage = StorageEmulator(gar)
        cloud = CloudBuildEmulator(gar, storage, work / "cloudbuild", queue_delay_s=0.0)
        try:
            project(work / "project", image, base, args.megabytes)
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("MLRELEASE_", "GCP_", "GAR_", "GOOGLE_"))
            }
            env.update(
                DOCKER_HOST=os.environ.get("DOCKER_HOST", ""),
                MLRELEASE_BASE_IMAGE=base,
                MLRELEASE_BUILD_NETWORK=os.environ.get("MLRELEASE_BUILD_NETWORK", "host"),
                HOME=str(work / "home"),
                NO_GCE_CHECK="true",
            )
            local_s, _ = timed_build(work / "project", env, "buildkit")
            env.update(
                MLRELEASE_GCP_PROJECT=gar.project,
                MLRELEASE_REGION=gar.location,
                MLRELEASE_REPOSITORY="docker",
                MLRELEASE_REGISTRY_HOST=gar.registry_host,
                MLRELEASE_GAR_ENDPOINT=gar.api_endpoint,
                MLRELEASE_CLOUD_BUILD_ENDPOINT=cloud.endpoint,
                STORAGE_EMULATOR_HOST=storage.endpoint,
                GCP_SA_KEY=json.dumps(gar.service_account_key()),
            )
            cloud_s, remote = timed_build(work / "project", env, "cloud-build")
        finally:
            cloud.stop()
            storage.stop()
            gar.stop()
            ids = subprocess.run(
                ["docker", "images", "-q", image], capture_output=True, text=True, check=False
            ).stdout.split()
            if ids:
                subprocess.run(["docker", "image", "rm", "-f", *ids], capture_output=True)
    print(
        f"Cloud Build through the emulators vs a local BuildKit build ({args.megabytes} MB payload)"
    )
    print(f"{'builder':<40}{'seconds':>10}")
    print(f"{'buildkit (local engine, --no-cache)':<40}{local_s:>10.2f}")
    print(f"{'cloud-build (emulated, --no-cache)':<40}{cloud_s:>10.2f}")
    print(f"cloud-build / buildkit: {cloud_s / local_s:.2f}x")
    print(f"cloud-build digest {remote['digest']}, build {remote['build_id']}")


if __name__ == "__main__":
    main()
