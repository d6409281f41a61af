"""`mlrelease promote`: a release copied by digest between repositories, through the Registry API
v2 (mounts on one host, streamed uploads across hosts), checked and verified as push is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrelease.registry.v2 import Manifest, RegistryClient
from tests.integration.releasing import (
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
)

pytestmark = pytest.mark.integration

UPLOAD = "artifactregistry.repositories.uploadArtifacts"
INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture
def rel(tmp_path: Path, gar, sa_key, docker_client) -> ReleaseRepo:
    """A release v1.0.0 pushed to the emulator's `docker` repository; `prod` exists too."""
    released = release_repo(tmp_path, **gar_settings(gar))
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    released.repo.tag("v1.0.0", annotated=True)
    gar.add_repository("prod")
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def pushed(rel: ReleaseRepo, docker_client, **env: str) -> str:
    rel.build_image(docker_client, "v1.0.0")
    result = rel.mlrelease("--json", "push", "v1.0.0", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]["digest"]


def data(result) -> dict:
    return json.loads(result.stdout)["data"]


def test_a_release_is_promoted_by_digest_with_mounts_and_verified(
    rel, gar, docker_client, tmp_path
) -> None:
    digest = pushed(rel, docker_client)
    outputs = tmp_path / "github_output"
    summary = tmp_path / "summary.md"

    result = rel.mlrelease(
        "--json",
        "promote",
        "v1.0.0",
        "--to",
        "prod",
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
    )

    assert result.returncode == 0, result.stderr
    promoted = data(result)
    assert (promoted["digest"], promoted["promoted"], promoted["verified"]) == (digest, True, True)
    assert promoted["ref"] == f"{gar.registry_host}/{gar.project}/prod/{rel.image}:v1.0.0"
    assert {blob["action"] for blob in promoted["blobs"]} == {"mounted"}
    assert promoted["bytes_sent"] == 0
    assert gar.tag_digest("prod", rel.image, "v1.0.0") == digest
    # Nothing went through the engine: no pull, no push of the destination's name.
    assert not docker_client.images.list(name=f"{gar.registry_host}/{gar.project}/prod/{rel.image}")
    written = outputs.read_text()
    assert f"digest={digest}\n" in written
    assert f"image={gar.registry_host}/{gar.project}/prod/{rel.image}@{digest}\n" in written
    assert "### mlrelease promote" in summary.read_text()
    # The tag was created through the Artifact Registry API, which refuses a tag that exists.
    assert any(
        method == "POST" and path.endswith("/tags") for _, method, path, _ in gar.requests
    ), gar.requests

    again = rel.mlrelease("promote", "v1.0.0", "--to", "prod")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{gar.registry_host}/{gar.project}/prod/{rel.image}@{digest}"
    assert "nothing copied" in again.stderr


def test_the_promote_to_setting_and_a_dry_run(rel, gar, docker_client) -> None:
    pushed(rel, docker_client)

    planned = rel.mlrelease("--json", "promote", "v1.0.0", "--dry-run", MLRELEASE_PROMOTE_TO="prod")

    assert planned.returncode == 0, planned.stderr
    plan = data(planned)
    assert (plan["dry_run"], plan["promoted"]) == (True, False)
    assert plan["blobs"] and {blob["action"] for blob in plan["blobs"]} == {"missing"}
    assert gar.tag_digest("prod", rel.image, "v1.0.0") is None


def test_refusals_as_push_has_them(rel, gar, docker_client) -> None:
    pushed(rel, docker_client)

    missing = rel.mlrelease("promote", "v1.0.0", "--to", "staging")
    assert missing.returncode == 3, missing.stderr
    assert "gcloud artifacts repositories create staging" in missing.stderr

    no_tag = rel.mlrelease("promote", "v9.9.9", "--to", "prod")
    assert no_tag.returncode == 3, no_tag.stderr
    assert "nothing to promote" in no_tag.stderr

    no_destination = rel.mlrelease("promote", "v1.0.0")
    assert no_destination.returncode == 2, no_destination.stderr
    assert "promote_to" in no_destination.stderr

    gar.deny(UPLOAD)
    denied = rel.mlrelease("promote", "v1.0.0", "--to", "prod")
    assert denied.returncode == 4, denied.stderr
    assert "roles/artifactregistry.writer" in denied.stderr


def test_a_tag_holding_another_digest_is_refused(rel, gar, docker_client) -> None:
    other = pushed(rel, docker_client, MLRELEASE_REPOSITORY="prod")
    digest = pushed(rel, docker_client)  # another image under the same version
    assert other != digest

    result = rel.mlrelease("promote", "v1.0.0", "--to", "prod")

    assert result.returncode == 3, result.stderr
    assert other in result.stderr
    assert gar.tag_digest("prod", rel.image, "v1.0.0") == other


def test_across_registry_hosts_the_blobs_are_streamed(rel, gar, docker_client, registry) -> None:
    digest = pushed(rel, docker_client)
    destination = f"{registry.host}/promoted/{rel.image}"

    result = rel.mlrelease("--json", "promote", "v1.0.0", "--to", destination)

    assert result.returncode == 0, result.stderr
    promoted = data(result)
    assert (promoted["digest"], promoted["target"]) == (digest, "registry")
    assert {blob["action"] for blob in promoted["blobs"]} == {"uploaded"}
    assert promoted["bytes_sent"] == sum(blob["size_bytes"] for blob in promoted["blobs"])
    landed = RegistryClient(registry.host).manifest(f"promoted/{rel.image}", "v1.0.0")
    assert landed is not None and landed.digest == digest


def test_an_image_index_between_two_plain_repositories(tmp_path, registry, docker_client) -> None:
    rel = release_repo(tmp_path, registry_host=registry.host)
    rel.repo.tag("v1.0.0", annotated=True)
    rel.repo.tag("v2.0.0", annotated=True)
    try:
        rel.build_image(docker_client, "v1.0.0")
        assert rel.mlrelease("push", "v1.0.0").returncode == 0
        client = RegistryClient(registry.host)
        child = client.manifest(rel.image, "v1.0.0")
        assert child is not None
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": INDEX,
                "manifests": [
                    {
                        "mediaType": child.media_type,
                        "digest": child.digest,
                        "size": len(child.body),
                        "platform": {"architecture": "amd64", "os": "linux"},
                    }
                ],
            }
        ).encode()
        index_digest = client.put_manifest(rel.image, "v2.0.0", Manifest("", None, 0, INDEX, index))

        result = rel.mlrelease(
            "--json", "promote", "v2.0.0", "--to", f"{registry.host}/stable/{rel.image}"
        )

        assert result.returncode == 0, result.stderr
        promoted = data(result)
        assert (promoted["digest"], promoted["manifests"]) == (index_digest, 2)
        assert {blob["action"] for blob in promoted["blobs"]} == {"mounted"}
        assert client.manifest(f"stable/{rel.image}", child.digest) is not None
        landed = client.manifest(f"stable/{rel.image}", "v2.0.0")
        assert landed is not None and landed.body == index
    finally:
        remove_images(docker_client, rel.image, f"{registry.host}/{rel.image}")
