"""`tests.*`, `git.*`, `secrets.*`, `workflow`, `engine`: each broken alone in the fixture."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.unit.doctor.conftest import WORKFLOW, ServiceRepo, init_repo, make_service_repo

# Built here so that no line of this file looks like a key to the secrets check.
BEGIN, END = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"


def _fake_key_body() -> str:
    encoded = base64.b64encode(os.urandom(600)).decode()
    return "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))


def test_a_test_module_that_cannot_import_fails_collection(service: ServiceRepo) -> None:
    service.write("tests/test_train.py", "import service.train_missing\n")
    service.commit_all()

    check = service.check("tests.collect")

    assert check.status == "fail"
    assert "in tests/test_train.py: ModuleNotFoundError: No module named " in check.finding
    assert check.fix.startswith(
        "run `.venv/bin/python -m pytest --collect-only -q -p no:cacheprovider` "
    )
    assert "and fix tests/test_train.py" in check.fix


def test_no_tests_at_all_warns(service: ServiceRepo) -> None:
    service.remove("tests/test_app.py")
    service.commit_all()

    check = service.check("tests.collect")

    assert check.status == "warn"
    assert check.finding.endswith("collected no tests")
    assert "test_*.py" in check.fix


def test_collectable_tests_are_counted(service: ServiceRepo) -> None:
    check = service.check("tests.collect")

    assert check.status == "ok"
    assert check.finding == (
        "1 tests collected from the root "
        "(`.venv/bin/python -m pytest --collect-only -q -p no:cacheprovider`)"
    )


def test_a_home_directory_in_a_test_fails(service: ServiceRepo) -> None:
    service.write(
        "tests/test_model.py",
        'import joblib\n\nMODEL = "/home/alice/work/svc/model.joblib"\n\n\n'
        "def test_model():\n    assert joblib.load(MODEL)\n",
    )
    service.commit_all()

    check = service.check("tests.paths")

    assert check.status == "fail"
    assert check.finding == (
        "tests name paths of one machine: tests/test_model.py:3 '/home/alice/work/svc/model.joblib'"
    )
    assert check.fix.startswith("take the model path from MODEL_PATH")
    assert check.fix.endswith("instead of tests/test_model.py:3")


def test_outside_git_the_repository_check_fails(tmp_path: Path) -> None:
    service = make_service_repo(tmp_path / "svc")
    (service.path / ".git").rename(tmp_path / "git-elsewhere")

    report = service.check("git.repository"), service.check("git.tags")

    assert report[0].status == "fail"
    assert report[0].finding.endswith("is not in a git repository: versions come from git tags")
    assert report[0].fix == "`git init && git add -A && git commit -m 'Initial commit'`"
    assert (report[1].status, report[1].finding) == (
        "skip",
        "not a git repository (see git.repository)",
    )


def test_a_repository_without_commits_fails(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "empty", commit=False)

    check = ServiceRepo(repo.path).check("git.repository")

    assert check.status == "fail"
    assert check.finding == f"the repository at {repo.path} has no commit yet"


def test_tags_that_look_like_versions_must_be_semver(service: ServiceRepo) -> None:
    service.tag("v1.2", "V2.0.0", "release-candidate")

    check = service.check("git.tags")

    assert check.status == "fail"
    assert check.finding == (
        "tags that look like versions but are not v+semver, so mlrelease ignores them: V2.0.0, v1.2"
    )
    assert check.fix.startswith(
        "`git tag -a v2.0.0 V2.0.0^{} -m 'Release v2.0.0' && git tag -d V2.0.0`; "
        "`git tag -a v1.2.0 v1.2^{} -m 'Release v1.2.0' && git tag -d v1.2`"
    )


def test_version_tags_are_reported(service: ServiceRepo) -> None:
    check = service.check("git.tags")

    assert (check.status, check.finding) == ("ok", "1 version tag(s), the highest v0.1.0 (0.1.0)")


def test_uncommitted_changes_warn(service: ServiceRepo) -> None:
    service.write("service/app.py", "def predict(rows):\n    return [1 for _ in rows]\n")
    service.write("notes.txt", "new\n")

    check = service.check("git.clean")

    assert check.status == "warn"
    assert check.finding.startswith("2 uncommitted change(s): service/app.py, notes.txt;")
    assert "`git stash --include-untracked`" in check.fix


def test_a_tracked_service_account_key_fails_with_the_revoke_command(
    service: ServiceRepo,
) -> None:
    key = {
        "type": "service_account",
        "project_id": "acme",
        "private_key_id": "0123abcd",
        "private_key": f"{BEGIN}\n{_fake_key_body()}\n{END}\n",
        "client_email": "ci@acme.iam.gserviceaccount.com",
    }
    service.write("deploy/sa.json", json.dumps(key, indent=2))
    service.commit_all()

    check = service.check("secrets.files")

    assert check.status == "fail"
    assert check.finding == "a service-account key in deploy/sa.json:5"
    assert check.fix == (
        "`git rm --cached deploy/sa.json`, add them to .gitignore; commit, then revoke the key: "
        "it is in the history already; `gcloud iam service-accounts keys delete 0123abcd "
        "--iam-account=ci@acme.iam.gserviceaccount.com`"
    )
    assert _fake_key_body()[:20] not in check.finding + check.fix


def test_a_pem_key_left_in_head_is_found(service: ServiceRepo) -> None:
    service.write("certs/server.key", f"{BEGIN}\n{_fake_key_body()}\n{END}\n")
    service.commit_all()
    service.git("rm", "--quiet", "--cached", "certs/server.key")

    check = service.check("secrets.files")

    assert check.status == "fail"
    assert check.finding == (
        "a PEM private key in certs/server.key:1 (in HEAD, removed from the index)"
    )
    assert check.fix == "commit, then revoke the key: it is in the history already"


def test_a_placeholder_marker_is_not_a_key(service: ServiceRepo) -> None:
    service.write("tests/test_keys.py", f"FAKE = {json.dumps(BEGIN + 'not-a-key')!r}\n")
    service.commit_all()

    assert service.check("secrets.files").status == "ok"


@pytest.mark.parametrize(
    "line",
    ["GCP_SA_KEY: ewogICJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIK", "GCP_SA_KEY: ${{ vars.GCP_SA_KEY }}"],
)
def test_a_key_not_read_from_secrets_fails(service: ServiceRepo, line: str) -> None:
    service.write(
        ".github/workflows/release.yml",
        WORKFLOW.replace("GCP_SA_KEY: ${{ secrets.GCP_SA_KEY }}", line),
    )
    service.commit_all()

    check = service.check("secrets.workflow")

    assert check.status == "fail"
    assert check.finding.startswith(
        "GCP_SA_KEY is not taken from secrets at .github/workflows/release.yml:12:"
    )
    assert "write `GCP_SA_KEY: ${{ secrets.GCP_SA_KEY }}` at .github/workflows/release.yml:12" in (
        check.fix
    )


def test_no_workflow_warns(service: ServiceRepo) -> None:
    service.remove(".github/workflows/release.yml")
    service.commit_all()

    check = service.check("workflow")

    assert check.status == "warn"
    assert check.finding == "no workflow in .github/workflows: releases are made by hand"
    assert check.fix.startswith(
        "add .github/workflows/release.yml with steps `run: python -m pytest`"
    )
    assert service.check("secrets.workflow").finding == (
        "no workflow sets GCP_SA_KEY other than from secrets (0 read)"
    )


@pytest.mark.parametrize(
    ("old", "new", "missing"),
    [
        ("      - run: python -m pytest\n", "", "runs no tests"),
        (
            "          mlrelease build\n          mlrelease push",
            "          docker build .\n          echo",
            "calls no mlrelease command",
        ),
    ],
)
def test_a_workflow_must_test_and_release(
    service: ServiceRepo, old: str, new: str, missing: str
) -> None:
    assert old in WORKFLOW
    service.write(".github/workflows/release.yml", WORKFLOW.replace(old, new))
    service.commit_all()

    check = service.check("workflow")

    assert check.status == "warn"
    assert check.finding == (
        "no workflow both runs the tests and calls mlrelease: "
        f".github/workflows/release.yml {missing}"
    )
    assert check.fix.startswith("in .github/workflows/release.yml add steps")


def test_an_engine_that_does_not_answer_fails(
    service: ServiceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket = tmp_path / "no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")

    check = service.check("engine")

    assert check.status == "fail"
    assert check.finding.startswith(f"the Docker engine at unix://{socket} does not answer: ")
    assert check.fix == (
        "start the Docker engine, or point DOCKER_HOST at one that runs "
        "(`docker version` must show a Server)"
    )
