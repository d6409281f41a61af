"""Cleanup policies as code: the policies `[tool.mlrelease.retention]` stands for, and what a
set of policies deletes from a list of images, by Artifact Registry's documented rules.

- A version is deleted when it matches a DELETE policy and no KEEP policy: KEEP wins.
- A condition's fields must all match; a list field matches when any entry does.
  `tagState` TAGGED (at least one tag), UNTAGGED or ANY; `tagPrefixes` any tag starting with
  any prefix; `versionNamePrefixes` the digest; `packageNamePrefixes` the image name;
  `olderThan`/`newerThan` the time since upload.
- `mostRecentVersions` keeps the `keepCount` most recently uploaded versions of each package
  whose name matches, whatever their tags (Google counts every version, not releases alone).
- At most 10 policies per repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlrelease.errors import ConfigError
from mlrelease.results.retention import PlannedDeletion, PolicyChange

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

MAX_POLICIES = 10
DAY_S = 86400


@dataclass(frozen=True)
class Version:
    """One image (a version of the package `package`) as the policies see it."""

    package: str
    digest: str
    tags: tuple[str, ...]
    uploaded: datetime | None


def wanted_policies(settings: Settings) -> dict[str, dict[str, Any]]:
    """The repository's `cleanupPolicies` that `[tool.mlrelease.retention]` stands for."""
    package = [settings.image]
    policies: dict[str, dict[str, Any]] = {}

    def add(policy_id: str, action: str, **body: Any) -> None:
        policies[policy_id] = {"id": policy_id, "action": action, **body}

    if settings.retention_keep_tag_prefixes:
        prefixes = list(settings.retention_keep_tag_prefixes)
        condition = {"tagState": "TAGGED", "tagPrefixes": prefixes, "packageNamePrefixes": package}
        add("keep-tag-prefixes", "KEEP", condition=condition)
    if settings.retention_keep_releases is not None:
        count = settings.retention_keep_releases
        most_recent = {"packageNamePrefixes": package, "keepCount": count}
        add("keep-newest-releases", "KEEP", mostRecentVersions=most_recent)
        # Releases beyond the newest are what keep_releases lets go.
        condition = {"tagState": "TAGGED", "tagPrefixes": ["v"], "packageNamePrefixes": package}
        add("delete-old-releases", "DELETE", condition=condition)
    if settings.retention_delete_untagged_after_days is not None:
        days = settings.retention_delete_untagged_after_days
        condition = {"tagState": "UNTAGGED", "olderThan": f"{days * DAY_S}s"}
        add("delete-untagged", "DELETE", condition={**condition, "packageNamePrefixes": package})
    if settings.retention_delete_sha_after_days is not None:
        days = settings.retention_delete_sha_after_days
        condition = {
            "tagState": "TAGGED",
            "tagPrefixes": ["sha-"],
            "olderThan": f"{days * DAY_S}s",
            "packageNamePrefixes": package,
        }
        add("delete-sha-builds", "DELETE", condition=condition)
    if policies and not any(policy["action"] == "DELETE" for policy in policies.values()):
        raise ConfigError(
            "[tool.mlrelease.retention] has keep rules but nothing to delete",
            hint="add keep_releases, delete_untagged_after_days or delete_sha_after_days",
        )
    if len(policies) > MAX_POLICIES:  # pragma: no cover - five at most today
        raise ConfigError(f"Artifact Registry takes at most {MAX_POLICIES} cleanup policies")
    return policies


def differences(
    wanted: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]
) -> tuple[PolicyChange, ...]:
    """Each policy in either set, and whether applying `wanted` adds, removes or updates it."""
    changes = []
    for policy_id in sorted(set(wanted) | set(current)):
        mine, theirs = wanted.get(policy_id), current.get(policy_id)
        if theirs is None:
            change = "add"
        elif mine is None:
            change = "remove"
        else:
            change = "same" if normalised(mine) == normalised(theirs) else "update"
        changes.append(PolicyChange(policy_id, change, mine, theirs))  # type: ignore[arg-type]
    return tuple(changes)


def normalised(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy with enum names upper-cased and empty fields dropped, for comparison."""
    out: dict[str, Any] = {"id": policy.get("id"), "action": str(policy.get("action")).upper()}
    for part in ("condition", "mostRecentVersions"):
        body = {k: v for k, v in (policy.get(part) or {}).items() if v not in (None, [], "")}
        if "tagState" in body:
            body["tagState"] = str(body["tagState"]).upper()
        if "keepCount" in body:
            body["keepCount"] = int(body["keepCount"])
        if part in policy:
            out[part] = body
    return out


def planned_deletions(
    policies: dict[str, dict[str, Any]], versions: Sequence[Version], now: datetime
) -> list[PlannedDeletion]:
    """The versions `policies` delete at `now`, by the rules in the module docstring."""
    kept_recent: set[str] = set()
    for policy in policies.values():
        if "mostRecentVersions" in policy:
            kept_recent |= _most_recent(policy["mostRecentVersions"], versions)
    deletions = []
    for version in versions:
        keep = version.digest in kept_recent or any(
            _action(p) == "KEEP" and "condition" in p and _matches(p["condition"], version, now)
            for p in policies.values()
        )
        if keep:
            continue
        deleting = next(
            (
                policy_id
                for policy_id, p in sorted(policies.items())
                if _action(p) == "DELETE" and _matches(p.get("condition") or {}, version, now)
            ),
            None,
        )
        if deleting is not None:
            uploaded = version.uploaded.isoformat() if version.uploaded else None
            deletions.append(PlannedDeletion(version.digest, version.tags, uploaded, deleting))
    return deletions


def _action(policy: dict[str, Any]) -> str:
    return str(policy.get("action")).upper()


def _most_recent(rule: dict[str, Any], versions: Sequence[Version]) -> set[str]:
    prefixes = rule.get("packageNamePrefixes") or []
    count = int(rule.get("keepCount") or 0)
    by_package: dict[str, list[Version]] = {}
    for version in versions:
        if not prefixes or any(version.package.startswith(p) for p in prefixes):
            by_package.setdefault(version.package, []).append(version)
    kept: set[str] = set()
    for group in by_package.values():
        group.sort(key=lambda v: v.uploaded.timestamp() if v.uploaded else 0.0, reverse=True)
        kept |= {v.digest for v in group[:count]}
    return kept


def _matches(condition: dict[str, Any], version: Version, now: datetime) -> bool:
    state = str(condition.get("tagState") or "ANY").upper()
    if state == "TAGGED" and not version.tags:
        return False
    if state == "UNTAGGED" and version.tags:
        return False
    if (prefixes := condition.get("tagPrefixes")) and not any(
        tag.startswith(p) for tag in version.tags for p in prefixes
    ):
        return False
    if (prefixes := condition.get("versionNamePrefixes")) and not any(
        version.digest.startswith(p) for p in prefixes
    ):
        return False
    if (prefixes := condition.get("packageNamePrefixes")) and not any(
        version.package.startswith(p) for p in prefixes
    ):
        return False
    for field, older in (("olderThan", True), ("newerThan", False)):
        if field in condition:
            if version.uploaded is None:
                return False  # an age that is not known matches no age condition
            age = now - version.uploaded
            limit = timedelta(seconds=float(str(condition[field]).rstrip("s")))
            if (age < limit) if older else (age > limit):
                return False
    return True
