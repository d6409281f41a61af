"""`mlrelease build` and `smoke` before the engine is reached: plan, preconditions, errors."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from mlrelease.build.plan import plan_build
from mlrelease.config.settings import load_settings
from mlrelease.versions.git import GitRepo
from tests.unit.conftest import Repo

Run = Callable[..., Result]


def _plan(repo: Repo):
    return plan_build(load_settings(repo.path), GitRepo(repo.path))


def test_plan_tags_the_commit_and_labels_the_revision_and_model(service_repo: Repo) -> None:
    plan = _plan(service_repo)

    short = service_repo.head[:7]
    assert plan.tags == (f"acme/svc:sha-{short}",)
    assert plan.labels["org.opencontainers.image.revision"] == service_repo.head
    assert plan.labels["org.opencontainers.image.version"] == f"sha-{short}"
    assert plan.labels["org.mlrelease.model.sha256"] == hashlib.sha256(b"model bytes").hexdigest()
    assert plan.labels["org.mlrelease.model.sklearn_version"] == "9.9"
    assert "org.mlrelease.dirty" not in plan.labels
    assert plan.buildargs == {}  # base_image not set: the Dockerfile's own base


def test_plan_adds_the_release_tag_when_head_is_at_one(service_repo: Repo) -> None:
    service_repo.tag("v1.2.0", "latest", annotated=True)

    plan = _plan(service_repo)

    assert plan.tags == (f"acme/svc:sha-{service_repo.head[:7]}", "acme/svc:v1.2.0")
    assert plan.labels["org.opencontainers.image.version"] == "v1.2.0"


def test_plan_marks_a_dirty_tree_and_never_gives_it_the_release_tag(service_repo: Repo) -> None:
    service_repo.tag("v1.2.0", annotated=True)
    (service_repo.path / "Dockerfile").write_text("FROM scratch\nLABEL changed=1\n")

    plan = _plan(service_repo)

    assert plan.tags == (f"acme/svc:sha-{service_repo.head[:7]}-dirty",)
    assert plan.labels["org.mlrelease.dirty"] == "true"


def test_build_without_a_model_is_a_precondition_error(repo: Repo, run: Run) -> None:
    (repo.path / "Dockerfile").write_text("FROM scratch\nCOPY service/model/ service/model/\n")

    result = run("build")

    assert result.exit_code == 3, result.output
    assert "error: the model file service/model/model.joblib does not exist" in result.stderr
    assert "hint: train it with `python -m service.train`" in result.stderr


def test_build_with_no_engine_is_an_external_error(
    service_repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")

    result = run("--json", "build")

    assert result.exit_code == 5, result.output
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is False
    assert envelope["errors"][0]["code"] == "engine"
    assert "does not answer" in envelope["errors"][0]["message"]
    assert "Traceback" not in result.output


def test_a_build_result_feeds_github_outputs_and_the_job_summary(tmp_path: Path) -> None:
    from mlrelease.output.render import Output
    from mlrelease.results.build import BuildResult

    outputs, summary = tmp_path / "output", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    result = BuildResult(
        image_id="sha256:" + "c" * 64,
        tags=("acme/svc:sha-1234567", "acme/svc:v1.0.0"),
        size_bytes=464_200_000,
        steps=23,
        cached_steps=(3, 4, 5),
    )

    stdout = io.StringIO()

    assert Output(env=env, stdout=stdout, stderr=io.StringIO()).emit(result) == 0
    assert stdout.getvalue() == "acme/svc:sha-1234567\n"

    assert outputs.read_text().splitlines() == [
        "image=acme/svc:sha-1234567",
        "tags=acme/svc:sha-1234567,acme/svc:v1.0.0",
        "digest=sha256:" + "c" * 64,
        "size_bytes=464200000",
    ]
    text = summary.read_text()
    assert "| tags | `acme/svc:sha-1234567`, `acme/svc:v1.0.0` |" in text
    assert "| size | 464.2 MB |" in text
    assert "| from the cache | 3 of 23 steps |" in text


def test_plan_counts_an_untracked_file_as_dirty(service_repo: Repo) -> None:
    # It would be sent in the build context, so the image would not be the commit.
    (service_repo.path / "notes.txt").write_text("not committed\n")

    plan = _plan(service_repo)

    assert plan.tags == (f"acme/svc:sha-{service_repo.head[:7]}-dirty",)


def test_a_missing_context_is_named_as_such(
    service_repo: Repo, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRELEASE_CONTEXT", "no-such-dir")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    result = run("build")

    assert result.exit_code == 3, result.output
    assert "the build context" in result.stderr
    assert "no-such-dir is not a directory" in result.stderr
