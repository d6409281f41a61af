"""`mlrelease push` and `releases` against a real, plain distribution registry (no Google):
what may be pushed, the push, the verification, a re-push, a replaced tag."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.integration.releasing import ReleaseRepo, release_repo, remove_images

pytestmark = pytest.mark.integration


def registry_digest(registry, path: str, tag: str) -> str | None:
    request = urllib.request.Request(
        f"{registry.url}/v2/{path}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


@pytest.fixture
def released(tmp_path: Path, registry, docker_client) -> ReleaseRepo:
    rel = release_repo(tmp_path, registry_host=registry.host)
    rel.repo.tag("v1.0.0", annotated=True)
    yield rel
    remove_images(docker_client, rel.image, f"{registry.host}/{rel.image}")


def test_a_release_is_pushed_verified_and_listed(released, registry, docker_client) -> None:
    released.build_image(docker_client, "v1.0.0")

    pushed = released.mlrelease("--json", "push", "v1.0.0")

    assert pushed.returncode == 0, pushed.stderr
    data = json.loads(pushed.stdout)["data"]
    in_registry = registry_digest(registry, released.image, "v1.0.0")
    assert in_registry is not None
    assert (data["digest"], data["pushed"], data["verified"]) == (in_registry, True, True)
    assert data["ref"] == f"{registry.host}/{released.image}:v1.0.0"
    assert data["compressed_size_bytes"] > 0
    assert data["credentials_source"] is None

    listed = released.mlrelease("--json", "releases")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)["data"]["releases"]
    assert (entry["version"], entry["tags"], entry["digest"]) == ("1.0.0", ["v1.0.0"], in_registry)

    plain = released.mlrelease("push", "v1.0.0")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == f"{registry.host}/{released.image}@{in_registry}"
    assert "nothing pushed" in plain.stderr


def test_another_image_under_an_existing_tag_is_refused_unless_forced(
    released, registry, docker_client
) -> None:
    released.build_image(docker_client, "v1.0.0", content="first")
    assert released.mlrelease("push", "v1.0.0").returncode == 0
    first = registry_digest(registry, released.image, "v1.0.0")
    released.build_image(docker_client, "v1.0.0", content="second")

    refused = released.mlrelease("push", "v1.0.0")

    assert refused.returncode == 3, refused.stderr
    assert "already holds another image" in refused.stderr
    assert "--force" in refused.stderr
    assert registry_digest(registry, released.image, "v1.0.0") == first

    forced = released.mlrelease("push", "v1.0.0", "--force")
    assert forced.returncode == 0, forced.stderr
    replaced = registry_digest(registry, released.image, "v1.0.0")
    assert replaced not in (None, first)
    assert forced.stdout.strip().endswith(f"@{replaced}")


def test_an_image_from_another_commit_or_a_dirty_tree_is_never_pushed(
    released, registry, docker_client
) -> None:
    tagged = released.repo.head
    released.repo.commit("after the release")
    released.build_image(docker_client, "v1.0.0", commit=released.repo.head)

    other = released.mlrelease("push", "v1.0.0")

    assert other.returncode == 3, other.stderr
    assert f"but v1.0.0 is commit {tagged[:7]}" in other.stderr
    assert "git checkout v1.0.0 && mlrelease build" in other.stderr

    released.build_image(docker_client, "v1.0.0", commit=tagged, dirty=True)
    dirty = released.mlrelease("push", "v1.0.0")
    assert dirty.returncode == 3, dirty.stderr
    assert "uncommitted changes" in dirty.stderr
    assert registry_digest(registry, released.image, "v1.0.0") is None


def test_what_is_not_a_release_is_refused_before_the_engine(released, registry) -> None:
    assert released.mlrelease("push", "1.0").returncode == 2
    missing = released.mlrelease("push", "v9.9.9")
    assert missing.returncode == 3, missing.stderr
    assert "there is no git tag v9.9.9" in missing.stderr
    not_built = released.mlrelease("push", "v1.0.0")
    assert not_built.returncode == 3, not_built.stderr
    assert f"neither {released.image}:v1.0.0 nor" in not_built.stderr
    assert "is built" in not_built.stderr


def test_a_dry_run_pushes_nothing(released, registry, docker_client) -> None:
    released.build_image(docker_client, "v1.0.0")

    dry = released.mlrelease("push", "v1.0.0", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was pushed" in dry.stderr
    assert registry_digest(registry, released.image, "v1.0.0") is None


def test_without_a_destination_push_is_a_configuration_error(tmp_path: Path) -> None:
    rel = release_repo(tmp_path)
    rel.repo.tag("v1.0.0", annotated=True)

    result = rel.mlrelease("push", "v1.0.0", MLRELEASE_GCP_PROJECT="")

    assert result.returncode == 2, result.stderr
    assert "neither gcp_project nor registry_host is set" in result.stderr


def test_doctor_checks_a_plain_registry_answers(released, registry) -> None:
    result = released.mlrelease("--json", "doctor", "--only", "credentials,repository,permission")

    checks = {c["id"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    assert result.returncode == 0, result.stderr
    assert checks["repository"]["status"] == "ok"
    assert registry.host in checks["repository"]["finding"]
    assert (checks["credentials"]["status"], checks["permission"]["status"]) == ("skip", "skip")

    down = released.mlrelease(
        "--json", "doctor", "--only", "repository", MLRELEASE_REGISTRY_HOST="127.0.0.1:9"
    )
    (check,) = json.loads(down.stdout)["data"]["checks"]
    assert down.returncode == 1, down.stderr
    assert (check["status"], check["fix"] != "") == ("fail", True)
