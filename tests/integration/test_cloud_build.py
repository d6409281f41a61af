"""builder = "cloud-build": the context staged in Cloud Storage, the build run by the Cloud Build
emulator (for real, on the engine) and pushed to the emulated Artifact Registry, its log
streamed; `push` then only creates the release tag; failures give their exit codes."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from google.oauth2 import service_account

from tests.integration.releasing import (
    MLRELEASE,
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
    tiny_base,
)
from tests.unit.supply.keys import new_key_pair

pytestmark = pytest.mark.integration

BUCKET = "test-project_cloudbuild"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


@pytest.fixture
def rel(tmp_path: Path, gar, cloud_build, storage_emulator, sa_key, docker_client) -> ReleaseRepo:
    """A project that builds on Cloud Build: a two-step Dockerfile on a local base, a file
    that .dockerignore keeps out of the context."""
    released = release_repo(
        tmp_path,
        **gar_settings(gar),
        builder="cloud-build",
        model_path="",
    )
    base = tiny_base(docker_client)
    (released.path / "Dockerfile").write_text(
        f"FROM {base}\nCOPY payload /payload\nCOPY Dockerfile /built-on-cloud-build\n"
    )
    (released.path / "payload").write_text("payload\n")
    (released.path / "secret.env").write_text("kept out\n")
    (released.path / ".dockerignore").write_text("secret.env\n.git\n")
    released.repo.git("add", ".")
    released.repo.commit("the service")
    released.env.update(
        GCP_SA_KEY=json.dumps(sa_key),
        MLRELEASE_CLOUD_BUILD_ENDPOINT=cloud_build.endpoint,
        STORAGE_EMULATOR_HOST=storage_emulator.endpoint,
    )
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def data(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout)["data"]


def blob_uploads(gar) -> int:
    return sum(1 for _, method, path, _ in gar.requests if "/blobs/uploads" in path)


def test_a_cloud_build_stages_the_context_builds_pushes_and_streams_its_log(
    rel, gar, cloud_build, storage_emulator, sa_key
) -> None:
    outputs = rel.path.parent / "github_output"
    shown = rel.mlrelease("build")
    result = rel.mlrelease("--json", "build", GITHUB_OUTPUT=str(outputs))

    assert shown.returncode == 0, shown.stderr
    assert result.returncode == 0, result.stdout
    built = data(result)
    sha = f"sha-{rel.repo.head[:7]}"
    assert built["builder"] == "cloud-build"
    assert built["tags"] == [f"{gar_remote_name(gar, rel.image)}:{sha}"]
    assert built["digest"] == gar.tag_digest("docker", rel.image, sha)
    assert built["image_id"].startswith("sha256:")
    assert built["size_bytes"] > 0
    assert built["labels"]["org.opencontainers.image.revision"] == rel.repo.head
    assert built["log_url"] and built["build_id"]
    # The step's own output came through the log tailer, while the build ran.
    assert "COPY Dockerfile /built-on-cloud-build" in shown.stderr
    assert shown.stdout.strip() == built["ref"]
    assert cloud_build.build(built["build_id"])["status"] == "SUCCESS"
    written = outputs.read_text()
    assert f"digest={built['digest']}\n" in written
    assert f"build_id={built['build_id']}\n" in written
    assert f"log_url={built['log_url']}\n" in written
    # The staged source: the context docker-py would send, .dockerignore honoured.
    client = storage_emulator.client(
        service_account.Credentials.from_service_account_info(sa_key, scopes=SCOPES)
    )
    staged = list(client.list_blobs(BUCKET, prefix="source/"))
    assert len(staged) == 2  # one per build
    assert all(re.fullmatch(r"source/\d+\.\d{6}-[0-9a-f]{32}\.tgz", blob.name) for blob in staged)
    with tarfile.open(fileobj=io.BytesIO(staged[0].download_as_bytes()), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert {"Dockerfile", "payload", "pyproject.toml"} <= names
    assert "secret.env" not in names


def test_push_after_a_cloud_build_sends_no_layer_and_creates_the_tag(rel, gar) -> None:
    rel.repo.tag("v1.0.0", annotated=True)
    built = rel.mlrelease("--json", "build")
    assert built.returncode == 0, built.stderr
    uploads = blob_uploads(gar)

    pushed = rel.mlrelease("--json", "push", "v1.0.0")

    assert pushed.returncode == 0, pushed.stderr
    result = data(pushed)
    assert (
        result["digest"] == data(built)["digest"] == gar.tag_digest("docker", rel.image, "v1.0.0")
    )
    assert (result["pushed"], result["verified"]) == (True, True)
    assert blob_uploads(gar) == uploads  # not one layer sent
    assert any(method == "POST" and path.endswith("/tags") for _, method, path, _ in gar.requests)


def test_release_runs_with_no_docker_engine(rel, gar) -> None:
    result = rel.mlrelease("release", "minor", DOCKER_HOST="unix:///nonexistent/docker.sock")

    assert result.returncode == 0, result.stderr
    digest = gar.tag_digest("docker", rel.image, "v0.1.0")
    assert digest is not None
    assert result.stdout.strip() == f"{gar_remote_name(gar, rel.image)}@{digest}"
    assert "smoke test skipped" in result.stderr


def test_a_failing_step_exits_1_with_the_step_and_its_last_lines(rel, base_image) -> None:
    (rel.path / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo the-last-words && exit 3\n")
    rel.repo.git("add", ".")
    rel.repo.commit("a broken step")

    result = rel.mlrelease("build")

    assert result.returncode == 1, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "failed at step 0" in line
    assert "the-last-words" in line


def test_a_bucket_the_caller_may_not_create_exits_4_with_the_grant(rel, gar) -> None:
    gar.deny("storage.buckets.create")

    result = rel.mlrelease("build")

    assert result.returncode == 4, result.stderr
    assert f"gs://{BUCKET}" in result.stderr
    assert "roles/storage.admin" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_disabled_api_exits_3_with_the_command_that_enables_it(rel, cloud_build) -> None:
    cloud_build.disable_api()

    result = rel.mlrelease("build")

    assert result.returncode == 3, result.stderr
    assert "gcloud services enable cloudbuild.googleapis.com --project=test-project" in (
        result.stderr
    )


def test_ctrl_c_cancels_the_build_and_says_so(rel, cloud_build, base_image) -> None:
    (rel.path / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo waiting-here && sleep 120\n")
    rel.repo.git("add", ".")
    rel.repo.commit("a long step")
    process = subprocess.Popen(
        [str(MLRELEASE), "build"],
        cwd=rel.path,
        env=rel.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = ""
        deadline = time.monotonic() + 180
        assert process.stderr is not None
        while "waiting-here" not in seen and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            seen += line
        assert "waiting-here" in seen, seen
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, seen + rest
    assert "was cancelled" in rest
    found = re.search(r"Cloud Build: build ([0-9a-f-]{36}) ", seen)
    assert found is not None, seen
    build_id = found[1]
    assert cloud_build.wait(build_id)["status"] == "CANCELLED"


def check(result: subprocess.CompletedProcess[str], name: str) -> dict:
    (found,) = [c for c in json.loads(result.stdout)["data"]["checks"] if c["id"] == name]
    return found


def test_doctor_reports_whether_cloud_build_answers(rel, cloud_build) -> None:
    answered = rel.mlrelease("--json", "doctor", "--only", "cloud-build")
    cloud_build.disable_api()
    disabled = rel.mlrelease("--json", "doctor", "--only", "cloud-build")

    assert check(answered, "cloud-build")["status"] == "ok", answered.stdout
    assert f"gs://{BUCKET} (made by the first build)" in check(answered, "cloud-build")["finding"]
    refused = check(disabled, "cloud-build")
    assert refused["status"] == "fail"
    assert "gcloud services enable cloudbuild.googleapis.com" in refused["fix"]


def test_a_signed_release_built_on_cloud_build_verifies_with_no_engine(rel, gar) -> None:
    keys = new_key_pair()
    rel.env["MLRELEASE_SIGNING_KEY"] = keys.private_pem
    rel.env["MLRELEASE_VERIFY_KEY"] = keys.public_pem
    no_engine = "unix:///nonexistent/docker.sock"

    released = rel.mlrelease("--json", "release", "patch", DOCKER_HOST=no_engine)
    verified = rel.mlrelease("--json", "verify", "v0.0.1", DOCKER_HOST=no_engine)

    assert released.returncode == 0, released.stdout
    attached = data(released)["push"]["attached"]
    assert attached["sbom_digest"] and attached["provenance_digest"]
    assert verified.returncode == 0, verified.stdout
    checks = {check["name"]: check["status"] for check in data(verified)["checks"]}
    assert set(checks.values()) == {"ok"}, checks
