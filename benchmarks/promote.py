"""Promotion figures: `mlrelease promote` of a signed image between two local registries
against `docker pull` + `docker tag` + `docker push` of the same image (which leaves the
signature, SBOM and provenance behind); time and bytes stored in the destination, one run each,
then a second promotion. The image (a random ~32 MB layer) with a cosign signature and two
documents of `--document-kb` as its SBOM and provenance, and the registries, are this script's
own and removed at the end. `--image` promotes an image of the local engine instead, such as
the service image `mlrelease build` made; its layers stay in the engine, so docker's pull then
downloads none of them and its time is mostly the push. Run from the repository root after
scripts/testground:

    .venv/bin/python benchmarks/promote.py [--megabytes 32] [--document-kb 512] [--image REF]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the root

from benchmarks.push_bytes import start_registry, stored_bytes
from mlrelease.config.settings import load_settings
from mlrelease.registry.v2 import RegistryClient
from mlrelease.supply import attach, provenance, sbom
from mlrelease.supply.promotion import promote_with_artifacts
from mlrelease.supply.signing import Signer, simple_signing_payload


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


def sign(host: str, path: str, document_kb: int) -> None:
    """A cosign signature (a fresh key) and two documents attached to `path:v1.0.0`."""
    from cryptography.hazmat.primitives.asymmetric import ec

    client = RegistryClient(host)
    image = client.manifest(path, "v1.0.0")
    assert image is not None
    payload = simple_signing_payload(f"{host}/{path}", image.digest)
    signer = Signer(ec.generate_private_key(ec.SECP256R1()))
    attach.put_signature(client, path, image.digest, payload, signer.sign(payload))
    for media_type in (sbom.MEDIA_TYPE, provenance.MEDIA_TYPE):
        document = os.urandom(document_kb * 1024)
        attach.attach_document(client, path, image, media_type, document)


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=32)
    parser.add_argument("--document-kb", type=int, default=512)
    parser.add_argument("--image", metavar="REF", help="an image of the local engine to promote")
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
            if args.image:
                docker("tag", args.image, f"{staging}/{image}:v1.0.0")
            else:
                make_image(f"{staging}/{image}:v1.0.0", args.megabytes)
            docker("push", f"{staging}/{image}:v1.0.0")
            docker("rmi", f"{staging}/{image}:v1.0.0")
            sign(staging, image, args.document_kb)

            settings = load_settings(
                work, env={"MLRELEASE_REGISTRY_HOST": staging, "MLRELEASE_IMAGE": image}
            )
            start = time.perf_counter()
            result = promote_with_artifacts(settings, "v1.0.0", to=f"{promoted}/{image}")
            promote_s = time.perf_counter() - start
            promote_bytes = stored_bytes(work / "prod-promote" / "registry")
            start = time.perf_counter()
            again = promote_with_artifacts(settings, "v1.0.0", to=f"{promoted}/{image}")
            again_s = time.perf_counter() - start

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
    carried = sum(artifact.bytes_sent for artifact in result.artifacts)
    kinds = ", ".join(artifact.kind for artifact in result.artifacts)
    shown = args.image or f"one {args.megabytes} MB layer"
    print(f"image: {shown}, {result.bytes_sent / 1e6:.1f} MB streamed")
    print(f"artifacts carried: {kinds}; {carried / 1e6:.2f} MB of it")
    print(
        f"promote (Registry API v2, no engine): {promote_s:.2f} s, {promote_bytes / 1e6:.1f} MB "
        "stored in the destination"
    )
    print(f"promote again: {again_s:.2f} s, {again.bytes_sent} bytes sent")
    print(
        f"docker pull + tag + push:             {docker_s:.2f} s, {docker_bytes / 1e6:.1f} MB "
        "stored in the destination"
    )
    print(f"ratio (docker / promote): {docker_s / promote_s:.1f}x the time")


if __name__ == "__main__":
    main()
