"""Time of signing and attaching (signature, SBOM, provenance) and of verifying a release,
as a fraction of the push of that release: a tiny image and the service image (goal: <10%).

    .venv/bin/python benchmarks/sign.py

Needs the engine, the base image and the registry binary (run scripts/testground and
`source .mlrelease/testground.env` first). Works in a temporary git repository with its own
local registry on a free port; one run each. Reading the SBOM from the image is a cost of the
build (it is kept beside it) and is shown on its own line.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.push_bytes import start_registry

REPO = Path(__file__).resolve().parents[1]
TINY_BASE = "mlrelease-bench/tiny-base:1"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    proc = subprocess.run(
        ["git", *identity, *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def tiny_context(work: Path, client) -> Path:
    from docker.errors import ImageNotFound

    try:
        client.images.get(TINY_BASE)
    except ImageNotFound:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("etc/tiny-base")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"tiny\n"))
        name, tag = TINY_BASE.split(":")
        client.api.import_image_from_data(buffer.getvalue(), repository=name, tag=tag)
    context = work / "tiny"
    info = context / "usr/local/lib/python3.11/site-packages/numpy-2.4.6.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: numpy\nVersion: 2.4.6\n")
    model = context / "app/service/model"
    model.mkdir(parents=True)
    (model / "model.joblib").write_bytes(os.urandom(4096))
    (context / "Dockerfile").write_text(f"FROM {TINY_BASE}\nCOPY usr /usr\nCOPY app /app\n")
    return context


def service_context(work: Path) -> Path:
    context = work / "service-context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "requirements.txt"):
        shutil.copy2(REPO / name, context / name)
    (context / "service").mkdir()
    for source in (REPO / "service").glob("*.py"):
        shutil.copy2(source, context / "service" / source.name)
    output = context / "service/model/model.joblib"
    subprocess.run(
        [sys.executable, "-m", "service.train", "--output", str(output)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return context


def measure(name: str, context: Path, buildargs: dict[str, str], host: str, work: Path) -> None:
    from mlrelease.build.classic import build_image
    from mlrelease.config.settings import load_settings
    from mlrelease.engine import docker_client
    from mlrelease.registry.push import push_release
    from mlrelease.registry.target import open_target
    from mlrelease.supply.publish import sign_and_attach
    from mlrelease.supply.sbom import sbom_for_image
    from mlrelease.supply.verify import verify_release

    repo = work / f"repo-{name}"
    repo.mkdir()
    image = f"mlrelease-bench/sign-{name}-{os.getpid()}"
    (repo / "pyproject.toml").write_text(f'[tool.mlrelease]\nimage = "{image}"\n')
    shutil.copy2(context / "Dockerfile", repo / "Dockerfile")
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "bench")
    git(repo, "tag", "--annotate", "--message", "v0.1.0", "v0.1.0")
    commit = git(repo, "rev-parse", "HEAD")
    client = docker_client(timeout=600)
    build_image(
        context=context,
        tags=[f"{image}:v0.1.0"],
        buildargs=buildargs,
        labels={"org.opencontainers.image.revision": commit},
        network_mode=os.environ.get("MLRELEASE_BUILD_NETWORK"),
        on_log=lambda line: None,
        client=client,
    )
    env = {"MLRELEASE_REGISTRY_HOST": host, "MLRELEASE_SIGNING_KEY": new_private_key()}
    settings = load_settings(repo, env=env)
    try:
        started = time.perf_counter()
        pushed = push_release(settings, "v0.1.0")
        push_s = time.perf_counter() - started
        image_id = client.images.get(f"{image}:v0.1.0").id

        started = time.perf_counter()
        sbom_for_image(client, image_id, settings)
        sbom_s = time.perf_counter() - started

        started = time.perf_counter()
        target = open_target(settings)
        sign_and_attach(settings, target, target.ref("v0.1.0"), pushed.digest or "", client=client)
        sign_s = time.perf_counter() - started

        started = time.perf_counter()
        verified = verify_release(settings, "v0.1.0")
        verify_s = time.perf_counter() - started
        assert verified.exit_code == 0, verified.to_data()
    finally:
        from docker.errors import DockerException

        for tag in (f"{image}:v0.1.0", f"{host}/{image}:v0.1.0"):
            with contextlib.suppress(DockerException):
                client.images.remove(tag)
    size_mb = (pushed.compressed_size_bytes or 0) / 1e6
    total = sign_s + verify_s
    print(f"{name} image ({size_mb:.1f} MB compressed)")
    print(f"  push (first)          {push_s:8.2f} s")
    print(f"  sign + attach         {sign_s:8.2f} s  {sign_s / push_s:6.1%} of the push")
    print(f"  verify                {verify_s:8.2f} s  {verify_s / push_s:6.1%} of the push")
    goal = "met" if total / push_s < 0.10 else "NOT met"
    print(f"  sign + verify         {total:8.2f} s  {total / push_s:6.1%} (goal <10%: {goal})")
    print(f"  SBOM from the image   {sbom_s:8.2f} s  (a build cost, kept beside the build)")


def new_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def main() -> None:
    from mlrelease.engine import docker_client

    base = os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    with tempfile.TemporaryDirectory(prefix="mlrelease-sign-bench-") as tmp:
        work = Path(tmp)
        registry, host = start_registry(work)
        try:
            measure("tiny", tiny_context(work, docker_client()), {}, host, work)
            measure("service", service_context(work), {"PYTHON_IMAGE": base}, host, work)
        finally:
            registry.terminate()
            registry.wait(timeout=10)
            from docker.errors import DockerException

            with contextlib.suppress(DockerException):
                docker_client().images.remove(TINY_BASE)


if __name__ == "__main__":
    main()
