"""Exit codes by whose fault it is: a local repository git cannot work in is 2 or 3 with the fix,
never 5, which stays for remotes; and Ctrl-C stops git together with the ssh it started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from mlrelease.errors import UsageError
from mlrelease.versions.git import GitRepo
from tests.unit.conftest import MLRELEASE, Repo, git

Run = Callable[..., Result]

needs_script = pytest.mark.skipif(not MLRELEASE.exists(), reason="console script not installed")


def failure(result: Result, code: int) -> tuple[str, str]:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: ") and hint.startswith("hint: "), result.stderr
    return error, hint


def test_a_bare_repository_is_a_usage_error(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was exit 5 with git's raw "must be run in a work tree".
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    monkeypatch.chdir(bare)

    error, hint = failure(run("version"), 2)

    assert error == "error: this is a bare repository or a .git directory, not a working tree"
    assert "not inside .git" in hint


def test_inside_dot_git_is_a_usage_error(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.path / ".git" / "refs")

    failure(run("bump", "patch"), 2)


def test_a_corrupt_head_is_named(repo: Repo, run: Run) -> None:
    # Was reported as "not inside a git repository".
    (repo.path / ".git" / "HEAD").write_text("garbage\n")

    error, hint = failure(run("version"), 3)

    assert error == (
        f"error: the repository at {repo.path} is corrupt: {repo.path}/.git/HEAD does not name "
        "a branch or commit"
    )
    assert "ref: refs/heads/main" in hint


def test_a_stale_tag_lock_names_the_file_to_remove(repo: Repo, run: Run) -> None:
    lock = repo.path / ".git" / "refs" / "tags" / "v0.0.1.lock"
    lock.write_text("")

    error, hint = failure(run("bump", "patch"), 3)

    assert error == f"error: a lock file blocks git: {lock}"
    assert hint == f"hint: if no other git process is running, remove the stale lock: rm '{lock}'"
    lock.unlink()
    assert run("bump", "patch").exit_code == 0  # the fix works


def test_no_committer_identity_is_a_configuration_error(repo: Repo, run: Run) -> None:
    repo.git("config", "--unset", "user.name")
    repo.git("config", "--unset", "user.email")
    repo.git("config", "user.useConfigOnly", "true")

    error, hint = failure(run("bump", "patch"), 2)

    assert "no committer identity" in error
    assert "git config user.email" in hint


def test_a_tag_name_too_long_for_the_file_system(repo: Repo) -> None:
    with pytest.raises(UsageError) as caught:
        GitRepo(repo.path).create_tag("v" + "1" * 300, repo.head, "x")

    assert caught.value.message == "the name is too long for the file system git stores it in"


def _can_mount_read_only(path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"',
            str(path),
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@needs_script
def test_a_read_only_repository_is_a_precondition(repo: Repo) -> None:
    # As root, file modes do not stop git: mount .git read-only in a private mount namespace.
    dot_git = repo.path / ".git"
    if not _can_mount_read_only(dot_git):
        pytest.skip("cannot make a read-only bind mount here (unshare -rm)")

    proc = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            'mount --bind .git .git && mount -o remount,bind,ro .git && exec "$0" bump patch',
            str(MLRELEASE),
        ],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "error: git cannot write to the repository (read-only or permission denied)"
    )


def test_an_unreachable_remote_is_still_an_external_failure(
    repo: Repo, run: Run, tmp_path: Path
) -> None:
    repo.git("remote", "add", "origin", str(tmp_path / "missing.git"))

    error, _ = failure(run("bump", "patch", "--push"), 5)

    assert "could not read the tags of the remote origin" in error


# Signals


FAKE_SSH = """#!/bin/sh
echo $$ > "{pidfile}"
exec sleep 60
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@needs_script
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_mlrelease_alone_stops_git_and_its_ssh(
    repo: Repo, tmp_path: Path, signum: signal.Signals
) -> None:
    # Ctrl-C sent to mlrelease alone left git's ssh child running.
    pidfile = tmp_path / "ssh.pid"
    fake_ssh = tmp_path / "fake-ssh"
    fake_ssh.write_text(FAKE_SSH.format(pidfile=pidfile))
    fake_ssh.chmod(0o755)
    repo.git("remote", "add", "origin", "ssh://git.example.invalid/repo.git")
    proc = subprocess.Popen(
        [str(MLRELEASE), "bump", "patch", "--push"],
        cwd=repo.path,
        env={**os.environ, "GIT_SSH_COMMAND": str(fake_ssh)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline, "the fake ssh never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        ssh_pid = int(pidfile.read_text())
        assert _alive(ssh_pid)

        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[0] == "error: interrupted"
    deadline = time.monotonic() + 5
    while _alive(ssh_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(ssh_pid), "git's ssh child outlived mlrelease"
    assert repo.tags() == {}
