"""A repository with immutable tags: the engine's pushes, the registry API and the Artifact
Registry API all keep an existing tag on its digest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY, unique
from tests.emulator.test_registry import access_token_auth, digest_of, error_of, push, tiny_tar

RELEASES = REPOSITORY.replace("/docker", "/releases")
REFUSED = "manifest invalid: cannot update tag v1. The repository has enabled tag immutability"


@pytest.fixture
def releases(gar: GarEmulator) -> str:
    gar.add_repository("releases", immutable_tags=True)
    return "test-project/releases"


@pytest.fixture
def local_image(docker_client, gar: GarEmulator, releases: str) -> Iterator[str]:
    """A local image named for the immutable repository, tagged v1."""
    repository = f"{gar.registry_host}/{releases}/immutable-{uuid.uuid4().hex[:10]}"
    docker_client.api.import_image_from_data(tiny_tar(), repository=repository, tag="v1")
    yield repository
    docker_client.images.remove(f"{repository}:v1", force=True)


def test_the_engine_cannot_move_an_existing_tag(docker_client, gar, local_image, credentials):
    auth = access_token_auth(credentials.token)
    first = digest_of(push(docker_client, local_image, auth))
    docker_client.api.import_image_from_data(tiny_tar(), repository=local_image, tag="v1")

    stream = push(docker_client, local_image, auth)

    assert error_of(stream) == REFUSED
    image = local_image.rsplit("/", 1)[1]
    assert gar.tag_digest("releases", image, "v1") == first
    refused = [r for r in gar.requests if r[1] == "PUT" and r[2].endswith("/manifests/v1")]
    assert refused[-1][3] == 400


def test_the_same_digest_pushes_again(docker_client, gar, local_image, credentials):
    auth = access_token_auth(credentials.token)
    first = digest_of(push(docker_client, local_image, auth))

    again = push(docker_client, local_image, auth)

    assert error_of(again) is None
    assert digest_of(again) == first


def test_a_new_tag_pushes(docker_client, gar, local_image, credentials):
    auth = access_token_auth(credentials.token)
    assert error_of(push(docker_client, local_image, auth)) is None
    docker_client.api.import_image_from_data(tiny_tar(), repository=local_image, tag="v2")
    try:
        stream = push(docker_client, local_image, auth, tag="v2")
    finally:
        docker_client.images.remove(f"{local_image}:v2", force=True)

    assert error_of(stream) is None


def test_the_registry_api_refuses_with_gars_body(registry, releases):
    name = f"{releases}/{unique('immutable')}"
    registry.push_image(name, "v1")
    other = registry.push_image(name, None)

    refused = registry.put_manifest(name, "v1", other.manifest)

    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            {
                "code": "MANIFEST_INVALID",
                "message": "cannot update tag v1. The repository has enabled tag immutability",
            }
        ]
    }


def test_a_tagged_manifest_cannot_be_deleted_through_the_registry(registry, releases):
    name = f"{releases}/{unique('immutable')}"
    pushed = registry.push_image(name, "v1")
    untagged = registry.push_image(name, None)

    refused = registry.delete_manifest(name, pushed.digest)
    deleted = registry.delete_manifest(name, untagged.digest)

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == (
        "cannot delete tag v1. The repository has enabled tag immutability"
    )
    assert deleted.status_code == 202
    assert registry.head_manifest(name, "v1").status_code == 200


@pytest.fixture
def api_image(registry, releases):
    """An image in the immutable repository: v1 on one version, a second version untagged."""
    image = unique("immutable")
    first = registry.push_image(f"{releases}/{image}", "v1")
    second = registry.push_image(f"{releases}/{image}", None)
    return image, first.digest, second.digest


def package(image: str) -> str:
    return f"{RELEASES}/packages/{image}"


def test_the_api_cannot_move_or_delete_a_tag(gar: GarEmulator, client, api_image):
    from google.api_core.exceptions import BadRequest
    from google.cloud.artifactregistry_v1 import Tag

    image, first, second = api_image
    tag = f"{package(image)}/tags/v1"

    with pytest.raises(BadRequest) as moved:
        client.update_tag(
            tag=Tag(name=tag, version=f"{package(image)}/versions/{second}"),
            update_mask={"paths": ["version"]},
        )
    with pytest.raises(BadRequest) as deleted:
        client.delete_tag(name=tag)
    with pytest.raises(BadRequest):
        client.delete_version(request={"name": f"{package(image)}/versions/{first}", "force": True})

    assert moved.value.message.endswith(
        "cannot update tag v1. The repository has enabled tag immutability"
    )
    assert deleted.value.message.endswith(
        "cannot delete tag v1. The repository has enabled tag immutability"
    )
    assert gar.tag_digest("releases", image, "v1") == first


def test_the_api_creates_new_tags_and_keeps_same_digest_updates(gar, client, api_image):
    from google.api_core.exceptions import Conflict
    from google.cloud.artifactregistry_v1 import Tag

    image, first, second = api_image

    client.create_tag(
        parent=package(image), tag=Tag(version=f"{package(image)}/versions/{second}"), tag_id="v2"
    )
    same = client.update_tag(
        tag=Tag(name=f"{package(image)}/tags/v1", version=f"{package(image)}/versions/{first}"),
        update_mask={"paths": ["version"]},
    )
    with pytest.raises(Conflict):
        client.create_tag(
            parent=package(image),
            tag=Tag(version=f"{package(image)}/versions/{second}"),
            tag_id="v1",
        )

    assert gar.tag_digest("releases", image, "v2") == second
    assert same.version.endswith(first)
    assert gar.tag_digest("releases", image, "v1") == first


def test_an_untagged_version_still_deletes(client, api_image, registry, releases):
    image, _, second = api_image

    client.delete_version(name=f"{package(image)}/versions/{second}").result(timeout=10)

    assert registry.head_manifest(f"{releases}/{image}", second).status_code == 404
