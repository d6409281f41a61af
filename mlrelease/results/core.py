"""Results of the version, bump and config commands, and the protocol every result follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Result(Protocol):
    """Anything a command hands to the renderer. A result may also carry an `exit_code`
    attribute (a report whose rows failed): the renderer then reports `ok: false` with it;
    and a `failure` (an `MlreleaseError`), which the renderer reports after the data."""

    def to_data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class VersionInfo:
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


@dataclass(frozen=True)
class BumpResult:
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


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its value (secrets already masked) and where it came from."""

    key: str
    value: str | float | list[str] | None
    source: str
    secret: bool = False


@dataclass(frozen=True)
class ConfigReport:
    """Every effective setting with its source (`mlrelease config`)."""

    root: str  # the project root the settings were read for
    pyproject: str | None  # the pyproject.toml read, None when there is none
    entries: tuple[ConfigEntry, ...]

    def to_data(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        for entry in self.entries:
            item: dict[str, Any] = {"value": entry.value, "source": entry.source}
            if entry.secret:
                item["secret"] = True
            settings[entry.key] = item
        return {"root": self.root, "pyproject": self.pyproject, "settings": settings}
