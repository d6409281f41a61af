"""`mlrelease promote` of a signed release: the cosign signature, the SBOM and the provenance go
along, by digest, between two repositories of the emulated Artifact Registry (attachments), two
repositories of one plain registry (mounts), two plain registries (uploads) and from Artifact
Registry to a plain registry (attachments become referrers); `verify` passes at the destination
and a second promotion sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from mlrelease.registry.v2 import RegistryClient
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

KINDS = {"signature", "sbom", "provenance"}


def signed_release(rel: ReleaseRepo, docker_client, tag: str = "v1.0.0") -> str:
    """Tag, build and push `tag` with a signing key (verify gets its public key): the digest."""
    keys = new_key_pair()
    rel.repo.tag(tag, annotated=True)
    build_release_image(docker_client, rel, tag, packages=PACKAGES, model=b"model")
    pushed = rel.mlrelease("--json", "push", tag, MLRELEASE_SIGNING_KEY=keys.private_pem)
    assert pushed.returncode == 0, pushed.stderr
    data = json.loads(pushed.stdout)["data"]
    assert data["attached"], pushed.stderr
    rel.env["MLRELEASE_VERIFY_KEY"] = keys.public_pem
    return data["digest"]


def promote(rel: ReleaseRepo, *args: str, **env: str) -> dict:
    result = rel.mlrelease("--json", "promote", "v1.0.0", *args, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


def verified(rel: ReleaseRepo, *args: str) -> dict[str, str]:
    """`verify v1.0.0 ARGS`: each check's status (asserting the exit code is 0)."""
    result = rel.mlrelease("--json", "verify", "v1.0.0", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return {check["name"]: check["status"] for check in json.loads(result.stdout)["data"]["checks"]}


def by_kind(promoted: dict) -> dict[str, dict]:
    return {artifact["kind"]: artifact for artifact in promoted["artifacts"]}


def referrers(client: RegistryClient, path: str, digest: str) -> dict[str, str]:
    """artifactType -> digest, from the referrers tag schema (distribution 2.8 has no API)."""
    index = client.manifest(path, digest.replace(":", "-"))
    assert index is not None, f"no referrers index for {path}@{digest}"
    return {entry["artifactType"]: entry["digest"] for entry in json.loads(index.body)["manifests"]}


# Artifact Registry to Artifact Registry


@pytest.fixture
def gar_rel(tmp_path: Path, gar, sa_key, docker_client) -> ReleaseRepo:
    released = release_repo(tmp_path, **gar_settings(gar))
    write_dockerfile(released)
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    gar.add_repository("prod")
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def attachments(rel: ReleaseRepo, gar, repository: str, digest: str) -> dict[str, list[str]]:
    """type -> file digests of the attachments of `digest` in `repository`, read from the
    emulator's REST API."""
    from mlrelease.registry.target import open_target

    token = open_target(settings_for(rel)).token
    parent = f"projects/{gar.project}/locations/{gar.location}/repositories/{repository}"
    target = f"{parent}/packages/{rel.image.replace('/', '%2F')}/versions/{digest}"
    answer = requests.get(
        f"{gar.api_endpoint}/v1/{parent}/attachments",
        params={"filter": f'target="{target}"'},
        headers={"Authorization": f"Bearer {token.reveal()}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {
        item["type"]: [name.rpartition("/files/")[2] for name in item["files"]]
        for item in answer.json().get("attachments", [])
    }


def test_a_signed_release_is_promoted_with_its_artifacts_in_artifact_registry(
    gar_rel, gar, docker_client, tmp_path
) -> None:
    digest = signed_release(gar_rel, docker_client)
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"

    promoted = promote(
        gar_rel, "--to", "prod", GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary)
    )

    assert (promoted["digest"], promoted["promoted"], promoted["verified"]) == (digest, True, True)
    artifacts = by_kind(promoted)
    assert set(artifacts) == KINDS
    assert {a["action"] for a in artifacts.values()} == {"copied"}
    assert artifacts["signature"]["stored_as"] == "tag"
    assert {artifacts[k]["stored_as"] for k in ("sbom", "provenance")} == {"attachment"}
    # The same digests on both sides: the signature manifest's, and the attached files'.
    for artifact in artifacts.values():
        assert artifact["digest"] == artifact["source_digest"]
    signature_tag = f"sha256-{digest.split(':')[1]}.sig"
    assert gar.tag_digest("prod", gar_rel.image, signature_tag) == artifacts["signature"]["digest"]
    assert (
        gar.tag_digest("docker", gar_rel.image, signature_tag) == artifacts["signature"]["digest"]
    )
    source, destination = (attachments(gar_rel, gar, r, digest) for r in ("docker", "prod"))
    assert source == destination and len(destination) == 2
    assert destination["application/vnd.cyclonedx+json"] == [artifacts["sbom"]["digest"]]
    # The attachments were created in prod through the API, targeting prod's version.
    prod = f"projects/{gar.project}/locations/{gar.location}/repositories/prod"
    posts = [path for _, method, path, _ in gar.requests if method == "POST"]
    assert posts.count(f"/v1/{prod}/attachments") == 2

    assert set(verified(gar_rel, "--repository", "prod").values()) == {"ok"}

    written = outputs.read_text()
    assert f"digest={digest}\n" in written
    assert "artifacts_copied=3\n" in written
    line = next(row for row in written.splitlines() if row.startswith("artifacts="))
    assert {a["kind"] for a in json.loads(line.partition("=")[2])} == KINDS
    text = summary.read_text()
    assert "#### Artifacts" in text and "| sbom |" in text

    again = promote(gar_rel, "--to", "prod")
    assert (again["promoted"], again["bytes_sent"]) == (False, 0)
    assert {a["action"] for a in again["artifacts"]} == {"present"}
    assert attachments(gar_rel, gar, "prod", digest) == destination


def test_a_dry_run_lists_the_artifacts_and_copies_nothing(gar_rel, gar, docker_client) -> None:
    digest = signed_release(gar_rel, docker_client)
    before = len(gar.requests)

    plan = promote(gar_rel, "--to", "prod", "--dry-run")

    assert (plan["dry_run"], plan["promoted"]) == (True, False)
    assert set(by_kind(plan)) == KINDS
    assert {a["action"] for a in plan["artifacts"]} == {"missing"}
    assert plan["bytes_sent"] == 0
    writes = [(m, p) for _, m, p, _ in gar.requests[before:] if m in ("POST", "PUT", "PATCH")]
    assert all("/token" in path or path.endswith("testIamPermissions") for _, path in writes), (
        writes
    )
    assert gar.tag_digest("prod", gar_rel.image, "v1.0.0") is None
    assert attachments(gar_rel, gar, "prod", digest) == {}
    view = gar_rel.mlrelease("promote", "v1.0.0", "--to", "prod", "--dry-run")
    assert view.returncode == 0, view.stderr
    assert "artifacts: signature to copy, sbom to copy, provenance to copy" in view.stderr


def test_without_artifacts_then_with_them(gar_rel, gar, docker_client) -> None:
    signed_release(gar_rel, docker_client)

    alone = promote(gar_rel, "--to", "prod", "--no-artifacts")

    assert (alone["promoted"], alone["artifacts"], alone["artifacts_carried"]) == (True, [], False)
    missing = gar_rel.mlrelease("--json", "verify", "v1.0.0", "--repository", "prod")
    assert missing.returncode == 3, missing.stdout + missing.stderr

    # A rerun carries what the first left behind, though the image is there already.
    rerun = promote(gar_rel, "--to", "prod")
    assert (rerun["promoted"], rerun["already_there"]) == (False, True)
    assert {a["action"] for a in rerun["artifacts"]} == {"copied"}
    assert set(verified(gar_rel, "--repository", "prod").values()) == {"ok"}


def test_from_artifact_registry_to_a_plain_registry_attachments_become_referrers(
    gar_rel, gar, docker_client, registry
) -> None:
    digest = signed_release(gar_rel, docker_client)
    destination = f"{registry.host}/promoted-{gar_rel.image.rpartition('-')[2]}/app"
    path = destination.partition("/")[2]

    promoted = promote(gar_rel, "--to", destination)

    artifacts = by_kind(promoted)
    assert set(artifacts) == KINDS
    assert artifacts["signature"]["digest"] == artifacts["signature"]["source_digest"]
    assert {artifacts[k]["stored_as"] for k in ("sbom", "provenance")} == {"referrer"}
    listed = referrers(RegistryClient(registry.host), path, digest)
    assert listed == {
        "application/vnd.cyclonedx+json": artifacts["sbom"]["digest"],
        "application/vnd.in-toto+json": artifacts["provenance"]["digest"],
    }
    # The SBOM's bytes are the attached file's: its layer is the file's digest.
    sbom = RegistryClient(registry.host).manifest(path, artifacts["sbom"]["digest"])
    assert json.loads(sbom.body)["layers"][0]["digest"] == artifacts["sbom"]["source_digest"]
    assert set(verified(gar_rel, "--repository", destination).values()) == {"ok"}

    again = promote(gar_rel, "--to", destination)
    assert again["bytes_sent"] == 0
    assert {a["action"] for a in again["artifacts"]} == {"present"}


# Plain registries


@pytest.fixture
def plain_rel(tmp_path: Path, registry, docker_client) -> ReleaseRepo:
    released = release_repo(tmp_path, registry_host=registry.host)
    write_dockerfile(released)
    yield released
    remove_images(docker_client, released.image, f"{registry.host}/{released.image}")


@pytest.mark.parametrize("where", ["same registry", "another registry"])
def test_a_signed_release_between_plain_registries(
    plain_rel, docker_client, registry, second_registry, where
) -> None:
    digest = signed_release(plain_rel, docker_client)
    host = registry.host if where == "same registry" else second_registry.host
    destination = f"{host}/stable/{plain_rel.image}"

    promoted = promote(plain_rel, "--to", destination)

    assert (promoted["digest"], promoted["verified"]) == (digest, True)
    artifacts = by_kind(promoted)
    assert set(artifacts) == KINDS
    assert {a["action"] for a in artifacts.values()} == {"copied"}
    assert {artifacts[k]["stored_as"] for k in ("sbom", "provenance")} == {"referrer"}
    for artifact in artifacts.values():
        assert artifact["digest"] == artifact["source_digest"]
    sent = sum(a["bytes_sent"] for a in artifacts.values())
    assert (sent == 0) == (where == "same registry"), artifacts  # mounted, else uploaded
    source, target = RegistryClient(registry.host), RegistryClient(host)
    listed = referrers(target, f"stable/{plain_rel.image}", digest)
    assert listed == referrers(source, plain_rel.image, digest)
    signature_tag = f"sha256-{digest.split(':')[1]}.sig"
    copied = target.manifest(f"stable/{plain_rel.image}", signature_tag)
    assert copied is not None and copied.digest == artifacts["signature"]["digest"]
    assert set(verified(plain_rel, "--repository", destination).values()) == {"ok"}

    again = promote(plain_rel, "--to", destination)
    assert (again["promoted"], again["bytes_sent"]) == (False, 0)
    assert {a["action"] for a in again["artifacts"]} == {"present"}
