"""`mlrelease build` and `mlrelease smoke` end to end: a real repository, engine and image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from mlrelease.build.classic import build_image, cache_sources
from mlrelease.build.smoke import free_port

pytestmark = pytest.mark.integration


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def cli_image(image_namespace) -> str:
    """The `image` the test repository configures."""
    return f"{image_namespace}/cli"


@pytest.fixture(scope="module")
def service_repo(tmp_path_factory, service_context, docker_client, cli_image) -> Path:
    """The service's build context as a committed git repository of its own."""
    repo = tmp_path_factory.mktemp("service-repo")
    shutil.copytree(service_context, repo, dirs_exist_ok=True)
    (repo / "pyproject.toml").write_text(f'[tool.mlrelease]\nimage = "{cli_image}"\n')
    _git(repo, "init", "--quiet", "--initial-branch", "main")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "add", ".")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "service")
    return repo


def _mlrelease(repo: Path, base_image: str, *args: str, **extra: str):
    env = {
        **os.environ,
        "MLRELEASE_BASE_IMAGE": base_image,
        "MLRELEASE_BUILD_NETWORK": "host",
        # These tests are of the classic builder's log, cache and refusals (test_buildkit.py
        # has BuildKit's); `auto` would pick BuildKit where a CLI has it.
        "MLRELEASE_BUILDER": "classic",
        "NO_COLOR": "1",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "mlrelease", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_build_tags_labels_reports_and_feeds_github(
    service_repo, base_image, docker_client, tmp_path, cli_image
):
    outputs = tmp_path / "github_output"
    head = _git(service_repo, "rev-parse", "HEAD")

    proc = _mlrelease(service_repo, base_image, "build", GITHUB_OUTPUT=str(outputs))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{cli_image}:sha-{head[:7]}\n"
    assert "Step 1/" in proc.stderr and "largest layers:" in proc.stderr
    labels = docker_client.images.get(proc.stdout.strip()).labels
    metadata = json.loads((service_repo / "service/model/model.json").read_text())
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.mlrelease.model.sha256"] == metadata["sha256"]
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert written["image"] == proc.stdout.strip()
    assert written["digest"] == docker_client.images.get(proc.stdout.strip()).id
    assert int(written["size_bytes"]) > 100_000_000


def test_build_at_a_release_tag_adds_the_version_tag(
    service_repo, base_image, docker_client, cli_image
):
    _git(service_repo, "-c", "user.name=T", "-c", "user.email=t@example.com",
         "tag", "-a", "v1.2.0", "-m", "Release v1.2.0")  # fmt: skip

    proc = _mlrelease(service_repo, base_image, "--json", "build")

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert data["tags"][1] == f"{cli_image}:v1.2.0"
    image = docker_client.images.get(f"{cli_image}:v1.2.0")
    assert image.labels["org.opencontainers.image.version"] == "v1.2.0"
    assert data["image_id"] == image.id


def test_smoke_runs_the_head_image_and_predicts(service_repo, base_image):
    built = _mlrelease(service_repo, base_image, "build")
    assert built.returncode == 0, built.stderr

    proc = _mlrelease(service_repo, base_image, "--json", "smoke")

    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    metadata = json.loads((service_repo / "service/model/model.json").read_text())
    assert data["image"] == built.stdout.strip()
    assert data["prediction"] == metadata["example"]["prediction"]
    assert data["model_sha256"] == metadata["sha256"]


def test_smoke_fails_clearly_when_the_service_refuses_its_model(
    service_context, base_image, docker_client, tmp_path, image_namespace
):
    context = tmp_path / "context"
    shutil.copytree(service_context, context)
    model = context / "service/model/model.joblib"
    model.write_bytes(model.read_bytes() + b"tampered")
    build_image(
        context=context,
        tags=[f"{image_namespace}/tampered:1"],
        buildargs={"PYTHON_IMAGE": base_image},
        network_mode="host",
        client=docker_client,
    )

    proc = _mlrelease(tmp_path, base_image, "smoke", f"{image_namespace}/tampered:1")

    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: the container exited with code 1 before answering:")
    assert "the file changed after training" in lines[0]
    assert "Traceback" not in proc.stderr


def test_build_ignores_a_broken_credential_helper(service_repo, base_image, tmp_path, cli_image):
    # A credential helper named in the user's Docker config makes docker-py fail even a build.
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text('{"credsStore": "mlrelease-test-missing-helper"}')

    proc = _mlrelease(service_repo, base_image, "build", DOCKER_CONFIG=str(config))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{cli_image}:sha-")


def _data(proc) -> dict:
    return json.loads(proc.stdout)["data"]


def test_rebuilding_one_commit_gives_the_same_labels_and_image_and_a_previous(
    service_repo, base_image, docker_client, cli_image
):
    first = _mlrelease(service_repo, base_image, "--json", "build", "--quiet")
    second = _mlrelease(service_repo, base_image, "--json", "build", "--quiet")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    one, two = _data(first), _data(second)
    assert two["labels"] == one["labels"]
    assert two["image_id"] == one["image_id"]
    commit_time = _git(service_repo, "show", "--no-patch", "--format=%cI", "HEAD")
    created = one["labels"]["org.opencontainers.image.created"]
    assert datetime.fromisoformat(created) == datetime.fromisoformat(commit_time)
    assert two["previous"] == {
        "ref": one["ref"],
        "size_bytes": one["size_bytes"],
        "delta_bytes": 0,
        "delta_percent": 0.0,
    }
    assert one["image"] == cli_image and one["ref"] == one["tags"][0]
    assert one["base_image"] == base_image
    assert one["base_size_bytes"] == docker_client.images.get(base_image).attrs["Size"]
    assert one["budget"] == {"warn_mb": None, "fail_mb": None, "status": "ok"}
    assert one["duration_s"] > 0
    # The history lives in a self-ignoring directory: the tree stays clean for the next build.
    assert _git(service_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_budget_breach_exits_1_with_the_image_tagged(service_repo, base_image, docker_client):
    proc = _mlrelease(service_repo, base_image, "build", "-q", "--size-warn-mb", "0.5",
                      MLRELEASE_SIZE_BUDGET_MB="1")  # fmt: skip

    assert proc.returncode == 1, proc.stderr
    ref = proc.stdout.strip()
    size = docker_client.images.get(ref).attrs["Size"]  # still built and tagged
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {ref} is {size / 1e6:.1f} MB, over the size budget of 1 MB by "
        f"{(size - 1e6) / 1e6:.1f} MB ({(size - 1e6) / 1e6:.1%}); the image stays tagged"
    ]
    assert "Step 1/" not in proc.stderr  # --quiet (-q) hides the step log


def test_size_of_an_existing_image_matches_the_engine(service_repo, base_image, docker_client):
    built = _mlrelease(service_repo, base_image, "build", "-q")
    assert built.returncode == 0, built.stderr

    proc = _mlrelease(service_repo, base_image, "--json", "size")

    assert proc.returncode == 0, proc.stderr
    data = _data(proc)
    inspected = docker_client.api.inspect_image(built.stdout.strip())
    assert data["ref"] == built.stdout.strip()
    assert (data["size_bytes"], data["image_id"]) == (inspected["Size"], inspected["Id"])
    history = docker_client.api.history(inspected["Id"])
    assert [layer["size_bytes"] for layer in data["layers"]] == [h["Size"] for h in history]
    assert data["layers"][0]["created_by"] == history[0]["CreatedBy"]


def test_build_smoke_builds_then_smoke_tests_in_one_command(service_repo, base_image):
    proc = _mlrelease(service_repo, base_image, "--json", "build", "--smoke", "-q")

    assert proc.returncode == 0, proc.stderr
    data = _data(proc)
    metadata = json.loads((service_repo / "service/model/model.json").read_text())
    assert data["smoke"]["image"] == data["ref"]
    assert data["smoke"]["prediction"] == metadata["example"]["prediction"]


def test_cache_from_a_missing_reference_warns_and_builds(service_repo, base_image, cli_image):
    absent = f"127.0.0.1:{free_port()}/mlrelease-test/absent:1"

    proc = _mlrelease(service_repo, base_image, "build", "--cache-from", absent)

    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: --cache-from {absent}: ")
    assert proc.stdout.startswith(f"{cli_image}:sha-")


def test_buildkit_syntax_is_refused_with_exit_2_and_no_build(
    tmp_path, base_image, docker_client, image_namespace
):
    (tmp_path / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\nARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\n"
        "RUN --mount=type=cache,target=/root/.cache echo cached\n"
    )
    model = tmp_path / "service/model"
    model.mkdir(parents=True)
    (model / "model.joblib").write_bytes(b"m")
    (model / "model.json").write_text("{}")
    (tmp_path / "pyproject.toml").write_text(f'[tool.mlrelease]\nimage = "{image_namespace}/bk"\n')
    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "bk")

    proc = _mlrelease(tmp_path, base_image, "build")

    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: Dockerfile line 1: the `# syntax=docker/dockerfile:1`")
    assert "(also line 4)" in proc.stderr
    assert "Step " not in proc.stderr
    assert docker_client.images.list(name=f"{image_namespace}/bk") == []


def test_a_remote_with_credentials_never_reaches_the_labels(service_repo, base_image):
    secret = "s3cr3t-t0ken"
    _git(service_repo, "remote", "add", "origin", f"https://ci:{secret}@example.com/acme/svc.git")
    try:
        proc = _mlrelease(service_repo, base_image, "--json", "build", "-q")
    finally:
        _git(service_repo, "remote", "remove", "origin")

    assert proc.returncode == 0, proc.stderr
    labels = _data(proc)["labels"]
    assert labels["org.opencontainers.image.source"] == "https://example.com/acme/svc"
    assert secret not in proc.stdout + proc.stderr


def test_build_smoke_failure_exits_1_after_printing_the_image(
    service_repo, base_image, tmp_path, cli_image
):
    repo = tmp_path / "tampered"
    shutil.copytree(service_repo, repo)
    # The build checks the model's checksum, not the scikit-learn version it was trained with:
    # the service refuses a mismatch at start-up, so the smoke test fails.
    metadata = repo / "service/model/model.json"
    metadata.write_text(
        metadata.read_text().replace('"sklearn_version": "', '"sklearn_version": "0.')
    )
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com",
         "commit", "-qam", "tamper with the model")  # fmt: skip

    proc = _mlrelease(repo, base_image, "build", "--smoke", "-q")

    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(f"{cli_image}:sha-")  # built and tagged all the same
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "scikit-learn" in errors[0], proc.stderr


def test_cache_sources_keeps_present_images_and_warns_for_unpullable_ones(service_repo, base_image):
    absent = f"127.0.0.1:{free_port()}/mlrelease-test/absent:1"

    usable, warnings = cache_sources([base_image, absent])

    assert usable == [base_image]
    assert len(warnings) == 1 and warnings[0].startswith(f"--cache-from {absent}: ")


def test_size_of_an_image_not_in_the_engine_is_a_precondition(
    service_repo, base_image, image_namespace
):
    proc = _mlrelease(service_repo, base_image, "size", f"{image_namespace}/never-built:1")

    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: the image {image_namespace}/never-built:1 is not in the engine",
        "hint: build it with `mlrelease build`",
    ]
