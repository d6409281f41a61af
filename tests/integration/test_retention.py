"""`mlrelease retention`: cleanup policies as code on the GAR emulator (plan, apply, read back)
and, on a plain distribution registry, deletions by digest, exactly as planned."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from mlrelease.registry.v2 import Manifest, RegistryClient
from mlrelease.secrets import Secret
from tests.integration.releasing import gar_settings, release_repo

pytestmark = pytest.mark.integration

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DAY = 86400
RETENTION = (
    "\n[tool.mlrelease.retention]\n"
    "keep_releases = 10\n"
    'keep_tag_prefixes = ["prod-"]\n'
    "delete_untagged_after_days = 7\n"
    "delete_sha_after_days = 30\n"
)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_image(client: RegistryClient, path: str, tags: list[str], age_days: float) -> str:
    """A tiny image whose config says it was created `age_days` ago; tagged, or not."""
    layer = f"layer {uuid.uuid4().hex}".encode()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age_days * DAY))
    config = json.dumps(
        {
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha(layer)]},
        }
    ).encode()
    for blob in (layer, config):
        client.upload_blob(path, client.start_upload(path), sha(blob), [blob])
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": sha(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": sha(layer),
                }
            ],
        }
    ).encode()
    manifest = Manifest(sha(body), sha(config), 0, DOCKER_V2, body)
    for reference in tags or [manifest.digest]:
        client.put_manifest(path, reference, manifest)
    return manifest.digest


def thirty_images(client: RegistryClient, path: str, *, untagged: bool) -> dict[str, str]:
    """name -> digest: 12 releases (v1.1.0 also prod-), 2 release candidates, 10 sha- builds
    (5 older than 30 days) and, when `untagged`, 6 untagged images (3 older than 7 days)."""
    images = {}
    for minor in range(12):
        tags = [f"v1.{minor}.0", *(["prod-2024-01"] if minor == 1 else [])]
        images[f"v1.{minor}.0"] = put_image(client, path, tags, 100 - 5 * minor)
    for rc, age in ((1, 3), (2, 2)):
        images[f"rc{rc}"] = put_image(client, path, [f"v1.12.0-rc.{rc}"], age)
    for n in range(10):
        images[f"sha{n}"] = put_image(client, path, [f"sha-{n:07x}"], 40 if n < 5 else 10)
    if untagged:
        for n in range(6):
            images[f"untagged{n}"] = put_image(client, path, [], 20 if n < 3 else 1)
    return images


def age_in_storage(data_root: Path, path: str, digest: str, days: float) -> None:
    """Make the registry's own record of `digest` (its links) as old as the image says."""
    repo = data_root / "docker/registry/v2/repositories" / path / "_manifests"
    moment = time.time() - days * DAY
    hex_digest = digest.removeprefix("sha256:")
    links = [repo / "revisions/sha256" / hex_digest / "link"]
    links += list((repo / "tags").glob(f"*/index/sha256/{hex_digest}/link"))
    for link in links:
        os.utime(link, (moment, moment))


AGES = {
    **{f"v1.{m}.0": 100 - 5 * m for m in range(12)},
    "rc1": 3,
    "rc2": 2,
    **{f"sha{n}": 40 if n < 5 else 10 for n in range(10)},
    **{f"untagged{n}": 20 if n < 3 else 1 for n in range(6)},
}


def gar_token(sa_key: dict) -> str:
    import google.auth.transport.requests
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(
        sa_key, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    credentials.refresh(google.auth.transport.requests.Request())
    return credentials.token


def test_the_plan_and_apply_on_artifact_registry(tmp_path, gar, sa_key) -> None:
    rel = release_repo(tmp_path, **gar_settings(gar))
    with (rel.path / "pyproject.toml").open("a") as handle:
        handle.write(RETENTION)
    rel.env["GCP_SA_KEY"] = json.dumps(sa_key)
    token = gar_token(sa_key)
    path = f"{gar.project}/docker/{rel.image}"
    client = RegistryClient(gar.registry_host, username="oauth2accesstoken", password=Secret(token))
    images = thirty_images(client, path, untagged=True)
    for name, digest in images.items():
        age_in_storage(gar.registry_log.parent / "data", path, digest, AGES[name])

    planned = rel.mlrelease("--json", "retention", "--plan")

    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)["data"]
    assert plan["images"] == 30
    # Google keeps the 10 most recently uploaded versions of any kind: 3 new untagged, 2
    # candidates, 5 new sha- builds. Every other release goes, but the one tagged prod-.
    expected = {images[f"v1.{m}.0"] for m in range(12) if m != 1}
    expected |= {images[f"sha{n}"] for n in range(5)} | {images[f"untagged{n}"] for n in range(3)}
    assert {d["digest"] for d in plan["deletions"]} == expected
    by_digest = {d["digest"]: d["policy"] for d in plan["deletions"]}
    assert by_digest[images["sha0"]] == "delete-sha-builds"
    assert by_digest[images["untagged0"]] == "delete-untagged"
    assert by_digest[images["v1.11.0"]] == "delete-old-releases"
    assert {c["change"] for c in plan["changes"]} == {"add"}
    assert any("v1.11.0" in warning for warning in plan["warnings"])

    applied = rel.mlrelease("--json", "retention", "--apply")

    assert applied.returncode == 0, applied.stderr
    repository = requests.get(
        f"{gar.api_endpoint}/v1/projects/{gar.project}/locations/{gar.location}"
        "/repositories/docker",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert repository["cleanupPolicyDryRun"] is True
    stored = repository["cleanupPolicies"]
    assert set(stored) == {
        "keep-tag-prefixes",
        "keep-newest-releases",
        "delete-old-releases",
        "delete-untagged",
        "delete-sha-builds",
    }
    assert stored["keep-newest-releases"]["mostRecentVersions"]["keepCount"] == 10
    assert stored["delete-untagged"]["condition"]["olderThan"] == f"{7 * DAY}s"
    assert stored["keep-tag-prefixes"]["condition"]["tagPrefixes"] == ["prod-"]
    # Nothing was deleted by mlrelease itself on Artifact Registry.
    assert all(client.manifest(path, digest) for digest in images.values())

    active = rel.mlrelease("--json", "retention", "--apply", "--no-dry-run")
    assert active.returncode == 0, active.stderr
    data = json.loads(active.stdout)["data"]
    assert data["policy_dry_run"] is False
    assert {c["change"] for c in data["changes"]} == {"same"}


def test_on_a_plain_registry_apply_deletes_exactly_the_plan(tmp_path, registry) -> None:
    rel = release_repo(tmp_path, registry_host=registry.host)
    with (rel.path / "pyproject.toml").open("a") as handle:
        handle.write(RETENTION)
    client = RegistryClient(registry.host)
    images = thirty_images(client, rel.image, untagged=False)

    planned = rel.mlrelease("--json", "retention", "--plan")

    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)["data"]
    # The newest 10 releases by semver (the two candidates, v1.11.0 to v1.4.0) and the
    # prod- one stay; the sha- builds older than 30 days go.
    expected = {images["v1.0.0"], images["v1.2.0"], images["v1.3.0"]}
    expected |= {images[f"sha{n}"] for n in range(5)}
    assert {d["digest"] for d in plan["deletions"]} == expected
    assert any("untagged" in note for note in plan["notes"])
    assert all(client.manifest(rel.image, digest) for digest in images.values())

    applied = rel.mlrelease("--json", "retention", "--apply")

    assert applied.returncode == 0, applied.stderr
    done = json.loads(applied.stdout)["data"]["deletions"]
    assert {d["digest"] for d in done if d["deleted"]} == expected
    for name, digest in images.items():
        assert (client.manifest(rel.image, digest) is None) == (digest in expected), name
