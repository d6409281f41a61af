"""How a configured base image reaches a parsed Dockerfile: a build argument or a rewrite."""

from __future__ import annotations

import pytest

from mlrelease.build.base_image import plan_base, repo_digest
from mlrelease.build.dockerfile import parse
from mlrelease.errors import ConfigError

MIRROR = "mirror.local/python:3.11-slim"


def _plan(text: str, base: str | None = MIRROR):
    return plan_base(parse(text), text, base, "flag --base-image")


def test_a_literal_base_is_rewritten_in_a_copy_only_where_from_names_it() -> None:
    text = (
        "FROM python:3.11-slim AS build\n"
        "RUN pip install x\n"
        "FROM golang:1.22 AS tools\n"
        "from  --platform=linux/amd64 python:3.11-slim\n"
        "COPY --from=build /x /x\n"
    )

    plan = _plan(text)

    assert plan.buildargs == {}
    assert plan.name == MIRROR
    assert plan.dockerfile_text == (
        f"FROM {MIRROR} AS build\n"
        "RUN pip install x\n"
        "FROM golang:1.22 AS tools\n"
        f"from  --platform=linux/amd64 {MIRROR}\n"
        "COPY --from=build /x /x\n"
    )


def test_an_arg_of_any_name_is_passed_as_that_build_argument() -> None:
    text = "ARG BASE=python:3.11-slim\nFROM ${BASE} AS build\nFROM $BASE\n"

    plan = _plan(text)

    assert plan.buildargs == {"BASE": MIRROR}
    assert plan.dockerfile_text is None
    assert plan.name == MIRROR


def test_python_image_is_passed_only_to_a_dockerfile_that_declares_it() -> None:
    declared = _plan("ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE}\n")
    literal = _plan("FROM python:3.11-slim\n")

    assert declared.buildargs == {"PYTHON_IMAGE": MIRROR}
    assert "PYTHON_IMAGE" not in literal.buildargs


def test_an_unset_base_changes_nothing_and_names_the_dockerfiles_own() -> None:
    for text, name in (
        ("ARG PYTHON_IMAGE=python:3.12-slim\nFROM ${PYTHON_IMAGE}\n", "python:3.12-slim"),
        ("FROM python:3.10-slim\n", "python:3.10-slim"),
        ("ARG BASE\nFROM ${BASE}\n", None),  # no default: unknown until built
    ):
        plan = _plan(text, None)
        assert (plan.buildargs, plan.dockerfile_text, plan.name) == ({}, None, name)


def test_a_named_builder_stage_is_followed_to_the_image_it_starts_from() -> None:
    text = (
        "FROM python:3.11 AS Builder\nRUN make\n"
        "FROM builder AS runtime\nCMD run\n"  # stage names are case-blind
    )

    plan = _plan(text)

    assert plan.name == MIRROR
    assert plan.dockerfile_text is not None
    assert plan.dockerfile_text.splitlines()[0] == f"FROM {MIRROR} AS Builder"
    assert plan.dockerfile_text.splitlines()[2] == "FROM builder AS runtime"


def test_from_scratch_at_the_end_replaces_the_working_stage_and_names_no_base() -> None:
    text = "FROM python:3.11-slim AS build\nRUN make\nFROM scratch\nCOPY --from=build /a /a\n"

    plan = _plan(text)

    assert plan.name is None  # the image itself has no base
    assert plan.dockerfile_text is not None
    assert plan.dockerfile_text.startswith(f"FROM {MIRROR} AS build\n")
    assert "FROM scratch\n" in plan.dockerfile_text


def test_only_scratch_refuses_a_configured_base() -> None:
    assert _plan("FROM scratch\n", None).name is None
    with pytest.raises(ConfigError) as caught:
        _plan("FROM scratch\nCOPY a /a\n")

    assert caught.value.exit_code == 2
    assert "every stage of the Dockerfile is FROM scratch" in caught.value.message


def test_a_computed_base_is_refused_with_the_two_line_edit() -> None:
    text = (
        "ARG REGISTRY=docker.io/library\nARG TAG=3.11-slim\n"
        "FROM ${REGISTRY}/python:${TAG} AS build\nFROM ${REGISTRY}/python:${TAG}\n"
    )

    with pytest.raises(ConfigError) as caught:
        _plan(text)

    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"base_image {MIRROR} (from flag --base-image) cannot be applied to "
        "`FROM ${REGISTRY}/python:${TAG}` (line 3): it is computed from several parts"
    )
    assert caught.value.hint == (
        "make the base one argument: `ARG BASE_IMAGE=docker.io/library/python:3.11-slim` "
        "before line 3; line 3 `FROM ${BASE_IMAGE} AS build`; line 4 `FROM ${BASE_IMAGE}`"
    )


def test_an_arg_no_global_arg_declares_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _plan("FROM ${PY}\n")

    assert "PY is not declared by an ARG before the first FROM" in caught.value.message
    assert caught.value.hint == f"make the base one argument: `ARG PY={MIRROR}` before line 1; " + (
        "line 1 `FROM ${PY}`"
    )


def test_the_base_digest_comes_from_the_repository_the_engine_pulled_it_from() -> None:
    attrs = {"RepoDigests": ["other@sha256:1", "python@sha256:2"]}

    assert repo_digest("python:3.11-slim", attrs) == "sha256:2"
    assert repo_digest("docker.io/library/python:3.11", attrs) == "sha256:2"
    assert repo_digest("local/base:1", {"RepoDigests": []}) is None
    assert repo_digest("python@sha256:3", attrs) == "sha256:3"
