"""Cloud Build as google-cloud-build's REST client and a log tailer see it: builds of a source
tarball that really run on the engine, push to the GAR emulator's registry, and end as the real
service ends them."""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
import uuid
from typing import Any

import pytest
import requests

from tests.emulator.cloud_build import CloudBuildEmulator
from tests.emulator.fixtures import unavailable

SOURCE_BUCKET = "test-project_cloudbuild"
DOCKER = "gcr.io/cloud-builders/docker"


@pytest.fixture(scope="module")
def base_image(docker_client) -> str:
    """A local image with a shell (nothing can be pulled here)."""
    from docker.errors import ImageNotFound

    name = os.environ.get("MLRELEASE_BASE_IMAGE", "python:3.11-slim")
    try:
        docker_client.images.get(name)
    except ImageNotFound:
        unavailable(f"base image {name} is not in the engine")
    return name


@pytest.fixture
def client(cloud_build: CloudBuildEmulator, credentials):
    """The client library on its REST transport, sending the access token."""
    from google.cloud.devtools import cloudbuild_v1
    from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports.rest import (
        CloudBuildRestTransport,
    )

    transport = CloudBuildRestTransport(
        host=cloud_build.endpoint, credentials=credentials, always_use_jwt_access=False
    )
    return cloudbuild_v1.CloudBuildClient(transport=transport)


@pytest.fixture
def gcs(cloud_build: CloudBuildEmulator, storage_emulator, credentials):
    return storage_emulator.client(credentials)


def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def stage(gcs, files: dict[str, str]) -> dict[str, Any]:
    """Uploads a source tarball as `gcloud builds submit` does; returns the build's source."""
    bucket = gcs.lookup_bucket(SOURCE_BUCKET) or gcs.create_bucket(SOURCE_BUCKET)
    blob = bucket.blob(f"source/{time.time():.6f}-{uuid.uuid4().hex}.tgz")
    blob.upload_from_string(tarball(files), content_type="application/gzip")
    return {"storage_source": {"bucket": SOURCE_BUCKET, "object_": blob.name}}


def image_name(gar) -> tuple[str, str]:
    """(IMAGE:TAG in the GAR emulator's registry, IMAGE alone)."""
    image = f"cloud-build-{uuid.uuid4().hex[:8]}"
    return f"{gar.registry_host}/test-project/docker/{image}:v1", image


def docker_build(tag: str, *extra: str) -> dict[str, Any]:
    """The step `gcloud builds submit --tag` makes."""
    return {"name": DOCKER, "args": ["build", "--network", "cloudbuild", "-t", tag, *extra, "."]}


def follow(gcs, client, build) -> tuple[list[tuple[str, bytes]], Any]:
    """Tails `log-ID.txt` by ranged reads until the build ends: the (status, bytes) of each
    read that brought bytes, and the finished build."""
    from google.api_core.exceptions import NotFound, RequestRangeNotSatisfiable
    from google.cloud.devtools import cloudbuild_v1

    bucket, _, _ = build.logs_bucket.removeprefix("gs://").partition("/")
    blob = gcs.bucket(bucket).blob(f"log-{build.id}.txt")
    chunks: list[tuple[str, bytes]] = []
    cursor, deadline = 0, time.monotonic() + 240
    working = (cloudbuild_v1.Build.Status.QUEUED, cloudbuild_v1.Build.Status.WORKING)
    while time.monotonic() < deadline:
        build = client.get_build(project_id="test-project", id=build.id)
        try:
            data = blob.download_as_bytes(start=cursor)
        except (NotFound, RequestRangeNotSatisfiable):
            data = b""
        if data:
            chunks.append((build.status.name, data))
            cursor += len(data)
        if build.status not in working:
            return chunks, build
        time.sleep(0.3)
    raise AssertionError(f"build {build.id} did not finish")


def test_a_build_runs_its_steps_pushes_and_reports_the_digest(
    client, gcs, gar, cloud_build, base_image
):
    from google.cloud.devtools import cloudbuild_v1

    tag, image = image_name(gar)
    source = stage(gcs, {"Dockerfile": "FROM scratch\nCOPY hello.txt /\n", "hello.txt": "hi\n"})
    talk = "for i in 1 2 3 4; do echo line $i; sleep 1; done"
    steps = [
        {"name": base_image, "entrypoint": "sh", "args": ["-c", talk], "id": "talk"},
        docker_build(tag),
    ]
    build = cloudbuild_v1.Build(source=source, steps=steps, images=[tag], timeout="300s")

    operation = client.create_build(project_id="test-project", build=build)
    created = operation.metadata.build
    chunks, finished = follow(gcs, client, created)

    assert operation.operation.name.startswith("operations/build/test-project/")
    assert created.status == cloudbuild_v1.Build.Status.QUEUED
    assert created.logs_bucket == f"gs://{cloud_build.default_logs_bucket}"
    assert finished.status == cloudbuild_v1.Build.Status.SUCCESS, cloud_build.log(created.id)
    [pushed] = finished.results.images
    assert pushed.name == tag
    assert pushed.digest == gar.tag_digest("docker", image, "v1")
    assert {"FETCHSOURCE", "BUILD", "PUSH"} <= set(finished.timing)
    assert [step.status.name for step in finished.steps] == ["SUCCESS", "SUCCESS"]
    # The log grew while the build ran, and reads as the service writes it.
    assert sum(status == "WORKING" for status, _ in chunks) >= 2
    log = b"".join(data for _, data in chunks).decode()
    assert log == cloud_build.log(created.id)
    assert log.startswith(
        f'starting build "{created.id}"\n\nFETCHSOURCE\nFetching storage object: '
    )
    for line in [
        'Starting Step #0 - "talk"',
        'Step #0 - "talk": line 3',
        'Finished Step #0 - "talk"',
        f"Step #1: Already have image (with digest): {DOCKER}",
        "Step #1: Step 2/2 : COPY hello.txt /",
        f"PUSH\nPushing {tag}",
    ]:
        assert line in log
    assert f"v1: digest: {pushed.digest} size: " in log
    assert log.endswith("DONE\n")
    assert operation.result(timeout=30).results.images[0].digest == pushed.digest


def test_a_single_docker_step_logs_unprefixed_and_leaves_no_image(
    client, gcs, gar, cloud_build, base_image, docker_client
):
    from docker.errors import ImageNotFound
    from google.cloud.devtools import cloudbuild_v1

    tag, _ = image_name(gar)
    dockerfile = (
        "ARG BASE\nFROM ${BASE} AS builder\nRUN echo built in the worker | tee /out\n"
        "FROM scratch\nCOPY --from=builder /out /out\n"
    )
    build = cloudbuild_v1.Build(
        source=stage(gcs, {"Dockerfile": dockerfile}),
        steps=[docker_build(tag, "--build-arg", f"BASE={base_image}")],
    )

    created = client.create_build(project_id="test-project", build=build).metadata.build
    finished = cloud_build.wait(created.id)

    assert finished["status"] == "SUCCESS", cloud_build.log(created.id)
    log = cloud_build.log(created.id)
    assert "\nBUILD\nAlready have image (with digest): gcr.io/cloud-builders/docker\n" in log
    assert "\nbuilt in the worker\n" in log and "Step #" not in log
    # Nothing stays in the engine but the base image: no tag, no earlier stage.
    base = docker_client.images.get(base_image).short_id.removeprefix("sha256:")
    made = [layer for layer in re.findall(r"^ ---> ([0-9a-f]{12})$", log, re.M) if layer != base]
    assert made
    for image in [tag, *made]:
        with pytest.raises(ImageNotFound):
            docker_client.images.get(image)


def test_a_failing_step_fails_the_build_with_its_failure_info(client, gcs, gar, cloud_build):
    from google.api_core.exceptions import GoogleAPICallError
    from google.cloud.devtools import cloudbuild_v1

    tag, _ = image_name(gar)
    source = stage(gcs, {"Dockerfile": "FROM scratch\nCOPY missing.txt /\n"})
    build = cloudbuild_v1.Build(
        source=source,
        steps=[docker_build(tag)],
        images=[tag],
        options={"machine_type": "E2_HIGHCPU_8"},
    )

    operation = client.create_build(project_id="test-project", build=build)
    with pytest.raises(GoogleAPICallError, match="Build failed; check build logs for details"):
        operation.result(timeout=120)
    finished = client.get_build(project_id="test-project", id=operation.metadata.build.id)

    detail = (
        f'build step 0 "{DOCKER}" failed: step exited with non-zero status: '
        f"{finished.steps[0].exit_code}"
    )
    assert finished.status == cloudbuild_v1.Build.Status.FAILURE
    assert finished.failure_info.type_ == finished.failure_info.FailureType.USER_BUILD_STEP
    assert finished.failure_info.detail == f"Build step failure: {detail}"
    assert finished.steps[0].status == cloudbuild_v1.Build.Status.FAILURE
    assert finished.steps[0].exit_code != 0
    assert not finished.results.images
    assert cloud_build.log(finished.id).endswith(f"ERROR\nERROR: {detail}\n")
    served = cloud_build.build(finished.id)
    assert served["options"] == {"machineType": "E2_HIGHCPU_8", "logging": "LEGACY"}
    assert served["failureInfo"]["type"] == "USER_BUILD_STEP"
    assert served["statusDetail"] == f"Build step failure: {detail}"


def wait_for_log(cloud_build: CloudBuildEmulator, build_id: str, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in cloud_build.log(build_id):
        assert time.monotonic() < deadline, cloud_build.log(build_id)
        time.sleep(0.2)


def sleeping_build(gcs, base_image: str, **fields: Any):
    from google.cloud.devtools import cloudbuild_v1

    dockerfile = "ARG BASE\nFROM ${BASE}\nRUN echo sleeping && sleep 120\n"
    step = docker_build(
        f"cloud-build-sleeper:{uuid.uuid4().hex[:8]}", "--build-arg", f"BASE={base_image}"
    )
    return cloudbuild_v1.Build(
        source=stage(gcs, {"Dockerfile": dockerfile}), steps=[step], **fields
    )


def test_a_cancelled_build_stops_its_step(client, gcs, cloud_build, base_image, docker_client):
    from google.cloud.devtools import cloudbuild_v1

    created = client.create_build(
        project_id="test-project", build=sleeping_build(gcs, base_image)
    ).metadata.build
    wait_for_log(cloud_build, created.id, "sleeping")

    cancelled = client.cancel_build(project_id="test-project", id=created.id)

    assert cancelled.status == cloudbuild_v1.Build.Status.CANCELLED
    assert cancelled.steps[0].status == cloudbuild_v1.Build.Status.CANCELLED
    cloud_build.wait(created.id)
    # The engine cancels a build whose client went away, and removes its container itself.
    deadline = time.monotonic() + 30
    while [c for c in docker_client.containers.list() if "sleep 120" in str(c.attrs["Args"])]:
        assert time.monotonic() < deadline, "the cancelled step's container still runs"
        time.sleep(0.5)


def test_a_build_past_its_timeout_times_out(client, gcs, cloud_build, base_image):
    from google.api_core.exceptions import GoogleAPICallError
    from google.cloud.devtools import cloudbuild_v1

    operation = client.create_build(
        project_id="test-project", build=sleeping_build(gcs, base_image, timeout="8s")
    )
    with pytest.raises(GoogleAPICallError):
        operation.result(timeout=120)
    finished = client.get_build(project_id="test-project", id=operation.metadata.build.id)

    assert finished.status == cloudbuild_v1.Build.Status.TIMEOUT
    assert finished.steps[0].status == cloudbuild_v1.Build.Status.TIMEOUT
    assert finished.timeout.total_seconds() == 8
    log = cloud_build.log(finished.id)
    assert "sleeping" in log and log.endswith("TIMEOUT\nERROR: context deadline exceeded\n")


def test_a_denied_permission_is_googles_403(client, gar, cloud_build):
    from google.api_core.exceptions import Forbidden
    from google.cloud.devtools import cloudbuild_v1

    gar.deny("cloudbuild.builds.create")

    with pytest.raises(Forbidden, match="The caller does not have permission"):
        client.create_build(
            project_id="test-project", build=cloudbuild_v1.Build(steps=[{"name": DOCKER}])
        )
    assert cloud_build.requests[-1] == (
        "cloudbuild",
        "POST",
        "/v1/projects/test-project/builds",
        403,
    )


def test_a_disabled_api_is_service_disabled(client, cloud_build):
    from google.api_core.exceptions import Forbidden

    cloud_build.disable_api()

    with pytest.raises(Forbidden) as disabled:
        client.get_build(project_id="test-project", id=str(uuid.uuid4()))
    assert disabled.value.reason == "SERVICE_DISABLED"
    assert disabled.value.domain == "googleapis.com"
    assert disabled.value.metadata["service"] == "cloudbuild.googleapis.com"


def test_callers_without_a_valid_token_are_401(cloud_build):
    url = f"{cloud_build.endpoint}/v1/projects/test-project/builds"

    for headers in ({}, {"Authorization": "Bearer ya29.not-issued-here"}):
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == 401
        assert answer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_unknown_builds_and_projects_are_404(client, cloud_build):
    from google.api_core.exceptions import NotFound

    with pytest.raises(NotFound):
        client.get_build(project_id="test-project", id=str(uuid.uuid4()))
    with pytest.raises(NotFound):
        client.get_build(project_id="no-such-project", id=str(uuid.uuid4()))


def test_a_missing_source_fails_to_fetch(client, gcs, cloud_build):
    from google.cloud.devtools import cloudbuild_v1

    gcs.create_bucket(SOURCE_BUCKET)
    source = {"storage_source": {"bucket": SOURCE_BUCKET, "object_": "source/missing.tgz"}}
    build = cloudbuild_v1.Build(source=source, steps=[{"name": DOCKER, "args": ["version"]}])

    created = client.create_build(project_id="test-project", build=build).metadata.build
    finished = cloud_build.wait(created.id)

    assert finished["status"] == "FAILURE"
    assert finished["failureInfo"]["type"] == "FETCH_SOURCE_FAILED"
    assert "CommandException: No URLs matched: gs://" in cloud_build.log(created.id)


def test_builds_list_by_filter_and_page_in_both_forms(client, gcs, gar, cloud_build, credentials):
    from google.cloud.devtools import cloudbuild_v1

    source = stage(gcs, {"Dockerfile": "FROM scratch\nCOPY Dockerfile /\n"})
    ids = []
    for tags in (["first"], ["second"]):
        steps = [docker_build(image_name(gar)[0])]
        build = cloudbuild_v1.Build(source=source, steps=steps, tags=tags)
        ids.append(client.create_build(project_id="test-project", build=build).metadata.build.id)
    regional = client.create_build(
        parent="projects/test-project/locations/us-central1",
        build=cloudbuild_v1.Build(source=source, steps=[docker_build(image_name(gar)[0])]),
    )
    for build_id in [*ids, regional.metadata.build.id]:
        cloud_build.wait(build_id)

    pages = client.list_builds(request={"project_id": "test-project", "page_size": 1}).pages
    assert [[build.id for build in page.builds] for page in pages] == [[ids[1]], [ids[0]]]
    tagged = client.list_builds(project_id="test-project", filter='tags="first"')
    assert [build.id for build in tagged] == ids[:1]
    done = regional.result(timeout=60)
    assert done.name == (
        f"projects/{cloud_build.project_number}/locations/us-central1/builds/{done.id}"
    )
    assert regional.operation.name.startswith("projects/test-project/locations/us-central1/")
    assert client.get_build(name=done.name).status == cloudbuild_v1.Build.Status.SUCCESS
    # Under enum-encoding=int, the REST API answers enums as numbers.
    answer = requests.get(
        f"{cloud_build.endpoint}/v1/projects/test-project/builds/{ids[0]}",
        params={"$alt": "json;enum-encoding=int"},
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )
    assert answer.json()["status"] == cloudbuild_v1.Build.Status.SUCCESS.value


def test_the_default_client_with_a_key_authenticates_by_self_signed_jwt(cloud_build, sa_key):
    from google.cloud.devtools import cloudbuild_v1
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(
        sa_key, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    client = cloudbuild_v1.CloudBuildClient(
        credentials=credentials,
        transport="rest",
        client_options={"api_endpoint": cloud_build.endpoint},
    )

    assert list(client.list_builds(project_id="test-project")) == []
