"""`mlrelease bump` on real temporary git repositories."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.unit.conftest import MLRELEASE, Repo, git, init_repo, remote_tags

Run = Callable[..., Result]


@pytest.mark.parametrize(
    ("part", "expected"),
    [("major", "2.0.0"), ("minor", "1.3.0"), ("patch", "1.2.4"), ("prerelease", "1.2.4-rc.1")],
)
def test_bump_tags_head_with_the_next_version(
    repo: Repo, run: Run, part: str, expected: str
) -> None:
    repo.tag("v1.2.3", annotated=True)
    head = repo.commit("feature")

    result = run("bump", part)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{expected}\n"
    assert f"Tagged v{expected} at {head[:7]} (previous 1.2.3)" in result.stderr
    assert repo.tag_target(f"v{expected}") == head
    assert repo.git("cat-file", "-t", f"v{expected}") == "tag"  # annotated
    assert repo.git("tag", "-l", "--format=%(contents:subject)", f"v{expected}") == (
        f"Release v{expected}"
    )


def test_bump_without_version_tags_starts_from_zero(repo: Repo, run: Run) -> None:
    result = run("bump", "minor")

    assert result.exit_code == 0, result.output
    assert result.stdout == "0.1.0\n"
    assert "(previous 0.0.0)" in result.stderr


def test_bump_ignores_tags_that_are_not_v_semver(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3", "latest", "v1.2", "release-3", "v9", "V9.9.9", "v09.0.0", "9.9.9")
    repo.commit()

    result = run("bump", "minor")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.3.0\n"


def test_bump_uses_semver_precedence_not_string_order(repo: Repo, run: Run) -> None:
    repo.tag("v1.9.0")
    repo.commit()
    repo.tag("v1.10.0", annotated=True)
    repo.commit()
    repo.tag("v1.2.0")  # an old line tagged later must not win
    repo.commit()

    result = run("bump", "patch")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.10.1\n"


def test_bump_patch_releases_a_prerelease(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3")
    for expected in ["1.2.4-rc.1", "1.2.4-rc.2"]:
        repo.commit()
        result = run("bump", "prerelease")
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{expected}\n"
    repo.commit()

    result = run("bump", "patch")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.2.4\n"


def test_bump_prerelease_with_a_custom_token(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3")
    repo.commit()

    result = run("bump", "prerelease", "--pre", "beta")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.2.4-beta.1\n"


def test_bump_with_a_message(repo: Repo, run: Run) -> None:
    result = run("bump", "patch", "--message", "First cut")

    assert result.exit_code == 0, result.output
    assert repo.git("tag", "-l", "--format=%(contents:subject)", "v0.0.1") == "First cut"


# Refusals


def test_dirty_tree_is_refused(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3")
    repo.commit()
    (repo.path / "file.txt").write_text("edited\n")
    before = repo.tags()

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert "error: the working tree has uncommitted changes: file.txt\n" in result.stderr
    assert "hint: commit or stash your changes" in result.stderr
    assert repo.tags() == before


def test_staged_changes_count_as_dirty(repo: Repo, run: Run) -> None:
    (repo.path / "new.txt").write_text("new\n")
    repo.git("add", "new.txt")

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert "uncommitted changes: new.txt" in result.stderr


def test_untracked_files_do_not_count_as_dirty(repo: Repo, run: Run) -> None:
    (repo.path / "scratch.txt").write_text("notes\n")

    result = run("bump", "patch")

    assert result.exit_code == 0, result.output
    assert result.stdout == "0.0.1\n"


def test_head_that_already_carries_a_version_tag_is_refused(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3", annotated=True)

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert f"error: HEAD {repo.head[:7]} already carries the version tag v1.2.3" in result.stderr
    assert "v1.2.4" not in repo.tags()


def test_head_with_an_older_lightweight_version_tag_is_refused(repo: Repo, run: Run) -> None:
    repo.tag("v2.0.0")
    repo.commit()
    repo.tag("v1.5.0")  # not the highest, still a version on this commit

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert "already carries the version tag v1.5.0" in result.stderr


def test_head_with_only_non_version_tags_can_be_bumped(repo: Repo, run: Run) -> None:
    repo.tag("latest", "deployed")

    result = run("bump", "patch")

    assert result.exit_code == 0, result.output


def test_an_existing_tag_is_refused(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.3")
    repo.commit()
    repo.tag("v1.2.4", at="HEAD^{tree}")  # the name is taken, though it is no version
    before = repo.tags()

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert "error: the tag v1.2.4 already exists" in result.stderr
    assert repo.tags() == before


def test_a_repository_without_commits_is_refused(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = init_repo(tmp_path / "empty", commit=False)
    monkeypatch.chdir(empty.path)

    result = run("bump", "patch")

    assert result.exit_code == 3, result.output
    assert "error: the repository has no commit to tag" in result.stderr


def test_outside_a_git_repository_is_a_usage_error(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("bump", "patch")

    assert result.exit_code == 2, result.output
    assert f"error: {tmp_path} is not inside a git repository" in result.stderr
    assert "hint: " in result.stderr


def test_an_unknown_part_is_a_usage_error(repo: Repo, run: Run) -> None:
    result = run("bump", "huge")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "error: Invalid value for 'PART': 'huge' is not one of 'major', 'minor', 'patch', "
        "'prerelease'."
    )
    assert "hint: see `mlrelease bump --help`" in result.stderr


@pytest.mark.parametrize("token", ["rc.1", "1", "r c", ""])
def test_a_bad_pre_token_is_a_usage_error(repo: Repo, run: Run, token: str) -> None:
    result = run("bump", "prerelease", "--pre", token)

    assert result.exit_code == 2, result.output
    assert f"error: --pre {token!r} is not a valid prerelease token" in result.stderr
    assert repo.tags() == {}


def test_a_prerelease_that_would_go_backwards_is_refused(repo: Repo, run: Run) -> None:
    repo.tag("v1.2.4-rc.1")
    repo.commit()

    result = run("bump", "prerelease", "--pre", "alpha")

    assert result.exit_code == 2, result.output
    assert "would sort below the current version 1.2.4-rc.1" in result.stderr


# --dry-run


def test_dry_run_prints_the_next_version_and_changes_nothing(
    repo: Repo, bare_remote: Path, run: Run
) -> None:
    repo.tag("v1.2.3", annotated=True)
    repo.commit()
    refs_before = repo.git("for-each-ref")

    result = run("bump", "--dry-run", "--push", "minor")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1.3.0\n"
    assert "dry run: would tag v1.3.0 at" in result.stderr
    assert "dry run: would push v1.3.0 to origin" in result.stderr
    assert repo.git("for-each-ref") == refs_before
    assert remote_tags(bare_remote) == {}


def test_dry_run_still_refuses_what_the_real_run_would(repo: Repo, run: Run) -> None:
    (repo.path / "file.txt").write_text("edited\n")

    result = run("bump", "--dry-run", "patch")

    assert result.exit_code == 3, result.output


def test_dry_run_json_reports_pushed_false(repo: Repo, run: Run) -> None:
    result = run("--json", "bump", "--dry-run", "patch")

    assert result.exit_code == 0, result.output
    envelope = json.loads(result.stdout)
    assert envelope["data"]["pushed"] is False
    assert repo.tags() == {}


# --push


def test_push_sends_only_the_new_tag(repo: Repo, bare_remote: Path, run: Run) -> None:
    repo.tag("v1.2.3", "latest")
    head = repo.commit()

    result = run("--json", "bump", "patch", "--push")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    assert data == {
        "previous": "1.2.3",
        "version": "1.2.4",
        "tag": "v1.2.4",
        "commit": head,
        "pushed": True,
    }
    pushed = remote_tags(bare_remote)
    assert set(pushed) == {"v1.2.4"}
    assert pushed["v1.2.4"] == repo.tags()["v1.2.4"]  # the annotated tag object itself
    assert git(bare_remote, "for-each-ref", "refs/heads") == ""  # no branch went along


def test_push_names_the_remote_on_stderr(repo: Repo, bare_remote: Path, run: Run) -> None:
    result = run("bump", "patch", "--push")

    assert result.exit_code == 0, result.output
    assert "Pushed v0.0.1 to origin" in result.stderr


def test_push_to_another_remote(repo: Repo, tmp_path: Path, run: Run) -> None:
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "init", "--quiet", "--bare", str(mirror))
    repo.git("remote", "add", "mirror", str(mirror))

    result = run("bump", "patch", "--push", "--remote", "mirror")

    assert result.exit_code == 0, result.output
    assert set(remote_tags(mirror)) == {"v0.0.1"}


def test_push_without_the_remote_is_refused_before_tagging(repo: Repo, run: Run) -> None:
    result = run("bump", "patch", "--push")

    assert result.exit_code == 3, result.output
    assert "error: the repository has no remote named 'origin' (remotes: none)" in result.stderr
    assert "git remote add" in result.stderr
    assert repo.tags() == {}


def test_push_to_an_unreachable_remote_fails_before_tagging(
    repo: Repo, tmp_path: Path, run: Run
) -> None:
    repo.git("remote", "add", "origin", str(tmp_path / "missing.git"))

    result = run("bump", "patch", "--push")

    assert result.exit_code == 5, result.output
    assert "error: could not read the tags of the remote origin" in result.stderr
    assert repo.tags() == {}


def test_push_when_the_remote_already_has_the_tag_is_refused(
    repo: Repo, bare_remote: Path, tmp_path: Path, run: Run
) -> None:
    # Someone else released v0.0.1 from another clone; this clone has not fetched it.
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(bare_remote), str(other))
    other_repo = init_repo(other, commit=False)
    other_repo.commit("elsewhere")
    other_repo.tag("v0.0.1", annotated=True)
    other_repo.git("push", "--quiet", "origin", "v0.0.1")

    result = run("bump", "patch", "--push")

    assert result.exit_code == 3, result.output
    assert "error: the tag v0.0.1 already exists on the remote origin" in result.stderr
    assert "git fetch --tags" in result.stderr
    assert repo.tags() == {}


def test_a_rejected_push_keeps_the_local_tag_and_names_it(
    repo: Repo, bare_remote: Path, run: Run
) -> None:
    hook = bare_remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen during the audit' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo.tag("v1.2.3")
    repo.commit()

    result = run("bump", "minor", "--push")

    assert result.exit_code == 5, result.output
    assert result.stdout == ""
    error_line = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "the push of v1.3.0 to origin failed" in error_line
    assert "pre-receive hook declined" in error_line
    assert "tags are frozen during the audit" in error_line
    assert "the local tag v1.3.0 is kept" in error_line
    assert "hint: fix the cause, then `git push origin v1.3.0`" in result.stderr
    assert "`git tag -d v1.3.0`" in result.stderr
    assert "v1.3.0" in repo.tags()
    assert remote_tags(bare_remote) == {}


def test_a_rejected_push_in_json_mode(repo: Repo, bare_remote: Path, run: Run) -> None:
    hook = bare_remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)

    result = run("--json", "bump", "patch", "--push")

    assert result.exit_code == 5, result.output
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is False
    assert envelope["errors"][0]["code"] == "push_rejected"
    assert "the local tag v0.0.1 is kept" in envelope["errors"][0]["message"]


# stdout carries only data


def test_command_substitution_captures_just_the_version(
    repo: Repo, run_script: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    repo.tag("v1.2.3")
    repo.commit()

    proc = subprocess.run(
        ["bash", "-c", f'v=$("{MLRELEASE}" bump patch) && printf "<%s>" "$v"'],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "<1.2.4>"
    assert "Tagged v1.2.4" in proc.stderr


def test_the_console_script_keeps_errors_off_stdout(
    repo: Repo, run_script: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    repo.tag("v1.2.3")

    proc = run_script("bump", "patch", cwd=repo.path)

    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0].startswith("error: HEAD ")
    assert proc.stderr.splitlines()[1].startswith("hint: ")
    assert len(proc.stderr.splitlines()) == 2
