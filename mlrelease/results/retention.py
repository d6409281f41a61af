"""Results of `retention`: the cleanup policies as code, their difference from the repository's,
and what they delete today."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Change = Literal["add", "remove", "update", "same"]


@dataclass(frozen=True)
class PolicyChange:
    """One cleanup policy: what the configuration wants against what the repository has."""

    id: str
    change: Change
    wanted: dict[str, Any] | None  # None: the repository has it, the configuration not
    current: dict[str, Any] | None

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "change": self.change,
            "wanted": self.wanted,
            "current": self.current,
        }


@dataclass(frozen=True)
class PlannedDeletion:
    """An image the policies delete today: its digest, its tags, its age and which policy."""

    digest: str
    tags: tuple[str, ...]
    uploaded: str | None  # RFC 3339
    policy: str  # the DELETE policy that matches it
    deleted: bool = False  # a plain registry's --apply deleted it

    def to_data(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "tags": list(self.tags),
            "uploaded": self.uploaded,
            "policy": self.policy,
            "deleted": self.deleted,
        }


@dataclass(frozen=True)
class RetentionResult:
    """`retention`: the policies, the plan, and what `--apply` did."""

    repository: str
    target: str  # "artifact-registry" or "registry"
    policies: dict[str, dict[str, Any]]  # as the API takes them
    changes: tuple[PolicyChange, ...]
    deletions: tuple[PlannedDeletion, ...]
    images: int  # how many the plan looked at
    applied: bool
    policy_dry_run: bool | None  # cleanupPolicyDryRun as set by --apply (GAR)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return any(change.change != "same" for change in self.changes)

    @property
    def deleted(self) -> int:
        """How many planned images `--apply` deleted (a plain registry; Google deletes later)."""
        return sum(1 for deletion in self.deletions if deletion.deleted)

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions: the policies, whether and how they were applied,
        and the deletions planned and done."""
        mode = "" if self.policy_dry_run is None else str(self.policy_dry_run).lower()
        return {
            "repository": self.repository,
            "policies": ",".join(sorted(self.policies)),
            "applied": str(self.applied).lower(),
            "policy_dry_run": mode,
            "deletions_planned": str(len(self.deletions)),
            "deletions_done": str(self.deleted),
        }

    def to_data(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "target": self.target,
            "policies": self.policies,
            "changes": [change.to_data() for change in self.changes],
            "deletions": [deletion.to_data() for deletion in self.deletions],
            "images": self.images,
            "applied": self.applied,
            "policy_dry_run": self.policy_dry_run,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
