"""`git.*`: a repository with commits, version tags mlrelease can read, a clean tree."""

from __future__ import annotations

import re

from mlrelease.doctor.frame import Outcome, Project, fail, ok, warn
from mlrelease.errors import NotAGitRepository
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import current_version, parse_tag

# Tags meant as versions that mlrelease's rule (v + semver) does not accept: v1.2, V1.2.3, 1.2.3.
_LOOKS_LIKE_VERSION = re.compile(r"[vV]?[0-9]+(?:\.[0-9]+)*(?:[-+.].*)?")


def check_repository(project: Project) -> Outcome:
    """The project is in a git repository with at least one commit."""
    try:
        repo = GitRepo.discover(project.root)
    except NotAGitRepository:
        return fail(
            f"{project.root} is not in a git repository: versions come from git tags",
            "`git init && git add -A && git commit -m 'Initial commit'`",
        )
    head = repo.head_commit()
    if head is None:
        return fail(
            f"the repository at {repo.root} has no commit yet",
            "`git add -A && git commit -m 'Initial commit'`",
        )
    return ok(f"HEAD {head[:7]} in {repo.root}")


def check_tags(project: Project) -> Outcome:
    """Every tag that looks like a version is `v` + semver, so mlrelease counts it."""
    tags = project.git.tags()
    bad = sorted(n for n in tags if parse_tag(n) is None and _LOOKS_LIKE_VERSION.fullmatch(n))
    if bad:
        return fail(
            f"tags that look like versions but are not v+semver, so mlrelease ignores them: "
            f"{', '.join(bad)}",
            "; ".join(_retag(name) for name in bad)
            + " (and `git push origin --delete <old tag>` for any already pushed)",
        )
    version, tag = current_version(name for name, commit in tags.items() if commit)
    if tag is None:
        return ok("no version tags yet; `mlrelease bump minor` makes v0.1.0")
    count = sum(1 for name in tags if parse_tag(name) is not None)
    return ok(f"{count} version tag(s), the highest {tag} ({version})")


def _retag(name: str) -> str:
    numbers = re.match(r"[vV]?([0-9.]+)", name)
    parts = [str(int(p)) for p in numbers[1].strip(".").split(".") if p][:3] if numbers else []
    proper = "v" + ".".join(parts + ["0"] * (3 - len(parts)))
    return f"`git tag -a {proper} {name}^{{}} -m 'Release {proper}' && git tag -d {name}`"


def check_clean(project: Project) -> Outcome:
    """No uncommitted changes: a build of a dirty tree is tagged -dirty and is never pushed."""
    changed = project.git.changed_paths(include_untracked=True)
    if not changed:
        return ok("no uncommitted changes")
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return warn(
        f"{len(changed)} uncommitted change(s): {shown}; a build now is tagged -dirty and "
        "cannot be pushed",
        "commit them (`git add -A && git commit`) or set them aside "
        "(`git stash --include-untracked`)",
    )
