"""`retention`: Artifact Registry cleanup policies from `[tool.mlrelease.retention]`, the
difference from the repository's, and the plan of what they delete today, before Google's
daily job does it.

On Artifact Registry `--apply` writes the policies (`repositories.patch` with an update mask),
with `cleanupPolicyDryRun` on unless `--no-dry-run`, and reads them back. On a plain registry,
which has no policies, `--apply` deletes the planned manifests itself (DELETE by digest),
re-reading the tags first so that no digest a kept tag points at is deleted. There the newest
releases are counted by semver, and an image's age is its config's `created` time.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import ConfigError, RegistryError, UsageError
from mlrelease.registry.artifact_registry import ArtifactRegistry
from mlrelease.registry.cleanup import Version, differences, planned_deletions, wanted_policies
from mlrelease.results.retention import PlannedDeletion, RetentionResult
from mlrelease.versions.rules import parse_tag

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target

UPDATE_MASK = ["cleanup_policies", "cleanup_policy_dry_run"]


class CleanupPolicies(ArtifactRegistry):
    """The repository's cleanup policies through the Artifact Registry API."""

    def read(self) -> tuple[dict[str, dict[str, Any]], bool]:
        """(the policies as JSON, by ID; cleanupPolicyDryRun)."""
        repository = self._call(
            lambda **limits: self.client.get_repository(name=self.repository_name, **limits)
        )
        body = json.loads(
            type(repository).to_json(
                repository, use_integers_for_enums=False, preserving_proto_field_name=False
            )
        )
        return dict(body.get("cleanupPolicies") or {}), bool(body.get("cleanupPolicyDryRun"))

    def write(self, policies: dict[str, dict[str, Any]], *, dry_run: bool) -> None:
        """Replace the policies and set cleanupPolicyDryRun, nothing else of the repository."""
        from google.cloud.artifactregistry_v1 import Repository
        from google.protobuf import field_mask_pb2

        body = {
            "name": self.repository_name,
            "cleanupPolicies": policies,
            "cleanupPolicyDryRun": dry_run,
        }
        repository = Repository.from_json(json.dumps(body))
        mask = field_mask_pb2.FieldMask(paths=UPDATE_MASK)
        self._call(
            lambda **limits: self.client.update_repository(
                repository=repository, update_mask=mask, **limits
            )
        )

    def admin_hint(self) -> str:
        s = self.settings
        return (
            f"cleanup policies need artifactregistry.repositories.update: grant "
            f"roles/artifactregistry.admin (or repoAdmin) on {s.repository} in {s.gcp_project}"
        )


def retention(
    settings: Settings,
    *,
    apply: bool = False,
    plan_only: bool = False,
    no_dry_run: bool = False,
    key_file: Path | None = None,
    now: datetime | None = None,
) -> RetentionResult:
    """The policies, their difference from the repository's, the deletions they plan; with
    `apply`, the policies written (GAR) or the planned manifests deleted (a plain registry)."""
    from mlrelease.registry.target import open_target

    if apply and plan_only:
        raise UsageError("--plan shows what would happen; --apply does it: pass one of them")
    if no_dry_run and not apply:
        raise UsageError("--no-dry-run changes what --apply writes: pass --apply too")
    wanted = wanted_policies(settings)
    if not wanted:
        raise ConfigError(
            "no retention is configured",
            hint="add [tool.mlrelease.retention] with keep_releases, keep_tag_prefixes, "
            "delete_untagged_after_days or delete_sha_after_days",
        )
    now = now or datetime.now(UTC)
    target = open_target(settings, key_file=key_file)
    if target.gar is None:
        return _plain(settings, target, wanted, apply=apply, now=now)
    assert target.credentials is not None
    api = CleanupPolicies(settings, target.credentials)
    current, _ = api.read()
    versions = [
        Version(settings.image, image.digest, image.tags, image.upload_time)
        for image in target.images()
    ]
    deletions = planned_deletions(wanted, versions, now)
    warnings = _semver_warnings(settings, versions, deletions)
    dry_run: bool | None = None
    if apply:
        dry_run = not no_dry_run
        api.write(wanted, dry_run=dry_run)
        stored, stored_dry_run = api.read()
        if any(change.change != "same" for change in differences(wanted, stored)):
            raise RegistryError(
                f"{api.repository_name} holds other cleanup policies than were written",
                hint="another change raced this one; run `mlrelease retention` again",
            )
        dry_run = stored_dry_run
    return RetentionResult(
        repository=str(target.repository),
        target=target.kind,
        policies=wanted,
        changes=differences(wanted, current),
        deletions=tuple(deletions),
        images=len(versions),
        applied=apply,
        policy_dry_run=dry_run,
        warnings=tuple(warnings),
    )


def _semver_warnings(
    settings: Settings, versions: list[Version], deletions: list[PlannedDeletion]
) -> list[str]:
    """Releases among the newest keep_releases by semver that Google's upload-time count lets
    go: it counts every version (sha- builds, untagged), not releases alone."""
    if settings.retention_keep_releases is None:
        return []
    newest = _newest_releases(versions, settings.retention_keep_releases)
    lost = [d for d in deletions if d.digest in newest]
    return [
        f"{','.join(d.tags)} is among the newest {settings.retention_keep_releases} releases by "
        "semver, but Artifact Registry keeps the most recently uploaded versions of any kind: "
        f"policy {d.policy} deletes it (add its tag prefix to keep_tag_prefixes to keep it)"
        for d in lost
    ]


def _newest_releases(versions: list[Version], count: int) -> set[str]:
    releases = []
    for version in versions:
        parsed = [v for tag in version.tags if (v := parse_tag(tag)) is not None]
        if parsed:
            releases.append((max(parsed), version.digest))
    releases.sort(reverse=True)
    return {digest for _, digest in releases[:count]}


def _plain(
    settings: Settings,
    target: Target,
    wanted: dict[str, dict[str, Any]],
    *,
    apply: bool,
    now: datetime,
) -> RetentionResult:
    versions = _plain_versions(settings, target)
    rules = dict(wanted)
    if "keep-newest-releases" in rules and settings.retention_keep_releases is not None:
        # mlrelease's own rule here: the newest releases by semver, by digest.
        newest = sorted(_newest_releases(versions, settings.retention_keep_releases))
        rules["keep-newest-releases"] = {
            "id": "keep-newest-releases",
            "action": "KEEP",
            "condition": {"versionNamePrefixes": newest or ["sha256:none"]},
        }
    deletions = planned_deletions(rules, versions, now)
    notes = []
    if settings.retention_delete_untagged_after_days is not None:
        notes.append(
            "a plain registry lists no untagged manifests: delete_untagged_after_days applies "
            "to Artifact Registry only (run the registry's garbage collection for them)"
        )
    warnings: list[str] = []
    if apply:
        deletions, warnings = _delete(target, deletions)
    return RetentionResult(
        repository=str(target.repository),
        target=target.kind,
        policies=wanted,
        changes=(),
        deletions=tuple(deletions),
        images=len(versions),
        applied=apply,
        policy_dry_run=None,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


def _delete(
    target: Target, deletions: list[PlannedDeletion]
) -> tuple[list[PlannedDeletion], list[str]]:
    """Delete the planned manifests, but never one that a kept tag points at now."""
    from dataclasses import replace

    path = target.repository.path
    planned_tags = {tag for d in deletions for tag in d.tags}
    kept = set()
    for tag in target.tags():
        if tag not in planned_tags and (held := target.manifest(tag)) is not None:
            kept.add(held.digest)
    done, warnings = [], []
    for deletion in deletions:
        if deletion.digest in kept:
            warnings.append(f"{deletion.digest} is left: a kept tag points at it now")
            done.append(deletion)
            continue
        target.registry.delete_manifest(path, deletion.digest)
        done.append(replace(deletion, deleted=True))
    return done, warnings


def _plain_versions(settings: Settings, target: Target) -> list[Version]:
    """The tagged images of a plain registry, aged by their config's `created` time."""
    path = target.repository.path
    by_digest: dict[str, tuple[str | None, list[str]]] = {}
    for tag in target.tags():
        found = target.manifest(tag)
        if found is not None:
            by_digest.setdefault(found.digest, (found.config_digest, []))[1].append(tag)
    versions = []
    for digest, (config, tags) in by_digest.items():
        created = _created(target, path, config) if config else None
        versions.append(Version(settings.image, digest, tuple(sorted(tags)), created))
    return versions


def _created(target: Target, path: str, config_digest: str) -> datetime | None:
    with target.registry.open_blob(path, config_digest) as response:
        try:
            text = str(json.loads(response.content).get("created") or "")
            # Go writes nanoseconds; Python reads at most microseconds.
            text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
            return datetime.fromisoformat(text) if text else None
        except (ValueError, AttributeError):
            return None
