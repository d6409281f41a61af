"""What `promote` carries along, decided without a registry: the artifact manifest a document
becomes (the same bytes for the same document), the referrers tag schema merged and written only
when it changes, attachments' files named by digest, the kinds; and how the results show: the
view, the job summary and the step outputs of `promote` and `retention`."""

from __future__ import annotations

import io
import json
from typing import Any

from mlrelease.output.render import Output
from mlrelease.registry.v2 import Manifest
from mlrelease.results.promote import ArtifactCopy, BlobCopy, PromoteResult
from mlrelease.results.retention import PlannedDeletion, PolicyChange, RetentionResult
from mlrelease.supply import attach
from mlrelease.supply.gar_attachments import Attachment
from mlrelease.supply.promotion import kind_of

IMAGE = "sha256:" + "a" * 64
SBOM = "application/vnd.cyclonedx+json"
SUBJECT = Manifest(IMAGE, None, 0, attach.OCI_MANIFEST, b'{"schemaVersion":2}')


class Manifests:
    """The manifest half of a registry client, in memory; counts the PUTs."""

    def __init__(self) -> None:
        self.stored: dict[str, Manifest] = {}
        self.puts = 0

    def manifest(self, path: str, reference: str) -> Manifest | None:
        return self.stored.get(reference)

    def put_manifest(self, path: str, reference: str, manifest: Manifest) -> str:
        self.stored[reference] = manifest
        self.puts += 1
        return manifest.digest


def test_a_document_makes_the_same_artifact_manifest_every_time() -> None:
    first = attach.artifact_manifest(SUBJECT, SBOM, [b'{"bomFormat":"CycloneDX"}'])
    again = attach.artifact_manifest(SUBJECT, SBOM, [b'{"bomFormat":"CycloneDX"}'])
    other = attach.artifact_manifest(SUBJECT, SBOM, [b"{}"])

    assert first == again and first.digest != other.digest
    body = json.loads(first.body)
    assert body["subject"] == {
        "mediaType": attach.OCI_MANIFEST,
        "size": len(SUBJECT.body),
        "digest": IMAGE,
    }
    assert body["artifactType"] == SBOM and len(body["layers"]) == 1
    assert attach.referrer_entry(first) == {
        "mediaType": attach.OCI_MANIFEST,
        "digest": first.digest,
        "size": len(first.body),
        "artifactType": SBOM,
    }


def test_the_tag_schema_is_merged_and_written_only_when_it_changes() -> None:
    client: Any = Manifests()
    sbom = attach.referrer_entry(attach.artifact_manifest(SUBJECT, SBOM, [b"s"]))
    provenance = attach.referrer_entry(
        attach.artifact_manifest(SUBJECT, "application/vnd.in-toto+json", [b"p"])
    )

    assert attach.add_to_tag_schema(client, "app", IMAGE, [sbom])
    assert attach.add_to_tag_schema(client, "app", IMAGE, [provenance])
    assert not attach.add_to_tag_schema(client, "app", IMAGE, [provenance])  # listed, last
    assert client.puts == 2
    index = json.loads(client.stored[attach.referrers_tag(IMAGE)].body)
    assert [entry["digest"] for entry in index["manifests"]] == [
        sbom["digest"],
        provenance["digest"],
    ]
    # Listed again, a referrer becomes the newest (the last), as a new attachment does.
    assert attach.add_to_tag_schema(client, "app", IMAGE, [sbom])
    index = json.loads(client.stored[attach.referrers_tag(IMAGE)].body)
    assert [entry["digest"] for entry in index["manifests"]][-1] == sbom["digest"]


def test_attached_files_are_named_by_their_digest() -> None:
    parent = "projects/p/locations/l/repositories/r"
    attachment = Attachment(
        f"{parent}/attachments/sbom-1",
        f"{parent}/packages/app/versions/{IMAGE}",
        SBOM,
        (f"{parent}/files/sha256:{'b' * 64}", f"{parent}/files/sha256%3A{'c' * 64}", "other"),
        "",
    )
    assert attachment.file_digests == ("sha256:" + "b" * 64, "sha256:" + "c" * 64, "")
    assert attachment.subject == IMAGE


def test_kinds() -> None:
    assert kind_of(SBOM) == "sbom"
    assert kind_of("application/vnd.in-toto+json") == "provenance"
    assert kind_of("application/spdx+json") == "artifact"


def promoted(**changes: Any) -> PromoteResult:
    fields: dict[str, Any] = {
        "source": "h/p/docker/app:v1.0.0",
        "ref": "h/p/prod/app:v1.0.0",
        "uri": "h/p/prod/app",
        "digest": IMAGE,
        "media_type": attach.OCI_MANIFEST,
        "manifests": 1,
        "blobs": (BlobCopy("sha256:" + "1" * 64, 100, "mounted"),),
        "promoted": True,
        "verified": True,
        "dry_run": False,
        "target": "artifact-registry",
        "credentials_source": None,
        "artifacts": (
            ArtifactCopy(
                "signature",
                "cosign",
                "sha256:" + "5" * 64,
                "sha256:" + "5" * 64,
                "tag",
                "copied",
                0,
            ),
            ArtifactCopy(
                "sbom",
                SBOM,
                "sha256:" + "6" * 64,
                "sha256:" + "6" * 64,
                "attachment",
                "copied",
                700,
            ),
            ArtifactCopy(
                "provenance",
                "application/vnd.in-toto+json",
                "sha256:" + "7" * 64,
                "sha256:" + "7" * 64,
                "attachment",
                "present",
                0,
            ),
        ),
    }
    return PromoteResult(**{**fields, **changes})


def emit(result: object, tmp_path, *args: str) -> tuple[str, str, str, str]:
    """(stdout, stderr, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) of `result` emitted."""
    outputs, summary = tmp_path / "output", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    stdout, stderr = io.StringIO(), io.StringIO()
    assert Output(env=env, stdout=stdout, stderr=stderr, verbose="-v" in args).emit(result) == 0
    written = summary.read_text() if summary.exists() else ""
    return stdout.getvalue(), stderr.getvalue(), outputs.read_text(), written


def test_a_promotion_shows_its_artifacts_and_writes_them_to_github(tmp_path) -> None:
    stdout, stderr, outputs, summary = emit(promoted(), tmp_path, "-v")

    assert stdout == f"h/p/prod/app@{IMAGE}\n"
    assert "artifacts: signature copied, sbom copied, provenance present" in stderr
    assert f"sbom {'sha256:' + '6' * 64} (attachment): copied" in stderr
    lines = dict(line.split("=", 1) for line in outputs.splitlines())
    assert lines["image"] == f"h/p/prod/app@{IMAGE}"
    assert (lines["digest"], lines["bytes_sent"], lines["artifacts_copied"]) == (IMAGE, "700", "2")
    assert [a["kind"] for a in json.loads(lines["artifacts"])] == [
        "signature",
        "sbom",
        "provenance",
    ]
    assert "| bytes sent | 700 |" in summary
    assert f"| sbom | `{'sha256:' + '6' * 64}` | attachment | copied | 700 |" in summary


def test_a_dry_run_lists_what_it_would_copy(tmp_path) -> None:
    missing = tuple(
        ArtifactCopy(kind, "t", "sha256:" + "8" * 64, "sha256:" + "8" * 64, "tag", "missing")
        for kind in ("signature", "sbom")
    )
    blobs = (BlobCopy("sha256:" + "1" * 64, 100, "missing"),)
    result = promoted(dry_run=True, promoted=False, verified=False, blobs=blobs, artifacts=missing)

    stdout, stderr, _, summary = emit(result, tmp_path)

    assert stdout == "h/p/prod/app:v1.0.0\n"
    assert "dry run: artifacts: signature to copy, sbom to copy" in stderr
    assert "dry run: nothing was copied" in stderr
    assert summary == ""


def test_an_unsigned_release_and_one_promoted_without_its_artifacts(tmp_path) -> None:
    _, unsigned, _, _ = emit(promoted(artifacts=()), tmp_path)
    assert f"no signature, SBOM or provenance is attached to {IMAGE}" in unsigned

    _, alone, outputs, summary = emit(promoted(artifacts=(), artifacts_carried=False), tmp_path)
    assert "stay behind (--no-artifacts)" in alone
    assert "artifacts_copied=0" in outputs
    assert "not copied (`--no-artifacts`)" in summary


def test_retention_writes_its_policies_and_deletions_to_github(tmp_path) -> None:
    deletions = (
        PlannedDeletion("sha256:" + "9" * 64, ("sha-abc1234",), None, "delete-sha", deleted=True),
        PlannedDeletion("sha256:" + "8" * 64, (), None, "delete-untagged", deleted=False),
    )
    result = RetentionResult(
        repository="127.0.0.1:5000/app",
        target="registry",
        policies={"delete-sha": {}, "delete-untagged": {}, "keep-releases": {}},
        changes=(),
        deletions=deletions,
        images=12,
        applied=True,
        policy_dry_run=None,
    )

    _, stderr, outputs, summary = emit(result, tmp_path)

    assert outputs.splitlines() == [
        "repository=127.0.0.1:5000/app",
        "policies=delete-sha,delete-untagged,keep-releases",
        "applied=true",
        "policy_dry_run=",
        "deletions_planned=2",
        "deletions_done=1",
    ]
    assert "Deleted 1 of 12 images" in stderr
    assert "| deleted | 1 |" in summary
    assert "| `sha256:888888888888` | (untagged) | - | delete-untagged | no |" in summary


def test_retention_on_artifact_registry_says_how_the_policies_were_applied(tmp_path) -> None:
    change = PolicyChange("keep-releases", "add", {"action": {"type": "Keep"}}, None)
    result = RetentionResult(
        repository="h/p/docker/app",
        target="artifact-registry",
        policies={"keep-releases": {}},
        changes=(change,),
        deletions=(),
        images=3,
        applied=True,
        policy_dry_run=True,
    )

    _, _, outputs, summary = emit(result, tmp_path)

    assert "applied=true\npolicy_dry_run=true\ndeletions_planned=0\ndeletions_done=0\n" in outputs
    assert "| policy `keep-releases` | add |" in summary
    assert "| applied | yes, dry-run mode |" in summary
    assert "#### Deletions" not in summary
