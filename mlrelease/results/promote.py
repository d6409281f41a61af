"""Results of `promote`: a release copied by digest from one repository to another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

BlobAction = Literal["present", "mounted", "uploaded", "missing"]


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

    @property
    def bytes_sent(self) -> int:
        return sum(blob.bytes_sent for blob in self.blobs)

    def count(self, action: BlobAction) -> int:
        """How many blobs had `action`."""
        return sum(1 for blob in self.blobs if blob.action == action)

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
        }

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions (as push writes them, plus the source)."""
        return {
            "image": f"{self.uri}@{self.digest}",
            "tags": self.ref.rpartition(":")[2],
            "digest": self.digest,
            "source": self.source,
        }
