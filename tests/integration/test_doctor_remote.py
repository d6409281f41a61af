"""doctor's remote checks against the GAR emulator: all ok, a missing repository, a denied
permission, a bad key, and a token endpoint that is down, each with its finding and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator import CANARY
from tests.integration.releasing import gar_settings, release_repo

pytestmark = pytest.mark.integration

REMOTE = "credentials,repository,permission"


@pytest.fixture
def project(tmp_path: Path, gar, sa_key):
    rel = release_repo(tmp_path, **gar_settings(gar))
    rel.env["GCP_SA_KEY"] = json.dumps(sa_key)
    return rel


def remote_checks(project, **env: str) -> tuple[int, dict[str, dict]]:
    result = project.mlrelease("--json", "doctor", "--only", REMOTE, **env)
    assert CANARY not in result.stdout + result.stderr
    return result.returncode, {c["id"]: c for c in json.loads(result.stdout)["data"]["checks"]}


def test_all_remote_checks_pass_and_name_the_identity(project, gar) -> None:
    code, checks = remote_checks(project)

    assert code == 0, checks
    assert checks["credentials"]["finding"] == (
        "GCP_SA_KEY: service account ci@test-project.iam.gserviceaccount.com"
    )
    assert checks["repository"]["status"] == "warn"
    assert checks["repository"]["finding"] == (
        "docker in test-project/us-central1: Docker format, but its tags are mutable: "
        "a push can move a release tag"
    )
    assert checks["repository"]["fix"] == (
        "make them immutable: gcloud artifacts repositories update docker "
        "--location=us-central1 --project=test-project --immutable-tags"
    )
    assert "may upload" in checks["permission"]["finding"]
    # One token for the whole run, although the checks ran concurrently.
    assert sum(1 for r in gar.requests if r[0] == "token") == 1


def test_immutable_tags_are_reported(project, gar) -> None:
    gar.add_repository("docker", immutable_tags=True)

    _, checks = remote_checks(project)

    assert checks["repository"]["status"] == "ok"
    assert checks["repository"]["finding"].endswith("Docker format, immutable tags")


def test_a_missing_repository_fails_with_the_create_command(project, gar) -> None:
    gar.remove_repository("docker")

    code, checks = remote_checks(project)

    assert code == 1
    assert checks["repository"]["status"] == "fail"
    assert checks["repository"]["fix"].startswith(
        "create the repository: gcloud artifacts repositories create docker "
        "--repository-format=docker --location=us-central1 --project=test-project"
    )


def test_a_denied_permission_fails_with_the_grant_command(project, gar) -> None:
    gar.deny("artifactregistry.repositories.uploadArtifacts")

    code, checks = remote_checks(project)

    assert code == 1
    assert checks["repository"]["status"] == "warn"  # mutable tags
    assert checks["permission"]["status"] == "fail"
    assert "add-iam-policy-binding docker" in checks["permission"]["fix"]
    assert (
        "--member=serviceAccount:ci@test-project.iam.gserviceaccount.com"
        in (checks["permission"]["fix"])
    )


def test_a_bad_key_fails_credentials_and_skips_the_rest(project, sa_key) -> None:
    broken = {k: v for k, v in sa_key.items() if k != "client_email"}

    code, checks = remote_checks(project, GCP_SA_KEY=json.dumps(broken))

    assert code == 1
    assert checks["credentials"]["status"] == "fail"
    assert "lack the field client_email" in checks["credentials"]["finding"]
    assert (checks["repository"]["status"], checks["permission"]["status"]) == ("skip", "skip")


def test_a_token_endpoint_that_is_down_fails_credentials(project, gar) -> None:
    gar.fail_next(10, target="token", status=503)

    code, checks = remote_checks(project)

    assert code == 1
    assert checks["credentials"]["status"] == "fail"
    assert "token endpoint failed" in checks["credentials"]["finding"]
