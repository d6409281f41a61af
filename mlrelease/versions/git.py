"""git through subprocess: tags, HEAD, dirty state, annotated tags and pushing one tag.

Every call runs with `GIT_TERMINAL_PROMPT=0` (a missing credential fails instead of waiting
for a password) and `LC_ALL=C`, through `processes.run_all` (so Ctrl-C stops git and its
ssh), and failures are translated (git_failures.py) into `mlrelease.errors` classes with
git's own message, credentials masked. Exit codes follow whose fault it is: a local repository
that git cannot work in is 2 or 3 with the fix; only a remote's failure is 5.

Dirty state ignores untracked files by default: a tag names a commit, and files git does not
track cannot change what that commit holds. Callers whose output depends on the working tree
itself (a build context) pass `include_untracked=True`.

Each git process costs ~2 ms of a command that takes ~50: `bump` and `version` ask two each,
side by side, from a `GitRepo.containing` the current directory: `status` (HEAD and the dirty
state) or `rev-parse` (HEAD, which also checks the working tree), and `for-each-ref` (the
tags).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from mlrelease import processes
from mlrelease.errors import (
    GitError,
    PushRejected,
    RemoteNotFound,
    RepositoryError,
    TagExistsError,
    UsageError,
)
from mlrelease.secrets import redact
from mlrelease.versions.git_failures import git_says, local_failure, push_reason

LOCAL_TIMEOUT_S = 30
NETWORK_TIMEOUT_S = 120
# git writes refs/tags/NAME.lock before refs/tags/NAME, and a file name has at most 255 bytes.
MAX_TAG_BYTES = 255 - len(".lock")


def check_tag_name(name: str) -> str:
    """Return `name` if git and the file system can store it as a tag, else raise UsageError."""
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_TAG_BYTES:
        raise UsageError(
            f"the tag name {name[:24]}... is {size} bytes long; git keeps a tag in a file, "
            f"whose name may have at most {MAX_TAG_BYTES} bytes",
            hint="use a shorter prerelease token (--pre)",
        )
    return name


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


def _run(
    args: list[str], cwd: Path, *, timeout: float = LOCAL_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    return _run_all([args], cwd, timeout=timeout)[0]


def _run_all(
    arg_lists: list[list[str]], cwd: Path, *, timeout: float = LOCAL_TIMEOUT_S
) -> list[subprocess.CompletedProcess[str]]:
    """git once per argument list, side by side (each process costs ~2 ms of a start-up)."""
    commands = [["git", *args] for args in arg_lists]
    try:
        return processes.run_all(commands, cwd=cwd, env=_git_env(), timeout=timeout)
    except FileNotFoundError as err:
        if shutil.which("git") is None:
            raise RepositoryError(
                "git is not installed or not on PATH", hint="install git, then rerun"
            ) from err
        raise RepositoryError(
            f"cannot run git in {cwd}: {err.strerror}",
            hint="run mlrelease in an existing directory",
        ) from err
    except OSError as err:
        raise RepositoryError(
            f"cannot run git in {cwd}: {err.strerror}",
            hint="check that the directory exists and can be read",
        ) from err
    except subprocess.TimeoutExpired as err:
        error = GitError if timeout >= NETWORK_TIMEOUT_S else RepositoryError
        command = " ".join(err.cmd) if isinstance(err.cmd, list) else str(err.cmd)
        raise error(f"`{command}` did not finish within {timeout:g}s") from err


class WorktreeStatus(NamedTuple):
    """What `git status` says of a working tree."""

    head: str | None  # HEAD's full commit sha, None in a repository without commits
    changed: list[str]  # paths with uncommitted changes, relative to the top directory


class GitRepo:
    """A git working tree, addressed by a directory in it where git runs: its top directory
    (`discover`), or any directory of the tree (`containing`). Every command here means the
    same from each directory of the tree; `root` is always the top directory."""

    def __init__(self, root: Path) -> None:
        self._cwd = root
        self._root: Path | None = root

    @classmethod
    def discover(cls, cwd: Path) -> GitRepo:
        """The working tree containing `cwd`; NotAGitRepository outside one."""
        args = ["rev-parse", "--show-toplevel"]
        proc = _run(args, cwd)
        if proc.returncode != 0:
            raise local_failure(args, proc, cwd)
        return cls(Path(proc.stdout.strip()))

    @classmethod
    def containing(cls, cwd: Path) -> GitRepo:
        """The working tree containing `cwd`, without a git process to find it first: the first
        command finds it, raising NotAGitRepository (as `discover` does) outside one."""
        repo = cls(cwd)
        repo._root = None
        return repo

    @property
    def root(self) -> Path:
        """The top directory of the working tree."""
        if self._root is None:
            self._root = GitRepo.discover(self._cwd).root
        return self._root

    def _git(
        self, *args: str, timeout: float = LOCAL_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        return _run(list(args), self._cwd, timeout=timeout)

    def _output(self, *args: str) -> str:
        proc = self._git(*args)
        if proc.returncode != 0:
            raise local_failure(list(args), proc, self._cwd)
        return proc.stdout

    def head_commit(self) -> str | None:
        """The full sha of HEAD's commit; None in a repository without commits. Outside a
        working tree (a bare repository, inside .git) NotAGitRepository."""
        return self._read_head(self._git(*_HEAD))

    def head_and_tags(self) -> tuple[str | None, dict[str, str | None]]:
        """`head_commit()` and `tags()` from two git processes run side by side."""
        head, tags = _run_all([list(_HEAD), list(_TAGS)], self._cwd)
        commit = self._read_head(head)  # first: it also checks that this is a working tree
        if tags.returncode != 0:
            raise local_failure(list(_TAGS), tags, self._cwd)
        return commit, _parse_tags(tags.stdout)

    def _read_head(self, proc: subprocess.CompletedProcess[str]) -> str | None:
        if proc.returncode not in (0, 1):  # 1: --verify found no commit
            raise local_failure(list(_HEAD), proc, self._cwd)
        # The top directory's line, then the sha's; a directory's name may hold a newline.
        out = proc.stdout.removesuffix("\n")
        if proc.returncode == 0:
            top, _, head = out.rpartition("\n")
        else:
            top, head = out, ""
        if self._root is None and top:
            self._root = Path(top)
        return head or None

    def committer_time(self, commit: str) -> datetime:
        """When `commit` was committed (its committer date), as an aware UTC datetime."""
        stamp = self._output("show", "--no-patch", "--format=%ct", commit).strip()
        return datetime.fromtimestamp(int(stamp), tz=UTC)

    def tags(self) -> dict[str, str | None]:
        """Every tag name with the commit it points at (annotated tags peeled), None if the
        tag points at something other than a commit."""
        return _parse_tags(self._output(*_TAGS))

    def tags_at(self, commit: str) -> list[str]:
        """The names of the tags that point at `commit`."""
        return sorted(name for name, target in self.tags().items() if target == commit)

    def changed_paths(self, *, include_untracked: bool = False) -> list[str]:
        """Paths with uncommitted changes, staged or not; untracked ones only if asked."""
        return self.status(include_untracked=include_untracked).changed

    def status(self, *, include_untracked: bool = False) -> WorktreeStatus:
        """HEAD's commit and the paths with uncommitted changes, staged or not (untracked ones
        only if asked), from one `git status`."""
        return _parse_status(self._output(*_status_args(include_untracked)))

    def status_and_tags(self) -> tuple[WorktreeStatus, dict[str, str | None]]:
        """`status()` and `tags()` from two git processes run side by side."""
        arg_lists = [_status_args(False), list(_TAGS)]
        procs = _run_all(arg_lists, self._cwd)
        for args, proc in zip(arg_lists, procs, strict=True):
            if proc.returncode != 0:
                raise local_failure(args, proc, self._cwd)
        return _parse_status(procs[0].stdout), _parse_tags(procs[1].stdout)

    def tag_exists(self, name: str) -> bool:
        """Whether a local tag `name` exists."""
        return self._git("rev-parse", "--verify", "--quiet", f"refs/tags/{name}").returncode == 0

    def create_tag(self, name: str, commit: str, message: str) -> None:
        """Create the annotated tag `name` at `commit`; TagExistsError if it already exists."""
        if self.tag_exists(name):
            raise TagExistsError(f"the tag {name} already exists")
        proc = self._git("tag", "--annotate", "--message", message, name, commit)
        if proc.returncode != 0:
            raise local_failure(["tag", "--annotate", name], proc, self._cwd)

    def remote_url(self, remote: str = "origin") -> str | None:
        """The URL of `remote` with credentials masked, None if there is no such remote."""
        proc = self._git("remote", "get-url", remote)
        return redact(proc.stdout.strip()) if proc.returncode == 0 else None

    def require_remote(self, remote: str) -> str:
        """The URL of `remote` (credentials masked); RemoteNotFound if it is not configured."""
        url = self.remote_url(remote)
        if url is None:
            configured = self._output("remote").split()
            known = ", ".join(configured) if configured else "none"
            raise RemoteNotFound(
                f"the repository has no remote named {remote!r} (remotes: {known})"
            )
        return url

    def remote_has_tag(self, remote: str, name: str) -> bool:
        """Whether `remote` already has the tag `name` (asks the remote, no fetch)."""
        args = ["ls-remote", "--tags", remote, f"refs/tags/{name}"]
        proc = self._git(*args, timeout=NETWORK_TIMEOUT_S)
        if proc.returncode != 0:
            raise GitError(
                f"could not read the tags of the remote {remote}: {git_says(proc)}",
                hint=f"check that `git ls-remote {remote}` works (network, credentials)",
            )
        return bool(proc.stdout.strip())

    def push_tag(self, remote: str, name: str) -> None:
        """Push only the tag `name` to `remote`; PushRejected (local tag kept) if refused."""
        ref = f"refs/tags/{name}"
        proc = self._git("push", "--porcelain", remote, f"{ref}:{ref}", timeout=NETWORK_TIMEOUT_S)
        if proc.returncode == 0:
            return
        raise PushRejected(
            f"the push of {name} to {remote} failed: {push_reason(proc)}; "
            f"the local tag {name} is kept",
            hint=f"fix the cause, then `git push {remote} {name}`; "
            f"or drop the local tag with `git tag -d {name}`",
        )

    def grep(self, *patterns: str, revision: str | None = None) -> list[tuple[str, int, str]]:
        """(path, line number, line) for each line matching one of the extended regular
        expressions: in the index (tracked files as staged), or in `revision`'s tree if given.
        Binary files are skipped."""
        args = ["grep", "-z", "-n", "-I", "-E", *(arg for p in patterns for arg in ("-e", p))]
        args.append(revision or "--cached")
        # From the top directory: in a directory below it, git grep searches only that one.
        proc = _run(args, self.root)
        if proc.returncode == 1:  # nothing matched
            return []
        if proc.returncode != 0:
            raise local_failure(args, proc, self.root)
        prefix = f"{revision}:" if revision else ""
        matches = []
        for entry in filter(None, proc.stdout.split("\n")):
            path, number, text = entry.split("\0", 2)
            matches.append((path.removeprefix(prefix), int(number), text))
        return matches

    def commits_between(self, older: str, newer: str) -> list[str] | None:
        """`<sha7> <subject>` of each commit in `newer` but not in `older` (revisions or
        tags), newest first; None when either is not in this repository."""
        proc = self._git("log", "--format=%h %s", "--abbrev=7", f"{older}..{newer}", "--")
        if proc.returncode != 0:
            return None
        return [line for line in proc.stdout.splitlines() if line.strip()]

    def show_file(self, path: str, revision: str | None = None) -> str | None:
        """The text of `path` in `revision`'s tree, or in the index without one; None when it
        is not there or is not UTF-8 text."""
        try:
            proc = self._git("show", f"{revision or ''}:{path}")
        except UnicodeDecodeError:
            return None
        return proc.stdout if proc.returncode == 0 else None


# --show-toplevel makes git check the working tree, and names it for `root`.
_HEAD = ("rev-parse", "--show-toplevel", "--verify", "--quiet", "HEAD^{commit}")
_TAGS = (
    "for-each-ref",
    "--format=%(refname:lstrip=2) %(objecttype) %(objectname) %(*objecttype) %(*objectname)",
    "refs/tags",
)


def _status_args(include_untracked: bool) -> list[str]:
    untracked = "--untracked-files=all" if include_untracked else "--untracked-files=no"
    return ["status", "--porcelain=v2", "--branch", "--no-ahead-behind", "-z", untracked]


def _parse_tags(out: str) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    # Ref names cannot contain spaces (git check-ref-format), so splitting on them is safe.
    for line in out.splitlines():
        name, kind, obj, peeled_kind, peeled = [*line.split(" "), "", ""][:5]
        if kind == "commit":
            tags[name] = obj
        elif kind == "tag" and peeled_kind == "commit":
            tags[name] = peeled
        else:
            tags[name] = None
    return tags


def _parse_status(out: str) -> WorktreeStatus:
    head: str | None = None
    paths: list[str] = []
    entries = iter(out.split("\0"))
    # Porcelain v2: `# branch.oid SHA|(initial)` among the headers, then per path
    # `1 XY sub mH mI mW hH hI PATH`, `2 ... Xscore PATH` followed by the source path,
    # `u XY sub m1 m2 m3 mW h1 h2 h3 PATH`, `? PATH`; paths relative to the top directory.
    for entry in entries:
        kind = entry[:2]
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            head = None if oid == "(initial)" else oid
        elif kind == "1 ":
            paths.append(entry.split(" ", 8)[8])
        elif kind == "2 ":
            paths.append(entry.split(" ", 9)[9])
            next(entries, None)  # the source of the rename or copy
        elif kind == "u ":
            paths.append(entry.split(" ", 10)[10])
        elif kind == "? ":
            paths.append(entry[2:])
    return WorktreeStatus(head, paths)
