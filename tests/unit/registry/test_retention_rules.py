"""Cleanup policies from [tool.mlrelease.retention], and what they delete by Artifact Registry's
rules (KEEP wins, mostRecentVersions by upload time, conditions ANDed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlrelease.config.settings import load_settings
from mlrelease.errors import ConfigError
from mlrelease.registry.cleanup import Version, differences, planned_deletions, wanted_policies

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def settings(tmp_path: Path, table: str):
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.mlrelease]\nimage = "app"\n\n[tool.mlrelease.retention]\n{table}'
    )
    return load_settings(tmp_path, env={})


def version(name: str, tags: tuple[str, ...], days: float) -> Version:
    return Version("app", f"sha256:{name}", tags, NOW - timedelta(days=days))


def test_the_policies_the_table_stands_for(tmp_path) -> None:
    policies = wanted_policies(
        settings(
            tmp_path,
            'keep_releases = 3\nkeep_tag_prefixes = ["prod-"]\n'
            "delete_untagged_after_days = 7\ndelete_sha_after_days = 30\n",
        )
    )
    assert policies["keep-newest-releases"] == {
        "id": "keep-newest-releases",
        "action": "KEEP",
        "mostRecentVersions": {"packageNamePrefixes": ["app"], "keepCount": 3},
    }
    assert policies["delete-untagged"]["condition"] == {
        "tagState": "UNTAGGED",
        "olderThan": "604800s",
        "packageNamePrefixes": ["app"],
    }
    assert policies["delete-sha-builds"]["condition"]["olderThan"] == "2592000s"
    assert len(policies) == 5


def test_keep_rules_alone_are_refused_and_unknown_keys_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="nothing to delete"):
        wanted_policies(settings(tmp_path, 'keep_tag_prefixes = ["prod-"]\n'))
    with pytest.raises(ConfigError, match="unknown key 'keep_release'") as refused:
        settings(tmp_path, "keep_release = 3\n")
    assert "did you mean 'keep_releases'" in refused.value.hint


def test_keep_wins_and_the_most_recent_are_kept(tmp_path) -> None:
    policies = wanted_policies(
        settings(tmp_path, 'keep_releases = 2\nkeep_tag_prefixes = ["prod-"]\n')
    )
    versions = [
        version("old", ("v1.0.0",), 30),
        version("prod", ("v1.1.0", "prod-1"), 20),
        version("mid", ("v1.2.0",), 10),
        version("new", ("v1.3.0",), 5),
        version("newest", ("sha-abc",), 1),
    ]
    deleted = {d.digest: d.policy for d in planned_deletions(policies, versions, NOW)}
    # The two most recent uploads (new, newest) are kept whatever their tags; prod- is kept.
    assert deleted == {"sha256:old": "delete-old-releases", "sha256:mid": "delete-old-releases"}


def test_ages_and_tag_states(tmp_path) -> None:
    policies = wanted_policies(
        settings(tmp_path, "delete_untagged_after_days = 7\ndelete_sha_after_days = 30\n")
    )
    versions = [
        version("untagged-old", (), 8),
        version("untagged-new", (), 6),
        version("sha-old", ("sha-1",), 31),
        version("sha-new", ("sha-2",), 29),
        version("release-old", ("v1.0.0",), 400),
    ]
    deleted = [d.digest for d in planned_deletions(policies, versions, NOW)]
    assert deleted == ["sha256:untagged-old", "sha256:sha-old"]


def test_differences_compare_enum_spellings(tmp_path) -> None:
    wanted = wanted_policies(settings(tmp_path, "delete_untagged_after_days = 7\n"))
    current = {
        "delete-untagged": {
            "id": "delete-untagged",
            "action": "Delete",
            "condition": {**wanted["delete-untagged"]["condition"], "tagState": "untagged"},
        },
        "old": {"id": "old", "action": "DELETE", "condition": {"olderThan": "1s"}},
    }
    changes = {c.id: c.change for c in differences(wanted, current)}
    assert changes == {"delete-untagged": "same", "old": "remove"}
