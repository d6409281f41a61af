"""Promotion figures: `mlrelease promote` of an image between two local registries against
`docker pull` + `docker tag` + `docker push` of the same image; time and bytes stored in the
destination, one run each. The image (a random ~32 MB layer on the tiny base) and both
registries are this script's own and removed at the end. Run from the repository root after
scripts/testground:

    .venv/bin/python benchmarks/promote.py [--megabytes 32]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.push_bytes import start_registry, stored_bytes
from mlrelease.config.settings import load_settings
from mlrelease.registry.promote import promote_release


def make_image(name: str, megabytes: int) -> None:
    """An image of one random layer, imported from a tar (no pull needed)."""
    buffer = io.BytesIO()
    data = os.urandom(megabytes * 1024 * 1024)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("payload")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(
        ["docker", "import", "-", name], input=buffer.getvalue(), check=True, capture_output=True
    )


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=32)
    args = parser.parse_args()
    image = f"mlrelease-bench/promote-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="mlrelease-promote-bench-") as tmp:
        work = Path(tmp)
        processes = []
        hosts = []
        for side in ("staging", "prod-promote", "prod-docker"):
            (work / side).mkdir()
            process, host = start_registry(work / side)
            processes.append(process)
            hosts.append(host)
        staging, promoted, pushed = hosts
        try:
            make_image(f"{staging}/{image}:v1.0.0", args.megabytes)
            docker("push", f"{staging}/{image}:v1.0.0")
            docker("rmi", f"{staging}/{image}:v1.0.0")

            settings = load_settings(
                work, env={"MLRELEASE_REGISTRY_HOST": staging, "MLRELEASE_IMAGE": image}
            )
            start = time.perf_counter()
            result = promote_release(settings, "v1.0.0", to=f"{promoted}/{image}")
            promote_s = time.perf_counter() - start
            promote_bytes = stored_bytes(work / "prod-promote" / "registry")

            start = time.perf_counter()
            docker("pull", f"{staging}/{image}:v1.0.0")
            docker("tag", f"{staging}/{image}:v1.0.0", f"{pushed}/{image}:v1.0.0")
            docker("push", f"{pushed}/{image}:v1.0.0")
            docker_s = time.perf_counter() - start
            docker_bytes = stored_bytes(work / "prod-docker" / "registry")
        finally:
            for name in (f"{staging}/{image}:v1.0.0", f"{pushed}/{image}:v1.0.0"):
                subprocess.run(["docker", "rmi", name], capture_output=True, check=False)
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    print(f"image: one {args.megabytes} MB layer, {result.bytes_sent / 1e6:.1f} MB streamed")
    print(
        f"promote (Registry API v2, no engine): {promote_s:.2f} s, {promote_bytes / 1e6:.1f} MB "
        "stored in the destination"
    )
    print(
        f"docker pull + tag + push:             {docker_s:.2f} s, {docker_bytes / 1e6:.1f} MB "
        "stored in the destination"
    )
    print(f"ratio (docker / promote): {docker_s / promote_s:.1f}x the time")


if __name__ == "__main__":
    main()
