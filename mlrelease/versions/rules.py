"""Version rules: the current version from tags, the next version, tag names.

Pure (no I/O): tag names in, versions out. `Version` is semver 2.0.0 itself: the grammar and
precedence of semver.org, as the `semver` package implements them (a test holds the two to the
same answers; importing that package costs ~3 ms of the ~60 a `bump` takes). The rest are this
project's own rules: the tag prefix, which tag represents a version, how each part moves on,
and what is refused. `bump.py` applies them to a git repository.

Rules, in one place:

- A version tag is a lowercase `v` followed by a semver 2.0.0 version (`v1.2.3`, `v1.2.4-rc.1`,
  `v1.0.0+build.5`). Anything else (`latest`, `v1.2`, `V1.2.3`, `v01.2.3`, `release-3`) is not a
  version tag and is ignored.
- Precedence is semver.org section 11; build metadata is ignored. Of tags with equal precedence
  (`v1.2.3`, `v1.2.3+b1`) the one without build metadata, else the smallest name, represents it.
- The current version is the highest version tag in the repository (all tags, not only those
  reachable from HEAD) that points at a commit, or 0.0.0 when there is none. (A tag on a tree
  or blob is no version, but its name is still taken: bump refuses to reuse it.)
- The next version (same rules as node-semver's `inc`):
  major: 1.2.3 -> 2.0.0; 2.0.0-rc.1 -> 2.0.0 (releases the prerelease of a major).
  minor: 1.2.3 -> 1.3.0; 1.3.0-rc.1 -> 1.3.0.
  patch: 1.2.3 -> 1.2.4; 1.2.4-rc.2 -> 1.2.4 (releases the prerelease).
  prerelease TOKEN: 1.2.3 -> 1.2.4-TOKEN.1; 1.2.4-TOKEN.1 -> 1.2.4-TOKEN.2; 1.2.4-beta.2 with
  TOKEN rc -> 1.2.4-rc.1. A TOKEN that would sort below the current prerelease (alpha after
  rc.1) is refused rather than going backwards.
- New tags carry no build metadata; the printed version has no `v`, the tag name has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from mlrelease.errors import UsageError

TAG_PREFIX = "v"
DEFAULT_PRE_TOKEN = "rc"

_PRE_TOKEN = re.compile(r"[0-9a-zA-Z-]*[a-zA-Z-][0-9a-zA-Z-]*", re.ASCII)
# semver.org's grammar: numbers without leading zeros, then -prerelease and +build identifiers.
_NUMBER = r"(0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD_ID = r"[0-9a-zA-Z-]+"
_VERSION = re.compile(
    rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+({_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)


class Part(StrEnum):
    """The part of the version `bump` increments."""

    major = "major"
    minor = "minor"
    patch = "patch"
    prerelease = "prerelease"


class Version:
    """A semver 2.0.0 version, immutable. Equality, hashing and order are by precedence
    (semver.org section 11), so build metadata is ignored: 1.0.0+a == 1.0.0+b."""

    __slots__ = ("_precedence", "build", "major", "minor", "patch", "prerelease")

    major: int
    minor: int
    patch: int
    prerelease: str | None
    build: str | None
    _precedence: tuple[Any, ...]

    def __init__(
        self,
        major: int,
        minor: int,
        patch: int,
        prerelease: str | None = None,
        build: str | None = None,
    ) -> None:
        if min(major, minor, patch) < 0:
            raise ValueError(f"a version has no negative parts: {major}.{minor}.{patch}")
        init = super().__setattr__
        init("major", major)
        init("minor", minor)
        init("patch", patch)
        init("prerelease", prerelease)
        init("build", build)
        # A release sorts above its prereleases; identifiers compare one by one, numbers (by
        # value, without converting a huge one) below words (ASCII order), a prefix first.
        identifiers = tuple(
            (0, len(part), part) if part.isdigit() else (1, 0, part)
            for part in (prerelease.split(".") if prerelease else ())
        )
        init("_precedence", (major, minor, patch, not prerelease, identifiers))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Version is immutable: cannot set {name}")

    @property
    def tag(self) -> str:
        """The git tag name for this version, `v` + version."""
        return TAG_PREFIX + str(self)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    def __hash__(self) -> int:
        return hash(self._precedence)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence == other._precedence

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence < other._precedence

    def __le__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence <= other._precedence

    def __gt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence > other._precedence

    def __ge__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence >= other._precedence


ZERO = Version(0, 0, 0)


def parse_version(text: str) -> Version | None:
    """Parse a bare semver string (`1.2.3-rc.1+b`); None when it is not valid semver 2.0.0."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, prerelease, build = match.groups()
    try:
        return Version(int(major), int(minor), int(patch), prerelease, build)
    except ValueError:  # a number past Python's limit on digits in int()
        return None


def parse_tag(name: str) -> Version | None:
    """Parse a tag name `vX.Y.Z[-pre][+build]`; None for any other tag."""
    if not name.startswith(TAG_PREFIX):
        return None
    return parse_version(name[len(TAG_PREFIX) :])


def version_tags(tag_names: Iterable[str]) -> dict[str, Version]:
    """The version tags among `tag_names`, by name."""
    parsed = {name: parse_tag(name) for name in tag_names}
    return {name: version for name, version in parsed.items() if version is not None}


def current_version(tag_names: Iterable[str]) -> tuple[Version, str | None]:
    """The highest version among the tags and the tag that carries it; (0.0.0, None) if none."""
    tags = version_tags(tag_names)
    if not tags:
        return ZERO, None
    # max() keeps the first of equals: scanning names in order, a tie on precedence goes to
    # the tag without build metadata, then to the smallest name.
    name = max(sorted(tags), key=lambda n: (tags[n], not tags[n].build))
    return tags[name], name


def release_tag(tag_names: Iterable[str]) -> str | None:
    """The version tag a commit is released as, given the tags on it: the one `current_version`
    picks (so v1.0.0 over v1.0.0+b1), None when it carries none. The one rule for "the
    version at HEAD" that build, push and release share."""
    return current_version(tag_names)[1]


def check_pre_token(token: str) -> str:
    """Return `token` if it can start a prerelease (`rc`, `beta`, `pre-1`), else raise UsageError.

    It must be one semver identifier and not purely numeric, since a counter follows it.
    """
    if _PRE_TOKEN.fullmatch(token) is None:
        raise UsageError(
            f"--pre {token!r} is not a valid prerelease token",
            hint="use letters, digits and '-', with at least one non-digit, e.g. --pre rc",
        )
    return token


def next_version(current: Version, part: Part, pre_token: str = DEFAULT_PRE_TOKEN) -> Version:
    """The version after `current` for `part`, per the rules in this module's docstring."""
    released = Version(current.major, current.minor, current.patch)  # a prerelease, released
    if part is Part.major:
        if current.prerelease and current.minor == 0 and current.patch == 0:
            return released
        return Version(current.major + 1, 0, 0)
    if part is Part.minor:
        if current.prerelease and current.patch == 0:
            return released
        return Version(current.major, current.minor + 1, 0)
    if part is Part.patch:
        if current.prerelease:
            return released
        return Version(current.major, current.minor, current.patch + 1)
    return _next_prerelease(current, check_pre_token(pre_token))


def _next_prerelease(current: Version, token: str) -> Version:
    if not current.prerelease:
        return Version(current.major, current.minor, current.patch + 1, f"{token}.1")
    ids = current.prerelease.split(".")
    counter = ids[1] if ids[0] == token and len(ids) > 1 and ids[1].isdigit() else None
    number = int(counter) + 1 if counter is not None else 1
    candidate = Version(current.major, current.minor, current.patch, f"{token}.{number}")
    if candidate > current:
        return candidate
    raise UsageError(
        f"a {token!r} prerelease would sort below the current version {current}",
        hint=f"use a --pre token that sorts after {ids[0]}, or release {current.major}."
        f"{current.minor}.{current.patch} first with `mlrelease bump patch`",
    )
