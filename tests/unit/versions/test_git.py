"""git.py against real repositories: what it reads, what it writes, how failures translate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlrelease.errors import (
    GitError,
    GitIdentityError,
    NotAGitRepository,
    PushRejected,
    RemoteNotFound,
    RepositoryError,
    TagExistsError,
)
from mlrelease.secrets import MASK
from mlrelease.versions.git import GitRepo
from mlrelease.versions.git_failures import git_says
from tests.unit.conftest import Repo, init_repo, remote_tags


def test_discover_from_a_subdirectory(repo: Repo) -> None:
    (repo.path / "a" / "b").mkdir(parents=True)

    assert GitRepo.discover(repo.path / "a" / "b").root == repo.path


def test_discover_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepository) as caught:
        GitRepo.discover(tmp_path)

    assert caught.value.exit_code == 2


def test_tags_are_peeled_to_their_commits(repo: Repo) -> None:
    first = repo.head
    repo.tag("light")
    repo.tag("heavy", annotated=True)
    second = repo.commit()
    repo.git("tag", "--annotate", "--message", "nested", "nested", "heavy")
    repo.tag("on-tree", at="HEAD^{tree}")

    tags = GitRepo(repo.path).tags()

    assert tags["light"] == first
    assert tags["heavy"] == first
    assert tags["on-tree"] is None
    assert tags["nested"] in (first, None)  # git >= 2.42 peels a tag of a tag fully
    assert second not in tags.values()


def test_head_commit(repo: Repo, tmp_path: Path) -> None:
    assert GitRepo(repo.path).head_commit() == repo.head
    assert GitRepo(init_repo(tmp_path / "empty", commit=False).path).head_commit() is None


def test_changed_paths(repo: Repo) -> None:
    git_repo = GitRepo(repo.path)
    assert git_repo.changed_paths() == []

    (repo.path / "untracked.txt").write_text("x")
    assert git_repo.changed_paths() == []
    assert git_repo.changed_paths(include_untracked=True) == ["untracked.txt"]

    repo.git("mv", "file.txt", "renamed file.txt")
    assert git_repo.changed_paths() == ["renamed file.txt"]


def test_status_from_a_subdirectory_names_paths_from_the_top(repo: Repo) -> None:
    (repo.path / "a" / "b").mkdir(parents=True)
    (repo.path / "a" / "new file.txt").write_text("x")
    (repo.path / "a" / "line\nbreak.txt").write_text("x")
    repo.git("add", "a")
    (repo.path / "file.txt").write_text("edited\n")
    (repo.path / "a" / "untracked.txt").write_text("x")

    status = GitRepo.containing(repo.path / "a" / "b").status()

    assert status.head == repo.head
    assert status.changed == ["a/line\nbreak.txt", "a/new file.txt", "file.txt"]
    everything = GitRepo.containing(repo.path / "a").status(include_untracked=True)
    assert everything.changed == [
        "a/line\nbreak.txt",
        "a/new file.txt",
        "file.txt",
        "a/untracked.txt",
    ]


def test_status_before_the_first_commit(tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty", commit=False)
    (empty.path / "staged.txt").write_text("x")
    empty.git("add", "staged.txt")

    assert GitRepo(empty.path).status() == (None, ["staged.txt"])


def test_status_lists_a_conflicted_path(repo: Repo) -> None:
    base = repo.head
    repo.commit("ours")
    repo.git("checkout", "--quiet", "-b", "theirs", base)
    repo.commit("theirs")
    repo.git("checkout", "--quiet", "main")
    proc = subprocess.run(
        ["git", "merge", "--quiet", "theirs"], cwd=repo.path, capture_output=True, check=False
    )
    assert proc.returncode != 0  # both changed file.txt

    assert GitRepo(repo.path).changed_paths() == ["file.txt"]


def test_containing_finds_the_top_directory_when_asked(repo: Repo) -> None:
    (repo.path / "a").mkdir()

    below = GitRepo.containing(repo.path / "a")

    assert below.root == repo.path
    after_head = GitRepo.containing(repo.path / "a")
    assert after_head.head_commit() == repo.head
    assert after_head.root == repo.path


def test_head_commit_in_a_directory_whose_name_holds_a_newline(tmp_path: Path) -> None:
    odd = init_repo(tmp_path / "line\nbreak")
    empty = init_repo(tmp_path / "empty\nrepo", commit=False)

    found = GitRepo.containing(odd.path)
    assert (found.head_commit(), found.root) == (odd.head, odd.path)
    unborn = GitRepo.containing(empty.path)
    assert (unborn.head_commit(), unborn.root) == (None, empty.path)


def test_containing_outside_a_repository_fails_at_the_first_call(tmp_path: Path) -> None:
    outside = GitRepo.containing(tmp_path)  # no git process yet

    for call in (outside.status, outside.head_commit, outside.tags):
        with pytest.raises(NotAGitRepository) as caught:
            call()
        assert caught.value.message == f"{tmp_path} is not inside a git repository"


def test_grep_searches_the_whole_tree_from_a_subdirectory(repo: Repo) -> None:
    (repo.path / "a").mkdir()
    (repo.path / "top.txt").write_text("needle\n")
    repo.git("add", "top.txt")

    assert GitRepo.containing(repo.path / "a").grep("needle") == [("top.txt", 1, "needle")]


def test_create_tag_refuses_an_existing_one(repo: Repo) -> None:
    repo.tag("v1.0.0")

    with pytest.raises(TagExistsError):
        GitRepo(repo.path).create_tag("v1.0.0", repo.head, "again")


def test_create_tag_without_an_identity(repo: Repo) -> None:
    repo.git("config", "--unset", "user.name")
    repo.git("config", "--unset", "user.email")
    repo.git("config", "user.useConfigOnly", "true")

    with pytest.raises(GitIdentityError) as caught:
        GitRepo(repo.path).create_tag("v1.0.0", repo.head, "first")

    assert caught.value.exit_code == 2  # the repository's configuration, not a service
    assert "no committer identity" in caught.value.message
    assert "git config user.email" in caught.value.hint


def test_require_remote(repo: Repo, bare_remote: Path) -> None:
    git_repo = GitRepo(repo.path)

    assert git_repo.require_remote("origin") == str(bare_remote)
    with pytest.raises(RemoteNotFound) as caught:
        git_repo.require_remote("upstream")
    assert "no remote named 'upstream' (remotes: origin)" in caught.value.message


def test_push_tag_and_remote_has_tag(repo: Repo, bare_remote: Path) -> None:
    git_repo = GitRepo(repo.path)
    git_repo.create_tag("v1.0.0", repo.head, "first")

    assert not git_repo.remote_has_tag("origin", "v1.0.0")
    git_repo.push_tag("origin", "v1.0.0")

    assert git_repo.remote_has_tag("origin", "v1.0.0")
    assert set(remote_tags(bare_remote)) == {"v1.0.0"}


def test_push_tag_rejected_by_a_hook(repo: Repo, bare_remote: Path) -> None:
    hook = bare_remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no tags on Fridays' >&2\nexit 1\n")
    hook.chmod(0o755)
    git_repo = GitRepo(repo.path)
    git_repo.create_tag("v1.0.0", repo.head, "first")

    with pytest.raises(PushRejected) as caught:
        git_repo.push_tag("origin", "v1.0.0")

    assert caught.value.exit_code == 5
    assert "[remote rejected] (pre-receive hook declined)" in caught.value.message
    assert "no tags on Fridays" in caught.value.message
    assert git_repo.tag_exists("v1.0.0")


def test_credentials_in_remote_urls_are_masked(repo: Repo) -> None:
    repo.git("remote", "add", "origin", "https://ci-bot:ghp_SECRET@127.0.0.1:9/repo.git")
    git_repo = GitRepo(repo.path)

    assert git_repo.require_remote("origin") == f"https://{MASK}@127.0.0.1:9/repo.git"
    with pytest.raises(GitError) as caught:
        git_repo.remote_has_tag("origin", "v1.0.0")
    assert "ghp_SECRET" not in caught.value.message


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        (
            "fatal: unable to access 'https://user:token@github.com/o/r.git/': 403",
            f"unable to access 'https://{MASK}@github.com/o/r.git/': 403",
        ),
        ("error: src refspec v9 does not match any\n", "src refspec v9 does not match any"),
        (
            "fatal: 'git@github.com:o/r.git' does not appear",
            "'git@github.com:o/r.git' does not appear",
        ),
    ],
)
def test_git_says_its_last_error_line_credentials_masked(stderr: str, said: str) -> None:
    proc = subprocess.CompletedProcess(["git", "push"], 128, "", "hint: x\n" + stderr)

    assert git_says(proc) == said


def test_a_missing_directory_is_not_blamed_on_git(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError) as caught:
        GitRepo.discover(tmp_path / "gone")

    assert "cannot run git in" in caught.value.message


def test_git_missing_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(RepositoryError) as caught:
        GitRepo.discover(tmp_path)

    assert caught.value.message == "git is not installed or not on PATH"
