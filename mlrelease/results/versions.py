"""Results of `version` and `bump`.

NamedTuples, frozen as the dataclasses of the other results are: these two commands start
fastest, and a NamedTuple is defined in a twentieth of a dataclass's time (the `dataclasses`
import included, about 2.5 ms of each start-up).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class VersionInfo(NamedTuple):
    """The current version of a repository (`mlrelease version`)."""

    version: str  # "1.2.3", or "0.0.0" without version tags; no "v"
    tag: str | None  # the tag carrying it ("v1.2.3"), None without version tags
    commit: str | None  # HEAD's full sha, None in a repository without commits
    at_head: bool  # whether HEAD is exactly the tagged commit
    ignored_tags: tuple[str, ...] = ()  # tags that are not v+semver (shown with --verbose)

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "at_head": self.at_head,
            "commit": self.commit,
        }


class BumpResult(NamedTuple):
    """A new version tag, created (or, with `dry_run`, only computed) at HEAD."""

    previous: str  # the version before, "0.0.0" when there was none
    version: str  # the new version, no "v"
    tag: str  # the new tag name, "v" + version
    commit: str  # the full sha the tag points at
    pushed: bool  # whether the tag was pushed
    dry_run: bool  # True: nothing was tagged or pushed
    remote: str | None  # the remote pushed to (or that would be), None without --push
    message: str  # the annotated tag's message

    def to_data(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "pushed": self.pushed,
        }
