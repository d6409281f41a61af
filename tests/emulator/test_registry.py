"""GAR's registry host: real pushes through the Docker engine to the token-protected registry."""

from __future__ import annotations

import base64
import io
import json
import re
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator import CANARY, GarEmulator
from tests.emulator.conftest import REPOSITORY, artifact_registry

# What reaches the push stream when the registry token service refuses the password.
UNAUTHORIZED = (
    "unauthorized: authentication failed: the password for the user is not a valid access "
    "token or service account key"
)


def tiny_tar() -> bytes:
    """A one-file root filesystem, different every time, so each image has its own digest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        content = uuid.uuid4().hex.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def image(docker_client, gar: GarEmulator) -> Iterator[str]:
    """A new local image named for the emulator's registry: `HOST/test-project/docker/NAME`."""
    repository = f"{gar.registry_host}/test-project/docker/emulator-{uuid.uuid4().hex[:10]}"
    docker_client.api.import_image_from_data(tiny_tar(), repository=repository, tag="v1")
    yield repository
    docker_client.images.remove(f"{repository}:v1", force=True)


def push(
    docker_client, repository: str, auth: dict[str, str], tag: str = "v1"
) -> list[dict[str, Any]]:
    return list(
        docker_client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
    )


def error_of(stream: list[dict[str, Any]]) -> str | None:
    return next((item["errorDetail"]["message"] for item in stream if "errorDetail" in item), None)


def digest_of(stream: list[dict[str, Any]]) -> str:
    return next(item["aux"]["Digest"] for item in stream if "Digest" in item.get("aux", {}))


@pytest.fixture
def token(credentials) -> str:
    return credentials.token


def access_token_auth(token: str) -> dict[str, str]:
    return {"username": "oauth2accesstoken", "password": token}


def test_push_with_an_access_token_stores_the_image(docker_client, gar, image, token):
    stream = push(docker_client, image, access_token_auth(token))

    assert error_of(stream) is None, stream
    name = image.split("/", 3)[3]
    assert gar.tag_digest("docker", name, "v1") == digest_of(stream)
    realm = [r for r in gar.requests if r[0] == "registry-token"]
    assert realm and realm[-1][3] == 200


def test_push_with_the_whole_key_as_password(docker_client, gar, image, sa_key):
    stream = push(docker_client, image, {"username": "_json_key", "password": json.dumps(sa_key)})

    assert error_of(stream) is None, stream


def test_push_with_the_base64_key_as_password(docker_client, gar, image, sa_key):
    encoded = base64.b64encode(json.dumps(sa_key).encode()).decode()
    stream = push(docker_client, image, {"username": "_json_key_base64", "password": encoded})

    assert error_of(stream) is None, stream


def test_a_wrong_password_is_refused_with_unauthorized(docker_client, gar, image):
    stream = push(docker_client, image, access_token_auth("ya29.not-a-token"))

    assert error_of(stream) == UNAUTHORIZED


def test_a_revoked_key_is_refused(docker_client, gar, image, sa_key):
    gar.revoke_key(sa_key)

    stream = push(docker_client, image, {"username": "_json_key", "password": json.dumps(sa_key)})

    assert error_of(stream) == UNAUTHORIZED


def test_a_denied_upload_permission_is_refused_with_gars_message(docker_client, gar, image, token):
    gar.deny("artifactregistry.repositories.uploadArtifacts")

    stream = push(docker_client, image, access_token_auth(token))

    assert error_of(stream) == (
        'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on resource '
        f'"{REPOSITORY}" (or it may not exist)'
    )


def test_a_missing_repository_is_name_unknown(docker_client, gar, image, token):
    gar.remove_repository("docker")

    stream = push(docker_client, image, access_token_auth(token))

    assert error_of(stream) == 'name unknown: Repository "docker" not found'


def test_revoked_tokens_are_refused_by_the_registry(docker_client, gar, image, token):
    assert error_of(push(docker_client, image, access_token_auth(token))) is None
    gar.revoke_tokens()

    stream = push(docker_client, image, access_token_auth(token))

    assert error_of(stream) == UNAUTHORIZED


def test_injected_faults_fail_pushes_then_one_succeeds(docker_client, gar, image, token):
    gar.fail_next(2)
    auth = access_token_auth(token)

    outcomes = [error_of(push(docker_client, image, auth)) for _ in range(3)]

    assert outcomes[0] == outcomes[1] == "received unexpected HTTP status: 503 Service Unavailable"
    assert outcomes[2] is None
    manifest_puts = [r for r in gar.requests if r[1] == "PUT" and "/manifests/" in r[2]]
    assert [r[3] for r in manifest_puts[-3:]] == [503, 503, 201]


@pytest.mark.parametrize(
    ("status", "text"),
    [
        # The engine drops a message equal to the code's own description ("too many requests").
        (429, "toomanyrequests"),
        (500, "received unexpected HTTP status: 500 Internal Server Error"),
        (502, "received unexpected HTTP status: 502 Bad Gateway"),
    ],
)
def test_what_an_injected_fault_shows_in_the_push_stream(
    docker_client, gar, image, token, status, text
):
    gar.fail_next(1, status=status)

    assert error_of(push(docker_client, image, access_token_auth(token))) == text


def test_a_dropped_connection_fails_the_push(docker_client, gar, image, token):
    gar.fail_next(1, drop=True)

    stream = push(docker_client, image, access_token_auth(token))

    host_path = f"{gar.registry_host}/v2/{image.split('/', 1)[1]}"
    assert error_of(stream) == f'Put "http://{host_path}/manifests/v1": EOF'
    assert error_of(push(docker_client, image, access_token_auth(token))) is None


def pull_token(gar: GarEmulator, name: str, access_token: str) -> str:
    """A registry token from the realm, asked for as a registry client does."""
    import requests

    realm = requests.get(
        f"http://{gar.registry_host}/v2/token",
        params={"scope": f"repository:{name}:pull", "service": "us-central1-docker.pkg.dev"},
        auth=("oauth2accesstoken", access_token),
        timeout=10,
    )
    realm.raise_for_status()
    return realm.json()["token"]


def stored_manifest(gar: GarEmulator, name: str, tag: str, access_token: str) -> dict[str, Any]:
    """The manifest as a registry client reads it through the registry host."""
    import requests

    response = requests.get(
        f"http://{gar.registry_host}/v2/{name}/manifests/{tag}",
        headers={
            "Authorization": f"Bearer {pull_token(gar, name, access_token)}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_the_api_reports_pushed_images_and_tags(docker_client, gar, image, credentials):
    import datetime

    started = datetime.datetime.now(datetime.UTC)
    auth = access_token_auth(credentials.token)
    first = digest_of(push(docker_client, image, auth))
    docker_client.api.import_image_from_data(tiny_tar(), repository=image, tag="v2")
    docker_client.api.tag(f"{image}:v2", image, "latest")
    try:
        second = digest_of(push(docker_client, image, auth, tag="v2"))
        assert error_of(push(docker_client, image, auth, tag="latest")) is None
    finally:
        docker_client.images.remove(f"{image}:v2", force=True)
        docker_client.images.remove(f"{image}:latest", force=True)
    client = artifact_registry(gar, credentials)
    name = image.split("/", 1)[1]  # test-project/docker/emulator-...
    package = name.split("/", 2)[2]

    request = {"parent": REPOSITORY, "page_size": 1}
    listed = [i for i in client.list_docker_images(request=request) if f"/{package}@" in i.name]

    assert {i.name for i in listed} == {
        f"{REPOSITORY}/dockerImages/{package}@{first}",
        f"{REPOSITORY}/dockerImages/{package}@{second}",
    }
    by_digest = {i.uri.rsplit("@", 1)[1]: i for i in listed}
    assert list(by_digest[first].tags) == ["v1"]
    assert sorted(by_digest[second].tags) == ["latest", "v2"]
    assert by_digest[second].uri == f"us-central1-docker.pkg.dev/{name}@{second}"
    manifest = stored_manifest(gar, name, "v2", credentials.token)
    compressed = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    assert by_digest[second].image_size_bytes == compressed
    assert by_digest[second].media_type == manifest["mediaType"]
    assert started <= by_digest[second].upload_time <= datetime.datetime.now(datetime.UTC)
    pages = [r for r in gar.requests if r[2].endswith("/dockerImages")]
    assert len(pages) >= 2  # one image a page: the pager followed nextPageToken

    image_name = f"{REPOSITORY}/dockerImages/{package}@{second}"
    assert sorted(client.get_docker_image(name=image_name).tags) == ["latest", "v2"]
    tag = client.get_tag(name=f"{REPOSITORY}/packages/{package}/tags/v2")
    assert tag.version == f"{REPOSITORY}/packages/{package}/versions/{second}"
    tags = client.list_tags(parent=f"{REPOSITORY}/packages/{package}")
    assert sorted(t.name.rsplit("/", 1)[1] for t in tags) == ["latest", "v1", "v2"]


def test_registry_tokens_stop_working_when_tokens_are_revoked(
    docker_client, gar, image, credentials
):
    import requests

    assert error_of(push(docker_client, image, access_token_auth(credentials.token))) is None
    name = image.split("/", 1)[1]
    bearer = {"Authorization": f"Bearer {pull_token(gar, name, credentials.token)}"}
    tags_url = f"http://{gar.registry_host}/v2/{name}/tags/list"
    assert requests.get(tags_url, headers=bearer, timeout=10).json()["tags"] == ["v1"]

    gar.revoke_tokens()
    refused = requests.get(tags_url, headers=bearer, timeout=10)

    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert refused.headers["WWW-Authenticate"].startswith(
        f'Bearer realm="http://{gar.registry_host}/v2/token"'
    )


def test_the_emulator_logs_no_secret(docker_client, gar, image, sa_key, credentials):
    logged_before = gar.registry_log.stat().st_size
    assert error_of(push(docker_client, image, access_token_auth(credentials.token))) is None
    key_auth = {"username": "_json_key", "password": json.dumps(sa_key)}
    assert error_of(push(docker_client, image, key_auth)) is None

    with gar.registry_log.open() as registry_log:
        registry_log.seek(logged_before)
        # Upload URLs carry distribution's own signed state (random base64, no credential).
        written = re.sub(r"_state=[^&\s\"]*", "_state=...", registry_log.read())
    logs = [written, repr(gar.requests)]

    name = image.split("/", 1)[1]
    assert all(f"/v2/{name}/manifests/v1" in log for log in logs)  # both logged the pushes

    for secret in (CANARY, credentials.token, "eyJ", "PRIVATE KEY"):
        assert not [log for log in logs if secret in log], secret
