"""Signing and verifying a release in the GAR emulator: the signature in its registry host
(token auth through the emulator, a real registry behind it), the SBOM and the provenance
through the attachments API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.releasing import (
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
)
from tests.integration.test_supply_registry import (
    PACKAGES,
    build_release_image,
    new_key_pair,
    settings_for,
    write_dockerfile,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def rel(tmp_path: Path, gar, sa_key, docker_client) -> ReleaseRepo:
    released = release_repo(tmp_path, **gar_settings(gar))
    write_dockerfile(released)
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def test_a_release_signed_in_artifact_registry_verifies(rel, docker_client, gar):
    from mlrelease.registry.target import open_target
    from mlrelease.supply.publish import sign_and_attach

    keys = new_key_pair()
    rel.repo.tag("v1.0.0", annotated=True)
    build_release_image(docker_client, rel, "v1.0.0", packages=PACKAGES, model=b"model")
    pushed = rel.mlrelease("push", "v1.0.0")
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed.stdout.strip().rpartition("@")[2]

    settings = settings_for(rel, MLRELEASE_SIGNING_KEY=keys.private_pem)
    target = open_target(settings)
    assert target.kind == "artifact-registry"
    result = sign_and_attach(settings, target, target.ref("v1.0.0"), digest, client=docker_client)
    assert result.referrers == "Artifact Registry attachments"
    repository = f"projects/{gar.project}/locations/{gar.location}/repositories/docker"
    assert result.sbom_digest.startswith(f"{repository}/attachments/sbom-")
    assert result.provenance_digest.startswith(f"{repository}/attachments/provenance-")
    paths = [path for _, method, path, _ in gar.requests if method == "POST"]
    assert paths.count(f"/upload/v1/{repository}/files:upload") == 2
    assert paths.count(f"/v1/{repository}/attachments") == 2

    # Only the signing key is configured: verify derives the public key from it.
    proc = rel.mlrelease("verify", "v1.0.0", "--json", MLRELEASE_SIGNING_KEY=keys.private_pem)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["data"]["digest"] == digest
    assert {c["status"] for c in envelope["data"]["checks"]} == {"ok"}
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr

    other = rel.mlrelease("verify", "v1.0.0", MLRELEASE_VERIFY_KEY=new_key_pair().public_pem)
    assert other.returncode == 1, other.stderr
    assert "fail   signature" in other.stderr


def test_diff_of_two_releases_in_artifact_registry(rel, docker_client):
    from mlrelease.supply.publish import sign_release

    keys = new_key_pair()
    settings_env = {"MLRELEASE_SIGNING_KEY": keys.private_pem}
    digests = []
    for tag, numpy, model in (("v1.0.0", "2.4.6", b"one"), ("v1.1.0", "2.4.7", b"two")):
        rel.repo.commit(f"release {tag}")
        rel.repo.tag(tag, annotated=True)
        packages = {**PACKAGES, "numpy": numpy}
        build_release_image(docker_client, rel, tag, packages=packages, model=model)
        pushed = rel.mlrelease("push", tag)
        assert pushed.returncode == 0, pushed.stderr
        digests.append(pushed.stdout.strip().rpartition("@")[2])
        signed = sign_release(settings_for(rel, **settings_env), tag, digests[-1])
        assert signed is not None

    proc = rel.mlrelease("diff", "v1.0.0", "v1.1.0", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert [(p["name"], p["before"], p["after"]) for p in data["packages"]] == [
        ("numpy", "2.4.6", "2.4.7")
    ]
    changed = [v["name"] for v in data["values"] if v["changed"]]
    assert "model /app/service/model/model.joblib sha256" in changed
    assert (data["before"]["digest"], data["after"]["digest"]) == tuple(digests)


def test_push_with_a_signing_key_signs_in_artifact_registry_and_verify_passes(
    rel, docker_client
) -> None:
    keys = new_key_pair()
    rel.repo.tag("v2.0.0", annotated=True)
    build_release_image(docker_client, rel, "v2.0.0", packages=PACKAGES, model=b"model")

    pushed = rel.mlrelease("--json", "push", "v2.0.0", MLRELEASE_SIGNING_KEY=keys.private_pem)

    assert pushed.returncode == 0, pushed.stderr
    data = json.loads(pushed.stdout)["data"]
    assert data["target"] == "artifact-registry"
    assert data["attached"]["referrers"] == "Artifact Registry attachments"
    verified = rel.mlrelease("--json", "verify", "v2.0.0", MLRELEASE_VERIFY_KEY=keys.public_pem)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert {c["status"] for c in json.loads(verified.stdout)["data"]["checks"]} == {"ok"}
