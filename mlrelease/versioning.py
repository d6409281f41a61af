"""Version rules: semver parsing and precedence, the current version, the next version.

Pure (no I/O): tag names in, versions out. `release.py` applies these rules to a git
repository.

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
from dataclasses import dataclass, replace
from enum import StrEnum

from mlrelease.errors import UsageError

TAG_PREFIX = "v"
DEFAULT_PRE_TOKEN = "rc"

_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD_ID = r"[0-9a-zA-Z-]+"
_SEMVER = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?",
    re.ASCII,
)
_PRE_TOKEN = re.compile(r"[0-9a-zA-Z-]*[a-zA-Z-][0-9a-zA-Z-]*", re.ASCII)

PreId = int | str


class Part(StrEnum):
    """The part of the version `bump` increments."""

    major = "major"
    minor = "minor"
    patch = "patch"
    prerelease = "prerelease"


@dataclass(frozen=True)
class Version:
    """A semver version. Ordering is precedence (build ignored); equality compares every field."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[PreId, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(part) for part in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def tag(self) -> str:
        """The git tag name for this version, `v` + version."""
        return TAG_PREFIX + str(self)

    @property
    def precedence(self) -> tuple[object, ...]:
        """Sort key per semver.org section 11: a release outranks its prereleases; numeric
        identifiers compare numerically and below alphanumeric ones; a longer prerelease wins
        when all shared identifiers are equal."""
        if not self.prerelease:
            return (self.major, self.minor, self.patch, (1,))
        ids = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, (0, ids))

    def __lt__(self, other: Version) -> bool:
        return self.precedence < other.precedence

    def __le__(self, other: Version) -> bool:
        return self.precedence <= other.precedence

    def __gt__(self, other: Version) -> bool:
        return self.precedence > other.precedence

    def __ge__(self, other: Version) -> bool:
        return self.precedence >= other.precedence


ZERO = Version(0, 0, 0)


def parse_version(text: str) -> Version | None:
    """Parse a bare semver string (`1.2.3-rc.1+b`); None when it is not valid semver 2.0.0."""
    match = _SEMVER.fullmatch(text)
    if match is None:
        return None
    pre = match["pre"]
    build = match["build"]
    return Version(
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )


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
    name = max(sorted(tags), key=lambda n: (tags[n].precedence, not tags[n].build))
    return tags[name], name


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
    released = replace(current, prerelease=(), build=())  # a prerelease, once released
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
        return Version(current.major, current.minor, current.patch + 1, (token, 1))
    ids = current.prerelease
    counter = ids[1] if ids[0] == token and len(ids) > 1 else None
    candidate_ids: tuple[PreId, ...] = (
        (token, counter + 1) if isinstance(counter, int) else (token, 1)
    )
    candidate = Version(current.major, current.minor, current.patch, candidate_ids)
    if candidate > current:
        return candidate
    raise UsageError(
        f"a {token!r} prerelease would sort below the current version {current}",
        hint=f"use a --pre token that sorts after {ids[0]!s}, or release {current.major}."
        f"{current.minor}.{current.patch} first with `mlrelease bump patch`",
    )
