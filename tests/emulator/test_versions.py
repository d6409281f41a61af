"""packages, versions and their long-running deletes through google-cloud-artifact-registry,
checked against the real registry."""

from __future__ import annotations

import datetime

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY, unique
from tests.emulator.test_tags import PROJECT_REPO, package_of, version_of


@pytest.fixture
def image(registry):
    """An image `versions-...`: a tagged version (v1, latest) and an untagged one, pushed in
    that order."""
    name = unique("versions")
    tagged = registry.push_image(f"{PROJECT_REPO}/{name}", "v1")
    registry.put_manifest(f"{PROJECT_REPO}/{name}", "latest", tagged.manifest).raise_for_status()
    untagged = registry.push_image(f"{PROJECT_REPO}/{name}", None)
    return name, tagged, untagged


def test_packages_are_the_image_names_holding_manifests(client, image):
    name, _, _ = image

    packages = {p.name: p for p in client.list_packages(parent=REPOSITORY)}
    package = client.get_package(name=package_of(name))

    assert package_of(name) in packages
    assert package.name == package_of(name)
    assert package.create_time <= package.update_time <= datetime.datetime.now(datetime.UTC)


def test_a_missing_package_is_not_found(client):
    from google.api_core.exceptions import NotFound

    with pytest.raises(NotFound):
        client.get_package(name=package_of("never-pushed"))
    with pytest.raises(NotFound):
        list(client.list_versions(parent=package_of("never-pushed")))


def test_versions_basic_and_full(client, image):
    from google.cloud.artifactregistry_v1 import VersionView

    name, tagged, untagged = image

    basic = {v.name: v for v in client.list_versions(parent=package_of(name))}
    full = {
        v.name: v
        for v in client.list_versions(
            request={"parent": package_of(name), "view": VersionView.FULL}
        )
    }

    assert (
        set(basic)
        == set(full)
        == {
            version_of(name, tagged.digest),
            version_of(name, untagged.digest),
        }
    )
    assert all(not v.related_tags for v in basic.values())
    related = full[version_of(name, tagged.digest)].related_tags
    assert sorted(t.name.rsplit("/", 1)[1] for t in related) == ["latest", "v1"]
    assert not full[version_of(name, untagged.digest)].related_tags


def test_version_metadata_is_the_docker_images(client, image, registry):
    name, tagged, _ = image

    version = client.get_version(name=version_of(name, tagged.digest))

    manifest = registry.head_manifest(f"{PROJECT_REPO}/{name}", tagged.digest)
    assert version.metadata["mediaType"] == manifest.headers["Content-Type"]
    assert version.metadata["imageSizeBytes"].isdigit()
    assert version.metadata["buildTime"] == "2024-05-06T07:08:09.123456Z"
    assert version.metadata["name"] == (f"{REPOSITORY}/dockerImages/{name}@{tagged.digest}")
    assert version.create_time <= version.update_time


def test_versions_in_create_time_order(client, image):
    name, tagged, untagged = image

    newest_first = client.list_versions(
        request={"parent": package_of(name), "order_by": "create_time desc"}
    )

    assert [v.name for v in newest_first] == [
        version_of(name, untagged.digest),
        version_of(name, tagged.digest),
    ]


def test_an_unknown_order_is_invalid_argument(client, image):
    from google.api_core.exceptions import BadRequest

    name, _, _ = image

    with pytest.raises(BadRequest):
        list(client.list_versions(request={"parent": package_of(name), "order_by": "size"}))


def test_versions_page(client, image):
    name, _, _ = image

    pager = client.list_versions(request={"parent": package_of(name), "page_size": 1})

    assert len(list(pager)) == 2


def test_a_tagged_version_is_not_deleted_without_force(gar: GarEmulator, client, image):
    from google.api_core.exceptions import BadRequest

    name, tagged, _ = image

    with pytest.raises(BadRequest) as raised:
        client.delete_version(name=version_of(name, tagged.digest)).result(timeout=10)

    assert "is tagged" in raised.value.message
    assert gar.tag_digest("docker", name, "v1") == tagged.digest


def test_force_deletes_the_version_and_its_tags(gar: GarEmulator, client, image, registry):
    from google.api_core.exceptions import NotFound

    name, tagged, untagged = image

    operation = client.delete_version(
        request={"name": version_of(name, tagged.digest), "force": True}
    )
    operation.result(timeout=10)

    assert operation.done()
    assert registry.head_manifest(f"{PROJECT_REPO}/{name}", tagged.digest).status_code == 404
    assert registry.tags(f"{PROJECT_REPO}/{name}") == []
    with pytest.raises(NotFound):
        client.get_version(name=version_of(name, tagged.digest))
    remaining = [v.name for v in client.list_versions(parent=package_of(name))]
    assert remaining == [version_of(name, untagged.digest)]


def test_an_untagged_version_deletes(client, image, registry):
    name, _, untagged = image

    client.delete_version(name=version_of(name, untagged.digest)).result(timeout=10)

    assert registry.head_manifest(f"{PROJECT_REPO}/{name}", untagged.digest).status_code == 404


def test_the_operation_is_done_and_can_be_polled(gar: GarEmulator, credentials, image):
    import requests

    name, _, untagged = image
    bearer = {"Authorization": f"Bearer {credentials.token}"}

    deleted = requests.delete(
        f"{gar.api_endpoint}/v1/{version_of(name, untagged.digest)}", headers=bearer, timeout=10
    ).json()
    polled = requests.get(f"{gar.api_endpoint}/v1/{deleted['name']}", headers=bearer, timeout=10)

    assert deleted["name"].startswith("projects/test-project/locations/us-central1/operations/")
    assert deleted["done"] is True
    assert deleted["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert polled.status_code == 200
    assert polled.json() == deleted


def test_deleting_the_package_deletes_every_version(gar: GarEmulator, client, image, registry):
    from google.api_core.exceptions import NotFound

    name, tagged, untagged = image

    client.delete_package(name=package_of(name)).result(timeout=10)

    for digest in (tagged.digest, untagged.digest):
        assert registry.head_manifest(f"{PROJECT_REPO}/{name}", digest).status_code == 404
    assert gar.tag_digest("docker", name, "v1") is None
    with pytest.raises(NotFound):
        client.get_package(name=package_of(name))
    assert package_of(name) not in {p.name for p in client.list_packages(parent=REPOSITORY)}


def test_a_package_pushed_again_after_deletion_is_new(client, image, registry):
    name, _, _ = image
    client.delete_package(name=package_of(name)).result(timeout=10)

    again = registry.push_image(f"{PROJECT_REPO}/{name}", "v1")

    versions = [v.name for v in client.list_versions(parent=package_of(name))]
    assert versions == [version_of(name, again.digest)]


def test_nested_packages_survive_their_parents_deletion(client, registry):
    parent = unique("nest")
    registry.push_image(f"{PROJECT_REPO}/{parent}", "v1")
    child = registry.push_image(f"{PROJECT_REPO}/{parent}/child", "v1")

    client.delete_package(name=package_of(parent)).result(timeout=10)

    packages = {p.name for p in client.list_packages(parent=REPOSITORY)}
    assert package_of(f"{parent}/child") in packages
    assert package_of(parent) not in packages
    assert registry.tags(child.name) == ["v1"]


def test_packages_filter_by_name_as_gcloud_asks(client, image):
    name, _, _ = image

    found = client.list_packages(
        request={"parent": REPOSITORY, "filter": f'name="{package_of(name)[:-3]}*"'}
    )

    assert [p.name for p in found] == [package_of(name)]
