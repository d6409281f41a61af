"""The rules of a push, without an engine or a registry: which local image goes out, what
happens to a tag that exists, and which aliases move."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlrelease.errors import ExitCode, PreconditionError
from mlrelease.registry.push_plan import (
    BuiltImage,
    PushFacts,
    RemoteTag,
    alias_names,
    moving_aliases,
    plan_push,
    released_versions,
)
from mlrelease.versions.rules import Version, parse_version

COMMIT = "a" * 40
OTHER = "b" * 40
IMAGE_ID = "sha256:" + "1" * 64
DIGEST = "sha256:" + "d" * 64


def version(text: str) -> Version:
    parsed = parse_version(text)
    assert parsed is not None
    return parsed


RELEASE = BuiltImage("svc:v1.4.3", IMAGE_ID, COMMIT, dirty=False)
FACTS = PushFacts(
    image="svc",
    tag="v1.4.3",
    version=version("1.4.3"),
    commit=COMMIT,
    candidates=(RELEASE,),
    existing=None,
    immutable_tags=False,
    force=False,
    aliases=(),
    released=(),
    smoke={IMAGE_ID: "passed"},
)


def refusal(facts: PushFacts) -> PreconditionError:
    with pytest.raises(PreconditionError) as caught:
        plan_push(facts)
    assert caught.value.exit_code == ExitCode.PRECONDITION
    return caught.value


# The local image


def test_a_free_tag_is_pushed_from_the_release_image() -> None:
    plan = plan_push(FACTS)

    assert (plan.image, plan.action, plan.aliases, plan.warnings) == (RELEASE, "push", (), ())


def test_no_local_image_is_refused_with_the_build_command() -> None:
    error = refusal(replace(FACTS, candidates=()))

    assert error.message == (
        f"no image of v1.4.3: neither svc:v1.4.3 nor svc:sha-{COMMIT[:7]} is built"
    )
    assert error.hint == "git checkout v1.4.3 && mlrelease build"


def test_an_image_from_a_dirty_tree_is_refused() -> None:
    dirty = replace(RELEASE, dirty=True)

    error = refusal(replace(FACTS, candidates=(dirty,)))

    assert "built from a working tree with uncommitted changes" in error.message


def test_an_image_of_another_commit_is_refused_naming_both_commits() -> None:
    stale = replace(RELEASE, revision=OTHER)

    error = refusal(replace(FACTS, candidates=(stale,)))

    assert error.message == (
        f"svc:v1.4.3 was built from commit {OTHER[:7]}, but v1.4.3 is commit {COMMIT[:7]}"
    )


def test_the_sha_build_of_the_commit_is_taken_when_the_version_tag_is_stale() -> None:
    stale = replace(RELEASE, revision=OTHER, image_id="sha256:" + "2" * 64)
    by_sha = BuiltImage(f"svc:sha-{COMMIT[:7]}", IMAGE_ID, COMMIT, dirty=False)

    plan = plan_push(replace(FACTS, candidates=(stale, by_sha)))

    assert plan.image == by_sha


def test_an_image_without_a_revision_label_is_refused() -> None:
    unlabelled = replace(RELEASE, revision=None)

    error = refusal(replace(FACTS, candidates=(unlabelled,)))

    assert "built from commit unknown" in error.message


# A tag that exists


def test_the_same_image_under_the_tag_is_left_as_it_is() -> None:
    plan = plan_push(replace(FACTS, existing=RemoteTag(DIGEST, IMAGE_ID)))

    assert plan.action == "unchanged"
    assert plan.warnings == ()


def test_another_image_under_the_tag_is_refused_without_force() -> None:
    error = refusal(replace(FACTS, existing=RemoteTag(DIGEST, "sha256:" + "9" * 64)))

    assert error.message == f"v1.4.3 already holds another image ({DIGEST})"
    assert "--force" in error.hint


def test_force_replaces_another_image_and_says_so() -> None:
    facts = replace(FACTS, existing=RemoteTag(DIGEST, "sha256:" + "9" * 64), force=True)

    plan = plan_push(facts)

    assert plan.action == "replace"
    assert plan.warnings == (f"--force: replacing v1.4.3, which held {DIGEST}",)


def test_immutable_tags_are_never_replaced_not_even_with_force() -> None:
    facts = replace(
        FACTS,
        existing=RemoteTag(DIGEST, "sha256:" + "9" * 64),
        force=True,
        immutable_tags=True,
    )

    error = refusal(facts)

    assert "immutable" in error.message
    assert "not even with --force" in error.message


# Aliases


def test_aliases_expand_for_stable_versions_only() -> None:
    assert alias_names(["major", "minor", "latest"], version("1.2.3")) == ["v1", "v1.2", "latest"]
    assert alias_names(["major", "latest"], version("1.3.0-rc.1")) == []


def test_the_newest_release_moves_every_alias() -> None:
    released = released_versions(["v1.4.1", "v1.4.3", "v1.3.9", "latest", "v1"])

    moving, notes = moving_aliases(["major", "minor", "latest"], version("1.4.3"), released)

    assert (moving, notes) == (["v1", "v1.4", "latest"], [])


def test_an_older_release_moves_no_alias_and_says_where_each_stays() -> None:
    # push v1.4.3, then v1.4.1: the aliases stay at v1.4.3
    released = released_versions(["v1.4.1", "v1.4.3"])

    moving, notes = moving_aliases(["major", "minor", "latest"], version("1.4.1"), released)

    assert moving == []
    assert notes == [
        "v1 stays at v1.4.3, which is newer than v1.4.1",
        "v1.4 stays at v1.4.3, which is newer than v1.4.1",
        "latest stays at v1.4.3, which is newer than v1.4.1",
    ]


def test_a_patch_of_an_older_line_moves_its_own_aliases_only() -> None:
    released = released_versions(["v1.4.3", "v2.0.0", "v1.3.2"])

    moving, notes = moving_aliases(["major", "minor", "latest"], version("1.3.3"), released)

    assert moving == ["v1.3"]
    assert [note.split()[0] for note in notes] == ["v1", "latest"]


def test_prereleases_do_not_hold_back_a_stable_alias() -> None:
    released = released_versions(["v2.0.0-rc.1", "v1.4.3"])

    moving, _ = moving_aliases(["latest"], version("1.4.4"), released)

    assert moving == ["latest"]


def test_aliases_are_not_moved_on_immutable_tags_and_the_push_warns() -> None:
    facts = replace(FACTS, aliases=("latest",), immutable_tags=True)

    plan = plan_push(facts)

    assert plan.aliases == ()
    assert plan.warnings == ("aliases latest not moved: the repository's tags are immutable",)


def test_the_plan_carries_the_notes_of_aliases_left_behind() -> None:
    facts = replace(
        FACTS,
        tag="v1.4.1",
        version=version("1.4.1"),
        aliases=("latest",),
        released=released_versions(["v1.4.3"]),
    )

    plan = plan_push(facts)

    assert plan.aliases == ()
    assert plan.notes == ("latest stays at v1.4.3, which is newer than v1.4.1",)


# The smoke test


def test_an_image_never_smoke_tested_is_pushed_with_a_warning() -> None:
    plan = plan_push(replace(FACTS, smoke={}))

    assert plan.warnings == (
        "svc:v1.4.3 was never smoke-tested (`mlrelease smoke svc:v1.4.3`; --require-smoke refuses)",
    )


def test_a_failed_smoke_test_is_a_warning_or_with_require_smoke_a_refusal() -> None:
    failed = replace(FACTS, smoke={IMAGE_ID: "failed"})

    assert "failed its smoke test" in plan_push(failed).warnings[0]
    error = refusal(replace(failed, require_smoke=True))
    assert error.message == "svc:v1.4.3 failed its smoke test, and require_smoke is set"


def test_require_smoke_refuses_an_image_never_tested_and_passes_a_tested_one() -> None:
    assert "never smoke-tested" in refusal(replace(FACTS, smoke={}, require_smoke=True)).message
    assert plan_push(replace(FACTS, smoke={IMAGE_ID: "passed"}, require_smoke=True)).warnings == ()
