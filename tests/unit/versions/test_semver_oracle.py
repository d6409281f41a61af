"""`Version` is semver 2.0.0 as the `semver` package implements it: the package is the oracle
(a test dependency only), for generated strings and pairs of versions."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrelease.versions.rules import parse_version

semver = pytest.importorskip("semver")


_IDENTIFIER = st.one_of(
    st.integers(0, 30).map(str),
    st.sampled_from(["0", "00", "01", "9" * 30, "rc", "RC", "alpha", "beta", "-", "x-1", "0a"]),
    st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=4),
)
_NUMBER = st.one_of(st.integers(0, 12).map(str), st.sampled_from(["00", "01", "1" * 40]))


def _join(numbers: list[str], pre: list[str], build: list[str]) -> str:
    return (
        ".".join(numbers)
        + (f"-{'.'.join(pre)}" if pre else "")
        + (f"+{'.'.join(build)}" if build else "")
    )


_VERSION_TEXT = st.builds(
    _join,
    st.lists(_NUMBER, min_size=3, max_size=3),
    st.lists(_IDENTIFIER, max_size=4),
    st.lists(_IDENTIFIER, max_size=2),
)
_ANY_TEXT = st.one_of(_VERSION_TEXT, st.text(max_size=16), _VERSION_TEXT.map(lambda t: t + "\n"))
# Valid versions from a small alphabet, so that pairs often tie or differ in one place only.
_SMALL_ID = st.sampled_from(["0", "1", "2", "9", "10", "11", "rc", "RC", "a", "a-", "0a"])
_VALID_TEXT = st.builds(
    _join,
    st.lists(st.integers(0, 2).map(str), min_size=3, max_size=3),
    st.lists(_SMALL_ID, max_size=3),
    st.lists(_SMALL_ID, max_size=1),
)


def _semver(text: str) -> Any:
    # The rule before `Version` was semver's own: printable ASCII, then semver.Version.parse.
    if not (text.isascii() and text.isprintable()):
        return None
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


@settings(max_examples=600, deadline=None, database=None)
@given(_ANY_TEXT)
def test_parsing_agrees_with_the_semver_package(text: str) -> None:
    ours, theirs = parse_version(text), _semver(text)

    assert (ours is None) == (theirs is None), text
    if ours is not None:
        parts = (ours.major, ours.minor, ours.patch, ours.prerelease, ours.build)
        assert parts == (theirs.major, theirs.minor, theirs.patch, theirs.prerelease, theirs.build)
        assert str(ours) == str(theirs) == text


@settings(max_examples=600, deadline=None, database=None)
@given(_VALID_TEXT, _VALID_TEXT)
def test_precedence_agrees_with_the_semver_package(left: str, right: str) -> None:
    a, b = parse_version(left), parse_version(right)
    sa, sb = semver.Version.parse(left), semver.Version.parse(right)
    assert a is not None and b is not None

    ours = (a < b, a <= b, a == b, a >= b, a > b)
    assert ours == (sa < sb, sa <= sb, sa == sb, sa >= sb, sa > sb)
    if a == b:
        assert hash(a) == hash(b)
