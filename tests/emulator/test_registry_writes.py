"""Writes through GAR's registry host beyond a push: a cross-repository blob mount (the token
service grants pull on the source when the caller may read it) and a manifest DELETE by
digest (deleteArtifacts), both really done by the distribution registry."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY, unique
from tests.emulator.registry_client import RegistryClient
from tests.emulator.test_registry import access_token_auth, error_of, push, tiny_tar


def access_of(token: str) -> list[dict]:
    claims = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["access"]


def mount(registry: RegistryClient, token: str, dest: str, source: str, digest: str):
    return requests.post(
        f"{registry.base}/v2/{dest}/blobs/uploads/",
        params={"mount": digest, "from": source},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_a_blob_mounts_across_repositories(gar: GarEmulator, registry: RegistryClient):
    gar.add_repository("mirror")
    source = registry.push_image(f"test-project/docker/{unique('mount')}", "v1")
    dest = f"test-project/mirror/{unique('mount')}"
    token = registry.token(f"repository:{dest}:push,pull", f"repository:{source.name}:pull")

    mounted = mount(registry, token, dest, source.name, source.layer_digest)

    assert mounted.status_code == 201
    assert mounted.headers["Docker-Content-Digest"] == source.layer_digest
    assert {a["name"]: a["actions"] for a in access_of(token)} == {
        dest: ["push", "pull"],
        source.name: ["pull"],
    }


def test_an_unreadable_source_is_left_out_of_the_token(gar: GarEmulator, registry):
    source = "other-project/docker/app"
    dest = f"test-project/docker/{unique('mount')}"

    token = registry.token(f"repository:{dest}:push,pull", f"repository:{source}:pull")
    refused = mount(registry, token, dest, source, "sha256:" + "a" * 64)

    assert [a["name"] for a in access_of(token)] == [dest]
    assert refused.status_code == 401  # the registry wants pull on the source


def test_a_pull_of_an_unreadable_repository_is_still_refused(registry):
    refused = registry.realm("repository:other-project/docker/app:pull")

    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_the_engine_mounts_layers_it_pushed_elsewhere(docker_client, gar, credentials):
    gar.add_repository("mirror")
    auth = access_token_auth(credentials.token)
    first = f"{gar.registry_host}/test-project/docker/{unique('mount')}"
    second = f"{gar.registry_host}/test-project/mirror/{unique('mount')}"
    docker_client.api.import_image_from_data(tiny_tar(), repository=first, tag="v1")
    docker_client.api.tag(f"{first}:v1", second, "v1")
    try:
        assert error_of(push(docker_client, first, auth)) is None
        stream = push(docker_client, second, auth)
    finally:
        docker_client.images.remove(f"{first}:v1", force=True)
        docker_client.images.remove(f"{second}:v1", force=True)

    assert error_of(stream) is None
    assert any(item.get("status", "").startswith("Mounted from") for item in stream), stream


def test_a_manifest_deletes_by_digest(gar: GarEmulator, registry: RegistryClient, client):
    from google.api_core.exceptions import NotFound

    image = unique("delete")
    name = f"test-project/docker/{image}"
    pushed = registry.push_image(name, "v1")

    deleted = registry.delete_manifest(name, pushed.digest)

    assert deleted.status_code == 202
    assert registry.head_manifest(name, pushed.digest).status_code == 404
    assert registry.tags(name) == []
    with pytest.raises(NotFound):
        client.get_version(name=f"{REPOSITORY}/packages/{image}/versions/{pushed.digest}")


def test_deleting_needs_delete_artifacts(gar: GarEmulator, registry: RegistryClient):
    name = f"test-project/docker/{unique('delete')}"
    gar.deny("artifactregistry.repositories.deleteArtifacts")

    refused = registry.realm(f"repository:{name}:delete")

    assert refused.status_code == 403
    assert refused.json() == {
        "errors": [
            {
                "code": "DENIED",
                "message": 'Permission "artifactregistry.repositories.deleteArtifacts" denied '
                f'on resource "{REPOSITORY}" (or it may not exist)',
            }
        ]
    }


def test_a_delete_without_the_delete_action_is_unauthorized(registry: RegistryClient):
    name = f"test-project/docker/{unique('delete')}"
    pushed = registry.push_image(name, "v1")
    token = registry.token(f"repository:{name}:push,pull")

    refused = requests.delete(
        f"{registry.base}/v2/{name}/manifests/{pushed.digest}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert refused.status_code == 401
    assert registry.head_manifest(name, pushed.digest).status_code == 200
