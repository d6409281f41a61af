"""Image figures: the final image against its base, the packages it installs, and a naive build.

"Packages as pip leaves them" is the builder stage's `pip install` layer, before the pruning
step. Also times a cold build, a rebuild after a code-only change and a rebuild without a
change, as ratios. Its images are tagged under a name of its own and removed at the end. Run
from the repository root after scripts/testground (it needs the engine and the base image):

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
import uuid
from pathlib import Path

from mlrelease.build.classic import build_image
from mlrelease.engine import docker_client

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


def pip_layer_bytes(client, image_id: str) -> int:
    """The size of the `pip install` layer: the installed packages as pip leaves them."""
    history = client.images.get(image_id).history()
    return sum(int(entry["Size"]) for entry in history if "pip install" in entry["CreatedBy"])


def mb(size: int) -> str:
    return f"{size / 1e6:8.1f} MB"


def timed(build, **kwargs):
    started = time.perf_counter()
    result = build_image(**build, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-image", default=os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    )
    args = parser.parse_args()
    client = docker_client()
    name = f"mlrelease-bench-{uuid.uuid4().hex[:8]}"
    common = dict(buildargs={"PYTHON_IMAGE": args.base_image}, network_mode="host", client=client)
    try:
        with tempfile.TemporaryDirectory(prefix="mlrelease-bench-") as tmp:
            context = prepare_context(Path(tmp))
            build = dict(common, context=context)
            final, cold = timed(build, tags=[f"{name}/final:cold"], nocache=True)
            _, unchanged = timed(build, tags=[f"{name}/final:unchanged"])
            builder, _ = timed(build, tags=[f"{name}/builder:1"], target="builder")

            app = context / "service" / "app.py"
            app.write_text(app.read_text() + "\n# a code-only change\n")
            _, rebuild = timed(build, tags=[f"{name}/final:code-change"])

            (context / "Dockerfile.naive").write_text(NAIVE_DOCKERFILE)
            (context / ".dockerignore").unlink()  # naive: the whole context goes in
            naive_build = dict(build, dockerfile="Dockerfile.naive")
            naive, _ = timed(naive_build, tags=[f"{name}/naive:1"])
            app.write_text(app.read_text() + "# another code-only change\n")
            _, naive_rebuild = timed(naive_build, tags=[f"{name}/naive:2"])

        base_size = int(client.images.get(args.base_image).attrs["Size"])
        as_pip_leaves = pip_layer_bytes(client, builder.image_id)
        pruned = du_bytes(client, final.image_id, "/install")
        service = du_bytes(client, final.image_id, "/app")
    finally:
        for image in client.images.list(filters={"reference": f"{name}/*"}):
            for tag in image.tags:
                if tag.startswith(f"{name}/"):
                    client.images.remove(tag)

    print(f"base image ({args.base_image}) {mb(base_size)}")
    print(f"packages as pip leaves them    {mb(as_pip_leaves)}")
    print(f"packages pruned (/install)     {mb(pruned)}")
    print(f"service + model (/app)         {mb(service)}")
    print(f"final image (multi-stage)      {mb(final.size_bytes)}")
    print(f"naive single-stage image       {mb(naive.size_bytes)}")
    print()
    parts = base_size + as_pip_leaves + service
    print(
        f"final / (base + packages as pip leaves them + service) = {final.size_bytes / parts:.3f}"
        "  (target <= 0.90)"
    )
    print(f"pruned packages / as pip leaves them                   = {pruned / as_pip_leaves:.3f}")
    print(
        f"final / naive                                          = "
        f"{final.size_bytes / naive.size_bytes:.3f}"
    )
    print()
    print(f"cold build (no cache)          {cold:7.1f} s")
    print(f"rebuild after a code change    {rebuild:7.1f} s")
    print(f"rebuild without a change       {unchanged:7.1f} s")
    print(f"naive rebuild after a change   {naive_rebuild:7.1f} s")
    print(f"code-only rebuild / cold       = {rebuild / cold:.3f}")
    print(f"no-change rebuild / cold       = {unchanged / cold:.3f}")
    print(f"code-only rebuild / naive one  = {rebuild / naive_rebuild:.3f}")


if __name__ == "__main__":
    main()
