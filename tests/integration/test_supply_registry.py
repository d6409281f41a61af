"""Signatures, SBOMs and provenance on a plain distribution registry (no referrers API: the
tag schema), then `mlrelease verify` and `mlrelease diff` through the real CLI."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest

from tests.integration.releasing import ReleaseRepo, release_repo, remove_images, tiny_base
from tests.unit.supply.keys import KeyPair, new_key_pair

pytestmark = pytest.mark.integration

MODEL_IN_IMAGE = "/app/service/model/model.joblib"


def build_release_image(
    client,
    rel: ReleaseRepo,
    tag: str,
    *,
    packages: dict[str, str],
    model: bytes,
    commit: str | None = None,
) -> str:
    """IMAGE:tag holding `packages` (name -> version) as dist-info directories and `model`
    (with the metadata training writes beside it), labelled as `mlrelease build` labels."""
    context = rel.path.parent / f"context-{uuid.uuid4().hex[:8]}"
    site = context / "rootfs/usr/local/lib/python3.11/site-packages"
    for name, version in packages.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"
            "License-Expression: MIT\n\nA package.\n"
        )
    model_dir = context / "rootfs" / MODEL_IN_IMAGE.strip("/").rpartition("/")[0]
    model_dir.mkdir(parents=True)
    (model_dir / "model.joblib").write_bytes(model)
    metadata = {"sha256": hashlib.sha256(model).hexdigest(), "sklearn_version": "1.9.1"}
    (model_dir / "model.json").write_text(json.dumps(metadata))
    (context / "Dockerfile").write_text(f"FROM {tiny_base(client)}\nCOPY rootfs/ /\n")
    labels = {
        "org.opencontainers.image.revision": commit or rel.repo.head,
        "org.opencontainers.image.base.name": "mlrelease-test/tiny-base:1",
    }
    image, _ = client.images.build(
        path=str(context), tag=f"{rel.image}:{tag}", labels=labels, rm=True
    )
    return image.id


def write_dockerfile(rel: ReleaseRepo) -> None:
    """A committed Dockerfile, which the provenance records with its sha256."""
    (rel.path / "Dockerfile").write_text("FROM mlrelease-test/tiny-base:1\nCOPY rootfs/ /\n")
    rel.repo.git("add", "Dockerfile")
    rel.repo.git("commit", "--quiet", "--message", "a Dockerfile")


def settings_for(rel: ReleaseRepo, **env: str):
    from mlrelease.config.settings import load_settings

    return load_settings(Path(rel.path), env={**rel.env, **env})


PACKAGES = {"scikit-learn": "1.9.1", "numpy": "2.4.6", "fastapi": "0.165.0"}


@pytest.fixture
def keys() -> KeyPair:
    return new_key_pair()


@pytest.fixture
def rel(tmp_path: Path, registry, docker_client, keys) -> ReleaseRepo:
    released = release_repo(tmp_path, registry_host=registry.host)
    write_dockerfile(released)
    released.env["MLRELEASE_VERIFY_KEY"] = keys.public_pem
    yield released
    remove_images(docker_client, released.image, f"{registry.host}/{released.image}")


def push(rel: ReleaseRepo, tag: str) -> str:
    proc = rel.mlrelease("push", tag)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().rpartition("@")[2]


def release(rel: ReleaseRepo, client, keys: KeyPair, tag: str, **image) -> str:
    """Tag HEAD, build, push and sign `tag`: its digest."""
    from mlrelease.supply.publish import sign_release

    rel.repo.tag(tag, annotated=True)
    build_release_image(client, rel, tag, **image)
    digest = push(rel, tag)
    assert sign_release(settings_for(rel), tag, digest, client=client) is None  # no key
    settings = settings_for(rel, MLRELEASE_SIGNING_KEY=keys.private_pem)
    result = sign_release(settings, tag, digest, client=client)
    assert result is not None and result.digest == digest
    assert result.referrers == f"tag schema sha256-{digest.split(':')[1]}"
    return digest


def test_push_with_a_signing_key_signs_and_verify_passes_through_the_cli(
    rel, docker_client, keys
) -> None:
    rel.repo.tag("v0.2.0", annotated=True)
    build_release_image(docker_client, rel, "v0.2.0", packages=PACKAGES, model=b"model-2")

    pushed = rel.mlrelease("--json", "push", "v0.2.0", MLRELEASE_SIGNING_KEY=keys.private_pem)

    assert pushed.returncode == 0, pushed.stderr
    data = json.loads(pushed.stdout)["data"]
    assert data["attached"]["digest"] == data["digest"]
    assert data["attached"]["signature_tag"] == f"sha256-{data['digest'].split(':')[1]}.sig"
    assert keys.private_pem.splitlines()[1] not in pushed.stdout + pushed.stderr
    code, checks, stderr = verify(rel, "v0.2.0")
    assert code == 0, stderr
    assert all(check["status"] == "ok" for check in checks.values()), checks


def verify(rel: ReleaseRepo, tag: str) -> tuple[int, dict[str, dict], str]:
    proc = rel.mlrelease("verify", tag, "--json")
    envelope = json.loads(proc.stdout)
    assert envelope["exit_code"] == proc.returncode, proc.stderr
    checks = {check["name"]: check for check in envelope["data"].get("checks", [])}
    return proc.returncode, checks, proc.stderr


def test_a_signed_release_verifies_and_is_cosign_shaped(rel, docker_client, keys, registry):
    from mlrelease.registry.v2 import RegistryClient
    from mlrelease.supply.signing import payload_digest

    digest = release(rel, docker_client, keys, "v0.1.0", packages=PACKAGES, model=b"model-1")

    code, checks, stderr = verify(rel, "v0.1.0")
    assert code == 0, stderr
    assert {name: c["status"] for name, c in checks.items()} == {
        "revision": "ok",
        "signature": "ok",
        "sbom": "ok",
        "provenance": "ok",
        "provenance commit": "ok",
    }
    plain = rel.mlrelease("verify", "v0.1.0")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().endswith(f"@{digest}")
    assert [line.split()[0] for line in plain.stderr.splitlines()[:5]] == ["ok"] * 5

    # The signature manifest, as cosign's SIGNATURE_SPEC describes it.
    client = RegistryClient(registry.host)
    sig = client.manifest(rel.image, f"sha256-{digest.split(':')[1]}.sig")
    assert sig is not None
    manifest = json.loads(sig.body)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert "dev.cosignproject.cosign/signature" in layer["annotations"]
    payload = client.blob(rel.image, layer["digest"])
    assert payload_digest(payload) == digest
    assert json.loads(payload)["critical"]["identity"]["docker-reference"] == (
        f"{registry.host}/{rel.image}"
    )
    config = json.loads(client.blob(rel.image, manifest["config"]["digest"]))
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}

    # The referrers tag schema lists both documents, each an OCI 1.1 artifact of the image.
    index = json.loads(client.manifest(rel.image, f"sha256-{digest.split(':')[1]}").body)
    types = sorted(entry["artifactType"] for entry in index["manifests"])
    assert types == ["application/vnd.cyclonedx+json", "application/vnd.in-toto+json"]
    for entry in index["manifests"]:
        artifact = json.loads(client.manifest(rel.image, entry["digest"]).body)
        assert artifact["subject"]["digest"] == digest
        assert artifact["artifactType"] == entry["artifactType"]
        assert artifact["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"


def test_a_tampered_signature_fails(rel, docker_client, keys, registry):
    from mlrelease.registry.v2 import RegistryClient
    from mlrelease.secrets import Secret
    from mlrelease.supply import attach
    from mlrelease.supply.signing import Signer, _private_key, simple_signing_payload

    digest = release(rel, docker_client, keys, "v0.1.0", packages=PACKAGES, model=b"m")
    other = Signer(_private_key(Secret(new_key_pair().private_pem), "test"))
    payload = simple_signing_payload(f"{registry.host}/{rel.image}", digest)
    client = RegistryClient(registry.host)
    attach.put_signature(client, rel.image, digest, payload, other.sign(payload), replace=True)

    code, checks, stderr = verify(rel, "v0.1.0")
    assert code == 1, stderr
    assert checks["signature"]["status"] == "fail"
    assert "verifies with the key" in checks["signature"]["text"]
    assert rel.mlrelease("verify", "v0.1.0").stderr.count("fail") >= 1


def test_a_provenance_for_another_digest_fails(rel, docker_client, keys, registry):
    from mlrelease.registry.v2 import RegistryClient
    from mlrelease.supply import attach, provenance

    digest = release(rel, docker_client, keys, "v0.1.0", packages=PACKAGES, model=b"m")
    client = RegistryClient(registry.host)
    statement = json.loads(
        attach.find_document(client, rel.image, digest, provenance.MEDIA_TYPE)[1]
    )
    other = "sha256:" + hashlib.sha256(b"another image").hexdigest()
    statement["subject"][0]["digest"] = {"sha256": other.split(":")[1]}
    subject = client.manifest(rel.image, digest)
    attach.attach_document(
        client, rel.image, subject, provenance.MEDIA_TYPE, provenance.statement_bytes(statement)
    )

    code, checks, stderr = verify(rel, "v0.1.0")
    assert code == 1, stderr
    assert checks["provenance"]["status"] == "fail"
    assert other in checks["provenance"]["text"]


def test_a_missing_sbom_is_exit_3(rel, docker_client, keys, registry):
    from mlrelease.registry.target import open_target
    from mlrelease.supply import attach, provenance
    from mlrelease.supply.publish import build_facts
    from mlrelease.supply.signing import load_signer, simple_signing_payload

    rel.repo.tag("v0.1.0", annotated=True)
    image_id = build_release_image(docker_client, rel, "v0.1.0", packages=PACKAGES, model=b"m")
    digest = push(rel, "v0.1.0")
    settings = settings_for(rel, MLRELEASE_SIGNING_KEY=keys.private_pem)
    target = open_target(settings)
    payload = simple_signing_payload(str(target.repository), digest)
    signature = load_signer(settings).sign(payload)
    attach.put_signature(target.registry, rel.image, digest, payload, signature)
    facts = build_facts(
        settings, docker_client, image_id, str(target.repository), digest, build_args={}
    )
    attach.attach_document(
        target.registry,
        rel.image,
        target.registry.manifest(rel.image, digest),
        provenance.MEDIA_TYPE,
        provenance.statement_bytes(provenance.provenance_statement(facts)),
    )

    code, checks, stderr = verify(rel, "v0.1.0")
    assert code == 3, stderr
    assert checks["sbom"]["status"] == "missing"
    assert checks["signature"]["status"] == "ok"
    assert "missing  sbom" in rel.mlrelease("verify", "v0.1.0").stderr


def test_a_retagged_image_fails(rel, docker_client, keys, registry):
    from mlrelease.registry.v2 import RegistryClient

    release(rel, docker_client, keys, "v0.1.0", packages=PACKAGES, model=b"m1")
    rel.repo.commit("next")
    second = release(rel, docker_client, keys, "v0.2.0", packages=PACKAGES, model=b"m2")
    client = RegistryClient(registry.host)
    client.put_manifest(rel.image, "v0.1.0", client.manifest(rel.image, second))

    code, checks, stderr = verify(rel, "v0.1.0")
    assert code == 1, stderr
    assert checks["revision"]["status"] == "fail"
    assert "re-tagged" in checks["revision"]["text"]
    assert checks["provenance commit"]["status"] == "fail"


def test_diff_shows_one_package_and_the_model(rel, docker_client, keys):
    first = release(rel, docker_client, keys, "v0.1.0", packages=PACKAGES, model=b"model-1")
    rel.repo.commit("retrain, bump numpy")
    newer = {**PACKAGES, "numpy": "2.4.7"}
    second = release(rel, docker_client, keys, "v0.2.0", packages=newer, model=b"model-2")

    proc = rel.mlrelease("diff", "v0.1.0", "v0.2.0", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["data"]
    assert data["before"]["digest"] == first and data["after"]["digest"] == second
    assert data["packages"] == [
        {"kind": "pypi", "name": "numpy", "change": "changed", "before": "2.4.6", "after": "2.4.7"}
    ]
    changed = {value["name"]: value for value in data["values"] if value["changed"]}
    model = changed.pop(f"model {MODEL_IN_IMAGE} sha256")
    assert model["before"] == hashlib.sha256(b"model-1").hexdigest()
    assert model["after"] == hashlib.sha256(b"model-2").hexdigest()
    # The layer's bytes differ with the model, and so may the sizes.
    assert set(changed) <= {"compressed size", "uncompressed size"}
    # From git, where the repository holds both tags: the one commit between them.
    (commit,) = data["commits"]
    assert commit.endswith(" retrain, bump numpy")
    table = rel.mlrelease("diff", "v0.1.0", "v0.2.0")
    assert table.returncode == 0, table.stderr
    assert "pypi numpy" in table.stdout and "2.4.7" in table.stdout


def test_a_push_in_actions_summarises_the_changes_since_the_last_release(
    rel, docker_client, keys, tmp_path
) -> None:
    summary = tmp_path / "summary.md"
    signed = {"MLRELEASE_SIGNING_KEY": keys.private_pem, "GITHUB_STEP_SUMMARY": str(summary)}
    rel.repo.tag("v0.3.0", annotated=True)
    build_release_image(docker_client, rel, "v0.3.0", packages=PACKAGES, model=b"model-3")
    assert rel.mlrelease("push", "v0.3.0", **signed).returncode == 0
    rel.repo.commit("numpy 2.4.7")
    rel.repo.tag("v0.4.0", annotated=True)
    newer = {**PACKAGES, "numpy": "2.4.7"}
    build_release_image(docker_client, rel, "v0.4.0", packages=newer, model=b"model-3")
    summary.write_text("")

    pushed = rel.mlrelease("--json", "push", "v0.4.0", **signed)

    assert pushed.returncode == 0, pushed.stderr
    changes = json.loads(pushed.stdout)["data"]["changes"]
    assert changes, pushed.stderr
    assert [(p["name"], p["before"], p["after"]) for p in changes["packages"]] == [
        ("numpy", "2.4.6", "2.4.7")
    ]
    text = summary.read_text()
    assert "#### Changes since v0.3.0" in text
    assert "| pypi `numpy` | changed | 2.4.6 | 2.4.7 |" in text
