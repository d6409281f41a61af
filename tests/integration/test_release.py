"""`mlrelease release` end to end on the real service: bump, build, smoke-test, push and verify
through the GAR emulator; a failure midway (the upload denied), then the run that resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator import CANARY
from tests.integration.releasing import (
    gar_remote_name,
    gar_settings,
    remove_images,
    service_release_repo,
)

pytestmark = pytest.mark.integration

UPLOAD = "artifactregistry.repositories.uploadArtifacts"


@pytest.fixture
def service(tmp_path: Path, gar, sa_key, docker_client):
    rel = service_release_repo(tmp_path, **gar_settings(gar))
    rel.env["GCP_SA_KEY"] = json.dumps(sa_key)
    yield rel
    remove_images(docker_client, rel.image, gar_remote_name(gar, rel.image))


def test_a_release_denied_at_the_push_resumes_without_a_second_bump(service, gar) -> None:
    gar.deny(UPLOAD)

    failed = service.mlrelease("release", "minor")

    assert failed.returncode == 4, failed.stderr
    assert "release v0.1.0 stopped" in failed.stderr
    assert "done: tagged v0.1.0, built" in failed.stderr
    assert "smoke-tested" in failed.stderr
    assert "rerun `mlrelease release minor`: it resumes at v0.1.0" in failed.stderr
    assert "--role=roles/artifactregistry.writer" in failed.stderr
    assert service.repo.git("tag", "--list", "v*") == "v0.1.0"
    assert gar.tag_digest("docker", service.image, "v0.1.0") is None

    gar.reset()
    resumed = service.mlrelease("--json", "release", "minor")

    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)["data"]
    assert (data["tag"], data["resumed"], data["pushed"]) == ("v0.1.0", True, True)
    assert data["digest"] == gar.tag_digest("docker", service.image, "v0.1.0")
    assert data["push"]["verified"] is True
    assert service.repo.git("tag", "--list", "v*") == "v0.1.0"
    assert CANARY not in failed.stderr + resumed.stdout + resumed.stderr

    listed = service.mlrelease("--json", "releases")
    (release,) = json.loads(listed.stdout)["data"]["releases"]
    assert (release["version"], release["digest"]) == ("0.1.0", data["digest"])

    again = service.mlrelease("--json", "release", "minor")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["data"]["pushed"] is False


def test_a_head_with_a_version_and_its_build_metadata_twin_releases_the_plain_version(
    service, gar
) -> None:
    # v1.0.0 and v1.0.0+b1 have the same precedence: build, push and release must agree on one.
    service.repo.git("tag", "--annotate", "--message", "Release v1.0.0", "v1.0.0")
    service.repo.git("tag", "--annotate", "--message", "Release v1.0.0+b1", "v1.0.0+b1")

    released = service.mlrelease("--json", "release", "patch")

    assert released.returncode == 0, released.stderr
    data = json.loads(released.stdout)["data"]
    assert (data["tag"], data["resumed"]) == ("v1.0.0", True)
    assert data["digest"] == gar.tag_digest("docker", service.image, "v1.0.0")
