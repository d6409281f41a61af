"""Image figures: the final image against its base, the packages it installs, and a naive build.

Also times a cold build against a rebuild after a code-only change. Run from the repository root
after scripts/testground (it needs the engine and the base image it names):

    .venv/bin/python benchmarks/image_size.py [--base-image NAME]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlrelease.image import build_image, docker_client

REPO = Path(__file__).resolve().parents[1]

NAIVE_DOCKERFILE = """\
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY . .
RUN python -m pip install -r requirements.txt
CMD ["python", "-m", "service"]
"""


def prepare_context(root: Path) -> Path:
    """The repository's build context with a trained model, as `mlrelease build` would see it."""
    for name in ("Dockerfile", ".dockerignore", "requirements.txt"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(
        REPO / "service", root / "service", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "service.train",
            "--output",
            str(root / "service/model/model.joblib"),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return root


def du_bytes(client, image: str, path: str) -> int:
    output = client.containers.run(image, ["du", "-sb", path], remove=True)
    return int(output.split()[0])


def mb(size: int) -> str:
    return f"{size / 1e6:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-image", default=os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    )
    args = parser.parse_args()
    client = docker_client()
    build = dict(buildargs={"PYTHON_IMAGE": args.base_image}, network_mode="host", client=client)

    with tempfile.TemporaryDirectory(prefix="mlrelease-bench-") as tmp:
        context = prepare_context(Path(tmp))
        started = time.perf_counter()
        final = build_image(
            context=context, tags=["mlrelease-bench/final:cold"], nocache=True, **build
        )
        cold = time.perf_counter() - started

        app = context / "service" / "app.py"
        app.write_text(app.read_text() + "\n# a code-only change\n")
        started = time.perf_counter()
        build_image(context=context, tags=["mlrelease-bench/final:code-change"], **build)
        rebuild = time.perf_counter() - started

        (context / "Dockerfile.naive").write_text(NAIVE_DOCKERFILE)
        (context / ".dockerignore").unlink()  # naive: the whole context goes in
        naive_build = dict(build, context=context, dockerfile="Dockerfile.naive")
        naive = build_image(tags=["mlrelease-bench/naive:1"], **naive_build)
        app.write_text(app.read_text() + "# another code-only change\n")
        started = time.perf_counter()
        build_image(tags=["mlrelease-bench/naive:2"], **naive_build)
        naive_rebuild = time.perf_counter() - started

    base_size = int(client.images.get(args.base_image).attrs["Size"])
    packages = du_bytes(client, final.image_id, "/install")
    service = du_bytes(client, final.image_id, "/app")
    print(f"base image ({args.base_image}) {mb(base_size)}")
    print(f"installed packages (/install)  {mb(packages)}")
    print(f"service + model (/app)         {mb(service)}")
    print(f"final image (multi-stage)      {mb(final.size_bytes)}")
    print(f"naive single-stage image       {mb(naive.size_bytes)}")
    print()
    parts = base_size + packages + service
    print(f"final / (base + packages + service) = {final.size_bytes / parts:.3f}")
    print(f"final / naive                       = {final.size_bytes / naive.size_bytes:.3f}")
    print(f"final - base                        = {mb(final.size_bytes - base_size)}")
    print()
    print(f"cold build (no cache)          {cold:7.1f} s")
    print(f"rebuild after a code change    {rebuild:7.1f} s")
    print(f"rebuild / cold                 = {rebuild / cold:.3f}")
    print(f"naive rebuild after a change   {naive_rebuild:7.1f} s")
    print(f"rebuild / naive rebuild        = {rebuild / naive_rebuild:.3f}")


if __name__ == "__main__":
    main()
