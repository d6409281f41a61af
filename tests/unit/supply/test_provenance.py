"""The provenance: an in-toto Statement v1 with an SLSA Provenance v1 predicate."""

from __future__ import annotations

import pytest

from mlrelease.errors import WorkFailed
from mlrelease.supply.provenance import (
    BuildFacts,
    builder_id,
    docker_purl,
    provenance_statement,
    source_commit,
    subject_digests,
    validate,
)

DIGEST = "sha256:" + "ab" * 32
COMMIT = "c" * 40


def facts(**changes) -> BuildFacts:
    values = dict(
        repository="127.0.0.1:5000/ml-service",
        digest=DIGEST,
        dockerfile="Dockerfile",
        dockerfile_sha256="d" * 64,
        commit=COMMIT,
        source="https://github.com/o/r",
        build_args={"PYTHON_IMAGE": "python:3.11-slim"},
        base_image="python:3.11-slim",
        base_digest="sha256:" + "e" * 64,
        started_on="2026-01-02T03:04:05Z",
        finished_on="2026-01-02T03:05:05Z",
        env={},
    )
    values.update(changes)
    return BuildFacts(**values)


def test_the_statement_has_the_slsa_v1_shape() -> None:
    statement = provenance_statement(facts())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"] == [
        {"name": "127.0.0.1:5000/ml-service", "digest": {"sha256": "ab" * 32}}
    ]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["externalParameters"] == {
        "dockerfile": {"path": "Dockerfile", "sha256": "d" * 64},
        "buildArgs": {"PYTHON_IMAGE": "python:3.11-slim"},
        "source": {"repository": "https://github.com/o/r", "commit": COMMIT},
    }
    assert definition["resolvedDependencies"] == [
        {"uri": "git+https://github.com/o/r", "digest": {"gitCommit": COMMIT}},
        {
            "name": "python:3.11-slim",
            "uri": "pkg:docker/python@3.11-slim",
            "digest": {"sha256": "e" * 64},
        },
    ]
    metadata = statement["predicate"]["runDetails"]["metadata"]
    assert metadata == {"startedOn": "2026-01-02T03:04:05Z", "finishedOn": "2026-01-02T03:05:05Z"}
    assert subject_digests(statement) == [DIGEST]
    assert source_commit(statement) == COMMIT


def test_the_builder_is_the_github_run_or_this_host() -> None:
    env = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    assert builder_id(env) == (
        "https://github.com/o/r/actions/runs/42",
        "https://github.com/o/r/actions/runs/42/attempts/2",
    )
    statement = provenance_statement(facts(env=env))
    assert statement["predicate"]["runDetails"]["builder"]["id"].endswith("/runs/42")
    assert builder_id({})[0].startswith("local:")


def test_a_malformed_statement_is_refused() -> None:
    statement = provenance_statement(facts())
    statement["predicate"]["runDetails"]["metadata"]["startedOn"] = "yesterday"
    with pytest.raises(WorkFailed, match="not a valid in-toto"):
        validate(statement)
    with pytest.raises(WorkFailed):
        validate({**provenance_statement(facts()), "subject": []})


def test_docker_purls() -> None:
    assert docker_purl("127.0.0.1:5000/a/b:2") == "pkg:docker/a/b@2?repository_url=127.0.0.1:5000"
    assert docker_purl("ubuntu") == "pkg:docker/ubuntu@latest"
