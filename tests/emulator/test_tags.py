"""packages.tags through google-cloud-artifact-registry, checked against the real registry."""

from __future__ import annotations

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY, unique

PROJECT_REPO = "test-project/docker"


def package_of(image: str) -> str:
    return f"{REPOSITORY}/packages/{image.replace('/', '%2F')}"


def version_of(image: str, digest: str) -> str:
    return f"{package_of(image)}/versions/{digest}"


@pytest.fixture
def pushed(registry):
    """An image `tags-...` with v1 on one version and nothing on a second."""
    image = unique("tags")
    first = registry.push_image(f"{PROJECT_REPO}/{image}", "v1")
    second = registry.push_image(f"{PROJECT_REPO}/{image}", None)
    return image, first.digest, second.digest


def test_create_puts_the_tag_into_the_registry(gar: GarEmulator, client, registry, pushed):
    from google.cloud.artifactregistry_v1 import Tag

    image, first, _ = pushed
    name = f"{package_of(image)}/tags/v1.0.0"

    created = client.create_tag(
        parent=package_of(image),
        tag=Tag(name=name, version=version_of(image, first)),
        tag_id="v1.0.0",
    )

    assert created.name == name
    assert created.version == version_of(image, first)
    assert gar.tag_digest("docker", image, "v1.0.0") == first
    assert registry.tags(f"{PROJECT_REPO}/{image}") == ["v1", "v1.0.0"]


def test_create_refuses_an_existing_tag(gar: GarEmulator, client, pushed):
    from google.api_core.exceptions import Conflict
    from google.cloud.artifactregistry_v1 import Tag

    image, first, second = pushed

    with pytest.raises(Conflict) as raised:
        client.create_tag(
            parent=package_of(image), tag=Tag(version=version_of(image, second)), tag_id="v1"
        )

    assert raised.value.code == 409
    assert raised.value.message.endswith(f'Tag "{package_of(image)}/tags/v1" already exists.')
    assert gar.tag_digest("docker", image, "v1") == first


def test_the_refusal_is_googles_error_body(gar: GarEmulator, credentials, pushed):
    import requests

    image, _, second = pushed
    response = requests.post(
        f"{gar.api_endpoint}/v1/{package_of(image)}/tags",
        params={"tagId": "v1"},
        json={"version": version_of(image, second)},
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": 409,
            "message": f'Tag "{package_of(image)}/tags/v1" already exists.',
            "status": "ALREADY_EXISTS",
        }
    }


def test_create_needs_a_version_of_this_package(client, pushed, registry):
    from google.api_core.exceptions import BadRequest, NotFound
    from google.cloud.artifactregistry_v1 import Tag

    image, first, _ = pushed
    other = unique("tags-other")
    registry.push_image(f"{PROJECT_REPO}/{other}", "v1")

    with pytest.raises(BadRequest):
        client.create_tag(
            parent=package_of(other), tag=Tag(version=version_of(image, first)), tag_id="v2"
        )
    with pytest.raises(NotFound):
        client.create_tag(
            parent=package_of(image),
            tag=Tag(version=version_of(image, "sha256:" + "0" * 64)),
            tag_id="v2",
        )


def test_delete_removes_the_tag_from_the_registry(gar: GarEmulator, client, registry, pushed):
    from google.api_core.exceptions import NotFound

    image, first, _ = pushed
    name = f"{PROJECT_REPO}/{image}"

    client.delete_tag(name=f"{package_of(image)}/tags/v1")

    assert gar.tag_digest("docker", image, "v1") is None
    assert registry.tags(name) == []
    assert registry.head_manifest(name, "v1").status_code == 404
    assert registry.head_manifest(name, first).status_code == 200  # the version stays
    with pytest.raises(NotFound):
        client.get_tag(name=f"{package_of(image)}/tags/v1")
    with pytest.raises(NotFound):
        client.delete_tag(name=f"{package_of(image)}/tags/v1")


def test_a_deleted_tag_can_be_created_again(gar: GarEmulator, client, pushed):
    from google.cloud.artifactregistry_v1 import Tag

    image, _, second = pushed
    client.delete_tag(name=f"{package_of(image)}/tags/v1")

    client.create_tag(
        parent=package_of(image), tag=Tag(version=version_of(image, second)), tag_id="v1"
    )

    assert gar.tag_digest("docker", image, "v1") == second


def test_update_moves_the_tag(gar: GarEmulator, client, pushed):
    from google.cloud.artifactregistry_v1 import Tag
    from google.protobuf import field_mask_pb2

    image, _, second = pushed
    name = f"{package_of(image)}/tags/v1"

    moved = client.update_tag(
        tag=Tag(name=name, version=version_of(image, second)),
        update_mask=field_mask_pb2.FieldMask(paths=["version"]),
    )

    assert moved.version == version_of(image, second)
    assert gar.tag_digest("docker", image, "v1") == second
    assert client.get_tag(name=name).version == version_of(image, second)


def test_update_refuses_a_mask_beyond_version(client, pushed):
    from google.api_core.exceptions import BadRequest
    from google.cloud.artifactregistry_v1 import Tag
    from google.protobuf import field_mask_pb2

    image, _, second = pushed

    with pytest.raises(BadRequest):
        client.update_tag(
            tag=Tag(name=f"{package_of(image)}/tags/v1", version=version_of(image, second)),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        )


def test_list_filters_by_version_as_gcloud_asks(gar: GarEmulator, client, pushed):
    from google.cloud.artifactregistry_v1 import Tag

    image, first, second = pushed
    client.create_tag(
        parent=package_of(image), tag=Tag(version=version_of(image, second)), tag_id="v2"
    )

    everything = client.list_tags(parent=package_of(image))
    on_first = client.list_tags(
        request={"parent": package_of(image), "filter": f'version="{version_of(image, first)}"'}
    )
    by_name = client.list_tags(
        request={"parent": package_of(image), "filter": f'name="{package_of(image)}/tags/*2"'}
    )

    assert [t.name.rsplit("/", 1)[1] for t in everything] == ["v1", "v2"]
    assert [t.name.rsplit("/", 1)[1] for t in on_first] == ["v1"]
    assert [t.name.rsplit("/", 1)[1] for t in by_name] == ["v2"]


def test_an_unsupported_filter_is_invalid_argument(client, pushed):
    from google.api_core.exceptions import BadRequest

    image, _, _ = pushed

    with pytest.raises(BadRequest):
        list(client.list_tags(request={"parent": package_of(image), "filter": "tag>v1"}))


def test_names_with_slashes_are_escaped(gar: GarEmulator, client, registry):
    from google.cloud.artifactregistry_v1 import Tag

    image = f"{unique('team')}/app"
    pushed = registry.push_image(f"{PROJECT_REPO}/{image}", "v1")

    created = client.create_tag(
        parent=package_of(image), tag=Tag(version=version_of(image, pushed.digest)), tag_id="v2"
    )
    client.delete_tag(name=f"{package_of(image)}/tags/v1")

    assert created.name == f"{package_of(image)}/tags/v2"
    assert "%2F" in created.name
    assert registry.tags(f"{PROJECT_REPO}/{image}") == ["v2"]


def test_tag_writes_need_their_permissions(gar: GarEmulator, client, pushed):
    from google.api_core.exceptions import Forbidden
    from google.cloud.artifactregistry_v1 import Tag

    image, _, second = pushed
    gar.deny("artifactregistry.tags.create")
    gar.deny("artifactregistry.tags.delete")

    with pytest.raises(Forbidden, match=r"artifactregistry\.tags\.create"):
        client.create_tag(
            parent=package_of(image), tag=Tag(version=version_of(image, second)), tag_id="v9"
        )
    with pytest.raises(Forbidden, match=r"artifactregistry\.tags\.delete"):
        client.delete_tag(name=f"{package_of(image)}/tags/v1")
    assert gar.tag_digest("docker", image, "v9") is None
    assert gar.tag_digest("docker", image, "v1") is not None


def test_update_of_a_missing_tag_is_not_found(gar: GarEmulator, client, pushed):
    from google.api_core.exceptions import NotFound
    from google.cloud.artifactregistry_v1 import Tag

    image, _, second = pushed

    with pytest.raises(NotFound):
        client.update_tag(
            tag=Tag(name=f"{package_of(image)}/tags/v9", version=version_of(image, second)),
            update_mask={"paths": ["version"]},
        )
    assert gar.tag_digest("docker", image, "v9") is None
