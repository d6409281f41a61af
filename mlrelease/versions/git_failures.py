"""git's failures as mlrelease's errors: git's own message (its last `fatal:` or `error:` line),
credentials masked (`secrets.redact`), and an exit code by whose fault it is: a local
repository git cannot work in (bare, corrupt, read-only, locked, no identity) is 2 or 3 with
the fix."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from mlrelease.errors import (
    GitIdentityError,
    MlreleaseError,
    NotAGitRepository,
    RepositoryError,
    UsageError,
)
from mlrelease.secrets import redact

# Compiled by `re` (and cached) when first used: most runs meet no failure at all.
_STALE_LOCK = r"Unable to create '([^']+\.lock)': File exists"
_HEAD = r"ref: refs/\S+\s*|[0-9a-f]{40}\s*|[0-9a-f]{64}\s*"


def git_says(proc: subprocess.CompletedProcess[str]) -> str:
    """git's own explanation: the last `fatal:`/`error:` line, else the last line of output."""
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    for line in reversed(lines):
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return redact(line[len(prefix) :])
    return redact(lines[-1]) if lines else f"exit status {proc.returncode}"


def local_failure(
    args: list[str], proc: subprocess.CompletedProcess[str], cwd: Path
) -> MlreleaseError:
    """The error for a local git command run in `cwd`: the repository's fault (2 or 3), never a
    remote's."""
    output = proc.stderr + proc.stdout
    reason = git_says(proc)
    if "not a git repository" in reason:
        return _broken_git_dir(cwd) or NotAGitRepository(f"{cwd} is not inside a git repository")
    if "tell me who you are" in output or "empty ident" in output or "no email was given" in output:
        return GitIdentityError(
            "git has no committer identity (user.name and user.email) to create the tag with"
        )
    if lock := re.search(_STALE_LOCK, output):
        return RepositoryError(
            f"a lock file blocks git: {lock[1]}",
            hint=f"if no other git process is running, remove the stale lock: rm '{lock[1]}'",
            detail=reason,
        )
    if "File name too long" in output:
        return UsageError(
            "the name is too long for the file system git stores it in",
            hint="use a shorter prerelease token (--pre)",
            detail=reason,
        )
    if "Read-only file system" in output or "Permission denied" in output:
        return RepositoryError(
            "git cannot write to the repository (read-only or permission denied)",
            hint="make .git writable for this user (check `ls -ld .git` and how it is mounted)",
            detail=reason,
        )
    if "must be run in a work tree" in output:
        return NotAGitRepository(
            "this is a bare repository or a .git directory, not a working tree",
            hint="run mlrelease in the top directory of a clone (or below it), not inside .git",
        )
    if "dubious ownership" in output:
        return RepositoryError(
            f"git refuses the repository: {reason}",
            hint="mark it safe: `git config --global --add safe.directory <path>`",
        )
    return RepositoryError(f"`git {' '.join(args)}` failed: {reason}")


def _broken_git_dir(cwd: Path) -> RepositoryError | None:
    """Why a `.git` above `cwd` is no repository to git (a corrupt HEAD), None without one."""
    for directory in (cwd, *cwd.parents):
        dot_git = directory / ".git"
        if not dot_git.exists():
            continue
        head = dot_git / "HEAD"
        if dot_git.is_dir():
            try:
                content = head.read_text(encoding="utf-8", errors="replace")
            except OSError:
                content = None
            if content is None or re.fullmatch(_HEAD, content) is None:
                return RepositoryError(
                    f"the repository at {directory} is corrupt: {head} "
                    + ("is missing" if content is None else "does not name a branch or commit"),
                    hint=f"restore {head} (it usually reads `ref: refs/heads/main`), "
                    "or clone the repository again",
                )
        return RepositoryError(
            f"git does not recognise {dot_git} as a repository",
            hint="check it with `git status` there; restore it from a fresh clone if damaged",
        )
    return None


def push_reason(proc: subprocess.CompletedProcess[str]) -> str:
    # `git push --porcelain` prints `!<TAB>src:dst<TAB>[rejected] (why)` for a refused ref,
    # and the remote's hooks speak on stderr as `remote: ...`.
    reason = ""
    for line in proc.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "!":
            reason = fields[2]
    remote_says = [
        line[len("remote:") :].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("remote:") and line[len("remote:") :].strip()
    ]
    if remote_says:
        said = "; ".join(remote_says[:3])
        reason = f"{reason} (remote: {said})" if reason else f"remote: {said}"
    return redact(reason) if reason else git_says(proc)
