"""Fixtures for the CLI tests: an isolated environment and real temporary git repositories."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mlrelease.cli.app import app

# Variables that would leak the developer's or the CI runner's settings into a test.
_SCRUBBED_PREFIXES = ("MLRELEASE_", "GAR_", "GCP_", "GOOGLE_", "GITHUB_", "CLOUDSDK_", "GIT_")
_SCRUBBED_NAMES = {"MODEL_PATH", "NO_COLOR", "FORCE_COLOR", "TERM", "EMAIL"}

MLRELEASE = Path(sys.executable).with_name("mlrelease")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A clean environment: no mlrelease/GCP/GitHub/git variables, a temp HOME, no colour."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("COLUMNS", "100")


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd`, fail the test on error, return stdout stripped."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


class Repo:
    """A real git repository in a temp directory, with helpers to shape its history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counter = 0

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def commit(self, message: str = "change") -> str:
        """Change a tracked file, commit, return the new HEAD sha."""
        self._counter += 1
        (self.path / "file.txt").write_text(f"{message} {self._counter}\n")
        self.git("add", "file.txt")
        self.git("commit", "--quiet", "--message", message)
        return self.head

    def tag(self, *names: str, annotated: bool = False, at: str = "HEAD") -> None:
        for name in names:
            if annotated:
                self.git("tag", "--annotate", "--message", f"tag {name}", name, at)
            else:
                self.git("tag", name, at)

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tags(self) -> dict[str, str]:
        """Every ref under refs/tags with the object it names (not peeled)."""
        out = self.git("for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/tags")
        return dict(line.split(" ") for line in out.splitlines())

    def tag_target(self, name: str) -> str:
        return self.git("rev-parse", f"{name}^{{commit}}")


def init_repo(path: Path, *, commit: bool = True) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", "main")
    git(path, "config", "user.name", "Test Author")
    git(path, "config", "user.email", "author@example.com")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "config", "tag.gpgsign", "false")
    repo = Repo(path)
    if commit:
        repo.commit("initial")
    return repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A repository with one commit and no tags; the working directory is its root."""
    created = init_repo(tmp_path / "repo")
    monkeypatch.chdir(created.path)
    return created


@pytest.fixture
def bare_remote(tmp_path: Path, repo: Repo) -> Path:
    """A bare repository added to `repo` as `origin`."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    return remote


def remote_tags(remote: Path) -> dict[str, str]:
    out = git(remote, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/tags")
    return dict(line.split(" ") for line in out.splitlines())


@pytest.fixture
def run() -> Callable[..., Result]:
    """Invoke the CLI in-process; stdout and stderr are kept apart on the result."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False, prog_name="mlrelease")

    return invoke


@pytest.fixture
def run_script() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Run the installed `mlrelease` console script in a child process."""
    if not MLRELEASE.exists():
        pytest.skip("the mlrelease console script is not installed in this environment")

    def execute(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MLRELEASE), *args], cwd=cwd, capture_output=True, text=True, check=False
        )

    yield execute


@pytest.fixture
def service_repo(repo: Repo) -> Repo:
    """A committed repository with a Dockerfile and a (fake) trained model."""
    model = repo.path / "service" / "model"
    model.mkdir(parents=True)
    (model / "model.joblib").write_bytes(b"model bytes")
    digest = hashlib.sha256(b"model bytes").hexdigest()
    (model / "model.json").write_text(json.dumps({"sha256": digest, "sklearn_version": "9.9"}))
    (repo.path / "Dockerfile").write_text("FROM scratch\n")
    (repo.path / "pyproject.toml").write_text('[tool.mlrelease]\nimage = "acme/svc"\n')
    repo.git("add", ".")
    repo.commit("service")
    return repo
