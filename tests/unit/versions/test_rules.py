"""The pure semver rules: tag shapes, precedence, current and next version."""

from __future__ import annotations

import itertools
import random

import pytest

from mlrelease.errors import UsageError
from mlrelease.versions.rules import (
    Part,
    Version,
    check_pre_token,
    current_version,
    next_version,
    parse_tag,
    parse_version,
)


@pytest.mark.parametrize(
    "tag",
    [
        "v0.0.0",
        "v1.2.3",
        "v1.10.0",
        "v10.20.30",
        "v1.2.3-rc.1",
        "v1.2.3-alpha",
        "v1.0.0-0.3.7",
        "v1.0.0-x.7.z.92",
        "v1.0.0-x-y-z.--",
        "v1.0.0-alpha.beta",
        "v1.0.0-0A.is.legal",
        "v1.2.3+build.5",
        "v1.2.3-rc.1+b.7",
        "v1.0.0+21AF26D3---117B344092BD",
        "v1.0.0+0.build.1-rc.10000aaa-kk-0.1",
        "v99999999999999999999999.999999999999999999.99999999999999999",
    ],
)
def test_version_tags_parse_and_round_trip(tag: str) -> None:
    version = parse_tag(tag)
    assert version is not None
    assert version.tag == tag
    assert str(version) == tag[1:]


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "latest",
        "stable",
        "release-3",
        "v1",
        "v1.2",
        "v1.2.3.4",
        "1.2.3",
        "V1.2.3",
        "vv1.2.3",
        "v-1.2.3",
        "v01.2.3",
        "v1.02.3",
        "v1.2.03",
        "v1.2.3-01",
        "v1.2.3-",
        "v1.2.3+",
        "v1.2.3-rc..1",
        "v1.2.3-rc.1+",
        "v1.2.3+build..1",
        "v1.2.3 ",
        "v1.2.3-rc_1",
        "v1.2.3-é",
        "v\u0661.2.3",  # an Arabic-Indic digit: re's \d would take it, semver does not
        "version-1.2.3",
        "v1.2.3/extra",
    ],
)
def test_other_tags_are_not_versions(tag: str) -> None:
    assert parse_tag(tag) is None


SEMVER_ORG_EXAMPLE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


def _v(text: str) -> Version:
    version = parse_version(text)
    assert version is not None, text
    return version


def test_precedence_follows_the_semver_org_example_chain() -> None:
    chain = [_v(text) for text in SEMVER_ORG_EXAMPLE]
    for lower, higher in itertools.pairwise(chain):
        assert lower < higher, f"{lower} < {higher}"
        assert higher > lower
        assert not higher <= lower
    shuffled = chain[:]
    random.Random(11).shuffle(shuffled)
    assert sorted(shuffled) == chain


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.9.0", "1.10.0"),
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "2.1.1"),
        ("1.2.3", "1.2.4-rc.1"),
        ("1.2.4-rc.9", "1.2.4-rc.10"),
        ("1.2.4-rc.1", "1.2.4-rc.1.1"),
        ("1.2.4-2", "1.2.4-10"),
        ("1.2.4-999", "1.2.4-a"),
        ("1.2.4-RC.1", "1.2.4-rc.1"),
        ("0.9.99", "1.0.0-0"),
    ],
)
def test_precedence_pairs(lower: str, higher: str) -> None:
    assert _v(lower) < _v(higher)
    assert _v(higher) > _v(lower)


def test_build_metadata_is_ignored_in_precedence() -> None:
    a, b = _v("1.0.0+a"), _v("1.0.0+b")
    assert not a < b and not b < a
    assert a <= b and a >= b
    assert _v("1.0.0+zzz") < _v("1.0.1+aaa")


@pytest.mark.parametrize(
    ("tags", "expected_version", "expected_tag"),
    [
        ([], "0.0.0", None),
        (["latest", "v1.2", "release-3", "V9.0.0"], "0.0.0", None),
        (["v1.2.3"], "1.2.3", "v1.2.3"),
        (["v1.9.0", "v1.10.0", "v1.2.0"], "1.10.0", "v1.10.0"),
        (["v1.0.0-rc.1", "v1.0.0", "v1.0.0-beta.11"], "1.0.0", "v1.0.0"),
        (["v2.0.0-rc.1", "v1.99.99"], "2.0.0-rc.1", "v2.0.0-rc.1"),
        (["v1.2.3+b2", "v1.2.3", "v1.2.3+b1"], "1.2.3", "v1.2.3"),
        (["v1.2.3+b2", "v1.2.3+b1"], "1.2.3+b1", "v1.2.3+b1"),
        (["latest", "v0.1.0", "v01.0.0", "v3"], "0.1.0", "v0.1.0"),
    ],
)
def test_current_version_is_the_highest_version_tag(
    tags: list[str], expected_version: str, expected_tag: str | None
) -> None:
    version, tag = current_version(tags)
    assert (str(version), tag) == (expected_version, expected_tag)


@pytest.mark.parametrize(
    ("current", "part", "token", "expected"),
    [
        ("0.0.0", Part.patch, "rc", "0.0.1"),
        ("0.0.0", Part.minor, "rc", "0.1.0"),
        ("0.0.0", Part.major, "rc", "1.0.0"),
        ("0.0.0", Part.prerelease, "rc", "0.0.1-rc.1"),
        ("1.2.3", Part.patch, "rc", "1.2.4"),
        ("1.2.3", Part.minor, "rc", "1.3.0"),
        ("1.2.3", Part.major, "rc", "2.0.0"),
        ("1.2.3", Part.prerelease, "rc", "1.2.4-rc.1"),
        ("1.2.3+build.9", Part.patch, "rc", "1.2.4"),
        # A prerelease is released by the part it prepares ...
        ("1.2.4-rc.2", Part.patch, "rc", "1.2.4"),
        ("1.3.0-rc.1", Part.minor, "rc", "1.3.0"),
        ("2.0.0-rc.1", Part.major, "rc", "2.0.0"),
        # ... and moved past by a larger part.
        ("1.2.4-rc.2", Part.minor, "rc", "1.3.0"),
        ("1.3.0-rc.1", Part.major, "rc", "2.0.0"),
        ("1.3.1-rc.1", Part.minor, "rc", "1.4.0"),
        # prerelease counts up its own token and moves on to a later one.
        ("1.2.4-rc.1", Part.prerelease, "rc", "1.2.4-rc.2"),
        ("1.2.4-rc.9", Part.prerelease, "rc", "1.2.4-rc.10"),
        ("1.2.4-rc", Part.prerelease, "rc", "1.2.4-rc.1"),
        ("1.2.4-rc.1.hotfix", Part.prerelease, "rc", "1.2.4-rc.2"),
        ("1.2.4-beta.2", Part.prerelease, "rc", "1.2.4-rc.1"),
        ("1.2.4-alpha.3", Part.prerelease, "beta", "1.2.4-beta.1"),
        ("1.2.4-rc.1+b", Part.prerelease, "rc", "1.2.4-rc.2"),
    ],
)
def test_next_version(current: str, part: Part, token: str, expected: str) -> None:
    assert str(next_version(_v(current), part, token)) == expected


def test_next_version_is_always_higher() -> None:
    for text in ["0.0.0", "1.2.3", "1.2.4-rc.1", "2.0.0-alpha", "1.0.0-rc.1.x"]:
        for part in Part:
            assert next_version(_v(text), part, "rc") > _v(text), (text, part)


def test_a_prerelease_token_that_would_go_backwards_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        next_version(_v("1.2.4-rc.1"), Part.prerelease, "alpha")
    assert "would sort below the current version 1.2.4-rc.1" in caught.value.message
    assert "bump patch" in caught.value.hint


@pytest.mark.parametrize("token", ["rc", "beta", "alpha-1", "pre2", "x-", "RC", "0a"])
def test_valid_pre_tokens(token: str) -> None:
    assert check_pre_token(token) == token


@pytest.mark.parametrize("token", ["", "1", "01", "rc.1", "rc 1", "rc+1", "é", "rc_1"])
def test_invalid_pre_tokens(token: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_pre_token(token)
    assert caught.value.exit_code == 2
    assert repr(token) in caught.value.message


def test_a_version_is_immutable() -> None:
    version = _v("1.2.3")
    with pytest.raises(AttributeError):
        version.major = 2  # type: ignore[misc]


def test_a_number_too_long_for_int_is_no_version() -> None:
    # Python refuses int() of more than 4300 digits; semver's grammar has no limit.
    assert parse_tag("v" + "1" * 5000 + ".0.0") is None
    assert parse_version("1.0.0-" + "1" * 5000) is not None  # compared without int()
