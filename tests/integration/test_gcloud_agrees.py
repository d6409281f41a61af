"""What mlrelease reports about a release, seen again through an independent client: Google's
own gcloud CLI against the emulator, for each API call mlrelease makes (the repository, its
images, its tags)."""

from __future__ import annotations

import json

import pytest

from tests.emulator.test_gcloud import LOCATION, Gcloud, gcloud  # noqa: F401 (the fixture)
from tests.integration.releasing import gar_remote_name, gar_settings, release_repo, remove_images

pytestmark = pytest.mark.integration


@pytest.fixture
def rel(tmp_path, gar, sa_key, docker_client):
    released = release_repo(tmp_path, **gar_settings(gar), tag_aliases="latest")
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    released.repo.tag("v1.0.0", annotated=True)
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def test_gcloud_sees_what_push_releases_and_doctor_reported(
    rel,
    gar,
    docker_client,
    gcloud: Gcloud,  # noqa: F811
) -> None:
    rel.build_image(docker_client, "v1.0.0")
    pushed = json.loads(rel.mlrelease("--json", "push", "v1.0.0").stdout)
    listed = json.loads(rel.mlrelease("--json", "releases").stdout)["data"]["releases"]
    doctor = json.loads(rel.mlrelease("--json", "doctor", "--only", "repository").stdout)
    assert pushed["ok"], pushed
    digest = pushed["data"]["digest"]
    # gcloud names the repository by its real host; the emulator's registry answers for it.
    package = f"{LOCATION}-docker.pkg.dev/{gar.project}/docker/{rel.image}"

    tags = gcloud.json("artifacts", "docker", "tags", "list", package)
    images = gcloud.json("artifacts", "docker", "images", "list", package, "--include-tags")
    repository = gcloud.json(
        "artifacts", "repositories", "describe", "docker", f"--location={LOCATION}"
    )

    assert {(t["tag"].rsplit("/", 1)[1], t["version"].rsplit("/", 1)[1]) for t in tags} == {
        ("v1.0.0", digest),
        ("latest", digest),
    }
    assert [(i["version"], sorted(i["tags"])) for i in images] == [(digest, ["latest", "v1.0.0"])]
    (release,) = listed
    assert (release["digest"], sorted(release["tags"])) == (digest, ["latest", "v1.0.0"])
    (check,) = doctor["data"]["checks"]
    immutable = repository["dockerConfig"].get("immutableTags", False)
    assert check["status"] == ("ok" if immutable else "warn")
