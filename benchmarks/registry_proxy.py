"""Pushing through the GAR emulator's registry host against pushing to the registry directly.

    .venv/bin/python benchmarks/registry_proxy.py [--size-mb N] [--runs N]

The emulator's registry host (token service plus a streaming, fault-injecting proxy in front of a
distribution registry with token auth) is what the tests push to; this measures what it costs
against an open distribution registry on the same machine. Each push sends a new one-layer image
of N MB of random bytes (the engine compresses it either way). Run after scripts/testground.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the emulator lives in the test tree, not in an installed package

from tests.emulator import GarEmulator  # noqa: E402
from tests.emulator.server import free_port  # noqa: E402


def random_layer(size_mb: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("payload.bin")
        info.size = size_mb * 1024 * 1024
        tar.addfile(info, io.BytesIO(os.urandom(info.size)))
    return buffer.getvalue()


def timed_push(client, repository: str, size_mb: int, auth: dict[str, str] | None) -> float:
    client.api.import_image_from_data(random_layer(size_mb), repository=repository, tag="bench")
    try:
        start = time.perf_counter()
        stream = list(
            client.api.push(repository, tag="bench", stream=True, decode=True, auth_config=auth)
        )
        elapsed = time.perf_counter() - start
    finally:
        client.images.remove(f"{repository}:bench", force=True)
    errors = [item["errorDetail"]["message"] for item in stream if "errorDetail" in item]
    if errors:
        raise SystemExit(f"push to {repository} failed: {errors[0]}")
    return elapsed


def open_registry(binary: str, root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = root / "open.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'open'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return process, f"127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import docker
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary:
        raise SystemExit("docker-registry is not installed: run scripts/testground")
    client = docker.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gar = GarEmulator(binary, root)
        process, direct_host = open_registry(binary, root)
        try:
            credentials = service_account.Credentials.from_service_account_info(
                gar.service_account_key(),
                scopes=["https://www.googleapis.com/auth/cloud-platform"],
            )
            credentials.refresh(Request())
            auth = {"username": "oauth2accesstoken", "password": credentials.token}
            proxied, direct = [], []
            for _ in range(args.runs):
                name = f"bench-{uuid.uuid4().hex[:8]}"
                proxied.append(
                    timed_push(
                        client,
                        f"{gar.registry_host}/test-project/docker/{name}",
                        args.size_mb,
                        auth,
                    )
                )
                direct.append(timed_push(client, f"{direct_host}/{name}", args.size_mb, None))
        finally:
            gar.stop()
            process.terminate()
            process.wait(timeout=10)
            client.close()
    p, d = statistics.median(proxied), statistics.median(direct)
    print(f"push of a new {args.size_mb} MB layer, median of {args.runs}:")
    print(f"  through the emulator (token auth + proxy)  {p:6.2f} s")
    print(f"  direct to an open registry                 {d:6.2f} s")
    print(f"  ratio                                      {p / d:6.2f}x")


if __name__ == "__main__":
    main()
