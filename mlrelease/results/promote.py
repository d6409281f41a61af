"""Results of `promote`: a release copied by digest from one repository to another, with
the signature, SBOM and provenance attached to it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

BlobAction = Literal["present", "mounted", "uploaded", "missing"]
ArtifactAction = Literal["present", "copied", "merged", "missing"]
StoredAs = Literal["tag", "referrer", "attachment"]


@dataclass(frozen=True)
class BlobCopy:
    """One blob (a layer or a config) of the release, and what its promotion did with it:
    `present` in the destination already, `mounted` from the source repository, `uploaded`
    (streamed from the source), or, in a dry run, `missing` (would be mounted or uploaded)."""

    digest: str
    size_bytes: int
    action: BlobAction
    bytes_sent: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "size_bytes": self.size_bytes,
            "action": self.action,
            "bytes_sent": self.bytes_sent,
        }


@dataclass(frozen=True)
class ArtifactCopy:
    """One artifact attached to the release (its signature, SBOM, provenance or another
    referrer), and what its promotion did with it: `present` in the destination already,
    `copied`, `merged` (a signature added to the signatures the destination held), or, in a
    dry run, `missing` (would be copied).

    `digest` is the artifact's at the destination: its manifest's, stored as a `tag` (the
    cosign signature tag) or a `referrer` (OCI 1.1), or the attached file's (an Artifact
    Registry `attachment`). `source_digest` is the same at the source: equal when both sides
    store the artifact alike."""

    kind: str  # "signature", "sbom", "provenance", or "artifact"
    media_type: str
    digest: str
    source_digest: str
    stored_as: StoredAs
    action: ArtifactAction
    bytes_sent: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "media_type": self.media_type,
            "digest": self.digest,
            "source_digest": self.source_digest,
            "stored_as": self.stored_as,
            "action": self.action,
            "bytes_sent": self.bytes_sent,
        }


@dataclass(frozen=True)
class PromoteResult:
    """A release promoted (or found already there, or, with `dry_run`, only planned)."""

    source: str  # HOST/PATH:vX.Y.Z where it was
    ref: str  # HOST/PATH:vX.Y.Z where it is now
    uri: str  # HOST/PATH of the destination
    digest: str  # the same on both sides: nothing is rebuilt
    media_type: str
    manifests: int  # 1 for an image; 1 + children for an index
    blobs: tuple[BlobCopy, ...]
    promoted: bool  # False: the destination already held it, or a dry run
    verified: bool  # the destination's tag resolved, through its API, to `digest`
    dry_run: bool
    target: str  # "artifact-registry" or "registry"
    credentials_source: str | None
    warnings: tuple[str, ...] = ()
    artifacts: tuple[ArtifactCopy, ...] = ()
    artifacts_carried: bool = True  # False: --no-artifacts, the image alone
    already_there: bool = False  # the destination held the release under its tag before

    @property
    def bytes_sent(self) -> int:
        """Every byte uploaded: the image's blobs and its artifacts'."""
        blobs = sum(blob.bytes_sent for blob in self.blobs)
        return blobs + sum(artifact.bytes_sent for artifact in self.artifacts)

    def count(self, action: BlobAction) -> int:
        """How many blobs had `action`."""
        return sum(1 for blob in self.blobs if blob.action == action)

    def artifacts_with(self, *actions: ArtifactAction) -> tuple[ArtifactCopy, ...]:
        """The artifacts whose promotion did one of `actions`."""
        return tuple(artifact for artifact in self.artifacts if artifact.action in actions)

    def to_data(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ref": self.ref,
            "uri": self.uri,
            "digest": self.digest,
            "media_type": self.media_type,
            "manifests": self.manifests,
            "blobs": [blob.to_data() for blob in self.blobs],
            "bytes_sent": self.bytes_sent,
            "promoted": self.promoted,
            "verified": self.verified,
            "dry_run": self.dry_run,
            "target": self.target,
            "credentials_source": self.credentials_source,
            "warnings": list(self.warnings),
            "artifacts": [artifact.to_data() for artifact in self.artifacts],
            "artifacts_carried": self.artifacts_carried,
            "already_there": self.already_there,
        }

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions: as push writes them, plus the source, the bytes
        sent and the artifacts in the destination (a JSON array, for `fromJSON`)."""
        artifacts = [
            {"kind": a.kind, "digest": a.digest, "action": a.action} for a in self.artifacts
        ]
        return {
            "image": f"{self.uri}@{self.digest}",
            "tags": self.ref.rpartition(":")[2],
            "digest": self.digest,
            "source": self.source,
            "bytes_sent": str(self.bytes_sent),
            "artifacts": json.dumps(artifacts, separators=(",", ":")),
            "artifacts_copied": str(len(self.artifacts_with("copied", "merged"))),
        }
