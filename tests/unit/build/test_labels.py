"""Reproducible labels and the checks a build makes before it asks the engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlrelease.build.plan import plan_build, source_url
from mlrelease.config.settings import load_settings
from mlrelease.versions.git import GitRepo
from tests.unit.conftest import Repo

from .test_build import Run


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/svc.git", "https://github.com/acme/svc"),
        ("https://github.com/acme/svc", "https://github.com/acme/svc"),
        ("https://ci:s3cret@github.com/acme/svc.git", "https://github.com/acme/svc"),
        ("https://***@gitlab.example.com/group/sub/svc.git", "https://gitlab.example.com/group/sub/svc"),
        ("http://git.example.com/acme/svc/", "https://git.example.com/acme/svc"),
        ("git@github.com:acme/svc.git", "https://github.com/acme/svc"),
        ("ssh://git@github.com:2222/acme/svc.git", "https://github.com/acme/svc"),
        ("git://example.com/acme/svc.git", "https://example.com/acme/svc"),
        ("/srv/git/svc.git", None),
        ("../svc", None),
        ("file:///srv/git/svc.git", None),
        ("", None),
        (None, None),
    ],
)  # fmt: skip
def test_source_url_is_https_without_credentials_and_never_a_local_path(
    remote: str | None, expected: str | None
) -> None:
    assert source_url(remote) == expected


def _labels(repo: Repo) -> dict[str, str]:
    return dict(plan_build(load_settings(repo.path), GitRepo(repo.path)).labels)


def test_created_is_the_commit_time_so_two_plans_of_one_commit_agree(
    service_repo: Repo,
) -> None:
    committed = service_repo.git("show", "--no-patch", "--format=%cI", "HEAD")

    first, second = _labels(service_repo), _labels(service_repo)

    assert first == second
    expected = datetime.fromisoformat(committed).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["org.opencontainers.image.created"] == expected


def test_source_label_only_for_a_remote_url(service_repo: Repo, tmp_path: Path) -> None:
    service_repo.git("remote", "add", "origin", str(tmp_path / "local.git"))
    assert "org.opencontainers.image.source" not in _labels(service_repo)

    service_repo.git("remote", "set-url", "origin", "https://ci:t0ken@example.com/acme/svc.git")
    labels = _labels(service_repo)

    assert labels["org.opencontainers.image.source"] == "https://example.com/acme/svc"
    assert "t0ken" not in json.dumps(labels)


def test_buildkit_syntax_is_refused_before_the_engine_is_asked(
    service_repo: Repo,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # No engine answers here: reaching it would be exit 5, not 2.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    (service_repo.path / "Dockerfile").write_text(
        "FROM scratch\nCOPY a /a\nRUN --mount=type=cache,target=/root/.cache pip install x\n"
    )

    result = run("build")

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: Dockerfile line 3: `RUN --mount` needs BuildKit"), lines
    assert lines[1].startswith("hint: ")


def test_build_flags_override_the_budget_keys(service_repo: Repo, run: Run) -> None:
    result = run("build", "--size-warn-mb", "500", "--size-budget-mb", "400")

    assert result.exit_code == 2, result.output
    assert "size_warn_mb 500 (from flag --size-warn-mb) is above size_budget_mb 400" in (
        result.stderr
    )
