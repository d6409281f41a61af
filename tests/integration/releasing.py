"""Helpers for release tests: a git repository to release from and small labelled images.

Images are made from a few-kB base imported from a tar, so a push moves kilobytes, and each
test uses its own image name, so tests share the engine and registries without colliding.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.unit.conftest import Repo, init_repo

MLRELEASE = Path(sys.executable).with_name("mlrelease")
TINY_BASE = "mlrelease-test/tiny-base:1"


def tiny_base(client) -> str:
    """A one-file base image imported from a tar (no pull, no base image needed)."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(TINY_BASE)
    except ImageNotFound:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = b"tiny base\n"
            info = tarfile.TarInfo("etc/tiny-base")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        client.api.import_image_from_data(
            buffer.getvalue(), repository=TINY_BASE.split(":")[0], tag=TINY_BASE.split(":")[1]
        )
    return TINY_BASE


@dataclass
class ReleaseRepo:
    """A git repository whose pyproject names a unique image, and the commands to release it."""

    repo: Repo
    image: str
    env: dict[str, str]

    @property
    def path(self) -> Path:
        return self.repo.path

    def mlrelease(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MLRELEASE), *args],
            cwd=self.path,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def build_image(
        self, client, tag: str, *, commit: str | None = None, content: str = "", dirty: bool = False
    ) -> str:
        """A small image tagged IMAGE:tag, labelled as `mlrelease build` labels its builds."""
        context = self.path.parent / f"context-{uuid.uuid4().hex[:8]}"
        context.mkdir()
        (context / "payload").write_text(content or uuid.uuid4().hex)
        (context / "Dockerfile").write_text(f"FROM {tiny_base(client)}\nCOPY payload /payload\n")
        labels = {"org.opencontainers.image.revision": commit or self.repo.head}
        if dirty:
            labels["org.mlrelease.dirty"] = "true"
        image, _ = client.images.build(
            path=str(context), tag=f"{self.image}:{tag}", labels=labels, rm=True
        )
        return image.id


def release_repo(tmp_path: Path, **settings: str) -> ReleaseRepo:
    repo = init_repo(tmp_path / "repo")
    image = f"mlrelease-test/rel-{uuid.uuid4().hex[:10]}"
    table = "".join(f'{key} = "{value}"\n' for key, value in {"image": image, **settings}.items())
    (repo.path / "pyproject.toml").write_text(f"[tool.mlrelease]\n{table}")
    repo.git("add", "pyproject.toml")
    repo.commit("release me")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLRELEASE_", "GCP_", "GAR_", "GOOGLE_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        GIT_CONFIG_GLOBAL=os.devnull,
        NO_COLOR="1",
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
    )
    return ReleaseRepo(repo, image, env)


def remove_images(client, *names: str) -> None:
    """Remove every image under these repository names (a test's own, nothing else)."""
    from docker.errors import ImageNotFound

    ids = {image.id for name in names for image in client.images.list(name=name)}
    for image_id in ids:
        with contextlib.suppress(ImageNotFound):
            client.images.remove(image_id, force=True)


REPO_ROOT = Path(__file__).resolve().parents[2]


def service_release_repo(tmp_path: Path, **settings: str) -> ReleaseRepo:
    """A git repository holding the real service, its Dockerfile and a freshly trained model,
    configured to build on this machine's base image (and network), as `mlrelease` users do."""
    import shutil

    local = {
        key: os.environ[env]
        for key, env in (
            ("base_image", "MLRELEASE_BASE_IMAGE"),
            ("build_network", "MLRELEASE_BUILD_NETWORK"),
        )
        if os.environ.get(env)
    }
    rel = release_repo(tmp_path, **local, **settings)
    for name in ("Dockerfile", ".dockerignore", "requirements.txt", ".gitignore"):
        shutil.copy2(REPO_ROOT / name, rel.path / name)
    (rel.path / "service").mkdir()
    for source in (REPO_ROOT / "service").glob("*.py"):
        shutil.copy2(source, rel.path / "service" / source.name)
    rel.repo.git("add", "--all")
    rel.repo.git("commit", "--quiet", "--message", "the service")
    subprocess.run(
        [sys.executable, "-m", "service.train"],
        cwd=rel.path,
        env=rel.env,
        check=True,
        capture_output=True,
    )
    return rel


def gar_settings(gar) -> dict[str, str]:
    """[tool.mlrelease] settings that point a project at the GAR emulator's repository."""
    return {
        "gcp_project": gar.project,
        "region": gar.location,
        "repository": "docker",
        "registry_host": gar.registry_host,
        "gar_endpoint": gar.api_endpoint,
    }


def gar_remote_name(gar, image: str) -> str:
    """Where an image of the emulator's `docker` repository is pushed."""
    return f"{gar.registry_host}/{gar.project}/docker/{image}"


def json_build(
    path: Path, image: str, base_image: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`mlrelease --json build ARGS` in `path`, with this machine's base image and network and
    no MLRELEASE_*, Google or user git settings from the caller's environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLRELEASE_", "GCP_", "GAR_", "GOOGLE_"))
    }
    clean.update(
        MLRELEASE_IMAGE=image,
        MLRELEASE_BASE_IMAGE=base_image,
        MLRELEASE_BUILD_NETWORK=os.environ.get("MLRELEASE_BUILD_NETWORK", "host"),
        NO_COLOR="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        **env,
    )
    return subprocess.run(
        [str(MLRELEASE), "--json", "build", *args],
        cwd=path,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
