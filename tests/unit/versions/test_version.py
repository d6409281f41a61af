"""`mlrelease version` on real temporary git repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.unit.conftest import Repo, init_repo

Run = Callable[..., Result]


def test_without_version_tags_the_version_is_zero(repo: Repo, run: Run) -> None:
    repo.tag("latest")

    result = run("--json", "version")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"] == {
        "version": "0.0.0",
        "tag": None,
        "at_head": False,
        "commit": repo.head,
    }


def test_head_at_the_highest_tag(repo: Repo, run: Run) -> None:
    repo.tag("v1.9.0")
    repo.commit()
    repo.tag("v1.10.0", annotated=True)

    result = run("version")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.10.0\n"
    assert f"HEAD {repo.head[:7]} is at v1.10.0" in result.stderr


def test_head_past_the_highest_tag(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3", annotated=True)
    head = repo.commit()

    result = run("--json", "version")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"] == {
        "version": "1.2.3",
        "tag": "v1.2.3",
        "at_head": False,
        "commit": head,
    }


def test_a_prerelease_can_be_the_current_version(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3")
    repo.commit()
    repo.tag("v1.3.0-rc.1")

    result = run("version")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.3.0-rc.1\n"


def test_verbose_names_the_ignored_tags(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3", "latest", "v1.2", "release-3")

    quiet = run("version")
    verbose = run("--verbose", "version")

    assert verbose.exit_code == 0, verbose.output
    assert "ignored tags that are not v+semver: latest, release-3, v1.2" in verbose.stderr
    assert "ignored" not in quiet.stderr


def test_a_repository_without_commits(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(init_repo(tmp_path / "empty", commit=False).path)

    result = run("--json", "version")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"] == {
        "version": "0.0.0",
        "tag": None,
        "at_head": False,
        "commit": None,
    }


def test_from_a_subdirectory(repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.tag("v0.4.0")
    (repo.path / "service").mkdir()
    monkeypatch.chdir(repo.path / "service")

    result = run("version")

    assert result.exit_code == 0, result.output
    assert result.stdout == "0.4.0\n"


def test_outside_a_git_repository(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("version")

    assert result.exit_code == 2, result.output
    assert "is not inside a git repository" in result.stderr
