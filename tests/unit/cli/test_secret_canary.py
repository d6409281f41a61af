"""A canary password planted in every URL-shaped setting and in GCP_SA_KEY never comes out.

Each scenario plants the canary in one place (and one plants it everywhere at once), then runs
every command's failure paths, plain, with --json --verbose and with MLRELEASE_DEBUG=1, and
asserts the canary is on neither stream nor in any file written during the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlrelease.cli.app import app
from mlrelease.secrets import forget_secrets
from tests.unit.conftest import Repo

CANARY = "Cnry7-pw-Q2xZ9vT"
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\nMIIE{CANARY}AgEAAoIBAQ\n-----END PRIVATE KEY-----\n"
SA_KEY = json.dumps(
    {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": f"kid{CANARY}",
        "private_key": PRIVATE_KEY,
        "client_email": "ci@p.iam.gserviceaccount.com",
        "token_uri": f"https://ci:{CANARY}@127.0.0.1:1/token",
    }
)
REMOTE = f"https://ci:{CANARY}@127.0.0.1:1/repo.git"

# Where the canary goes: environment variables and, for "remote", the git remote's URL.
SCENARIOS: dict[str, dict[str, str]] = {
    "gar_endpoint": {"MLRELEASE_GAR_ENDPOINT": f"https://ci:{CANARY}@gar.example.invalid"},
    "gar_endpoint_query": {"MLRELEASE_GAR_ENDPOINT": f"https://gar.invalid/?token={CANARY}"},
    "registry_host": {"MLRELEASE_REGISTRY_HOST": f"ci:{CANARY}@127.0.0.1:5000"},
    "docker_host_tcp": {"DOCKER_HOST": f"tcp://ci:{CANARY}@127.0.0.1:1"},
    "docker_host_ssh": {"DOCKER_HOST": f"ssh://ci:{CANARY}@127.0.0.1:1"},
    "base_image": {"MLRELEASE_BASE_IMAGE": f"ci:{CANARY}@registry.invalid/python:3.11"},
    "gcp_sa_key_json": {"GCP_SA_KEY": SA_KEY},
    "gcp_sa_key_raw": {"GCP_SA_KEY": CANARY},
    "mlrelease_gcp_sa_key": {"MLRELEASE_GCP_SA_KEY": f"{{{CANARY}"},
    "remote": {},
    "everywhere": {
        "MLRELEASE_GAR_ENDPOINT": f"https://ci:{CANARY}@gar.example.invalid",
        "MLRELEASE_REGISTRY_HOST": f"ci:{CANARY}@127.0.0.1:5000",
        "DOCKER_HOST": f"tcp://ci:{CANARY}@127.0.0.1:1",
        "GCP_SA_KEY": SA_KEY,
    },
}
ROOT = typer.main.get_command(app)
FAILURE_PATHS: dict[str, list[list[str]]] = {
    "version": [[]],
    "bump": [["patch"], ["patch", "--push"], ["--dry-run", "patch", "--push"], ["minor", "-m", ""]],
    "config": [[], ["--region", "NOT A REGION"]],
    "build": [[], ["--base-image", f"ci:{CANARY}@registry.invalid/python"]],
    "smoke": [[], ["ml-service:1"], [f"ci:{CANARY}@host/img"]],
}
MODES: list[tuple[list[str], dict[str, str]]] = [
    ([], {}),
    (["--json", "--verbose"], {}),
    (["--verbose"], {"MLRELEASE_DEBUG": "1"}),
]


@pytest.fixture(autouse=True)
def no_registered_secrets() -> Iterator[None]:
    """Each scenario starts with nothing registered, so that masking is earned, not inherited."""
    forget_secrets()
    yield
    forget_secrets()


def _runs() -> Iterator[list[str]]:
    for name in ROOT.list_commands(None):  # type: ignore[attr-defined]
        for args in FAILURE_PATHS.get(name, [[]]):
            yield [name, *args]


def _files_written_since(start: float, *roots: Path, planted: set[Path]) -> list[Path]:
    return [
        path
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and path not in planted and path.stat().st_mtime >= start
    ]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_canary_never_comes_out(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    if scenario in ("remote", "everywhere"):
        repo.git("remote", "add", "origin", REMOTE)
    outputs = tmp_path / "github"
    outputs.mkdir()
    env = {
        **SCENARIOS[scenario],
        "GITHUB_OUTPUT": str(outputs / "output"),
        "GITHUB_STEP_SUMMARY": str(outputs / "summary.md"),
    }
    planted = {repo.path / ".git" / "config"}
    start = time.time() - 1
    runner = CliRunner()
    ran = 0

    for args in _runs():
        for global_options, mode_env in MODES:
            result = runner.invoke(
                app, [*global_options, *args], env={**env, **mode_env}, prog_name="mlrelease"
            )
            ran += 1
            shown = f"{scenario}: mlrelease {' '.join([*global_options, *args])}"
            assert result.exit_code != 70, f"{shown}\n{result.output}"
            assert CANARY not in result.stdout, f"{shown}\n{result.stdout}"
            assert CANARY not in result.stderr, f"{shown}\n{result.stderr}"

    assert ran >= 3 * 10
    home = Path.home()
    for path in _files_written_since(start, tmp_path, home, planted=planted):
        assert CANARY.encode() not in path.read_bytes(), path


def test_the_canary_check_can_fail(repo: Repo) -> None:
    # The check sees text that does reach the output: a tag message is no secret.
    result = CliRunner().invoke(app, ["bump", "patch", "--dry-run", "-m", CANARY, "--verbose"])

    assert result.exit_code == 0, result.output
    assert CANARY in result.stderr
