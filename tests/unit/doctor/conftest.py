"""Fixture repositories for the doctor: a small service that passes every local check, which
each test breaks in exactly one way."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlrelease.doctor import diagnose
from mlrelease.results.doctor import Check
from tests.unit.conftest import Repo, init_repo, isolated_env, run  # noqa: F401
from tests.unit.doctor.fixes import project_environment

DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
COPY requirements.txt /tmp/requirements.txt
RUN pip install --user --no-cache-dir -r /tmp/requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --no-create-home app
COPY --from=builder /root/.local /root/.local
WORKDIR /app
COPY service/model/ service/model/
COPY service/*.py service/
USER 10001
CMD ["python", "-m", "service"]
"""

DOCKERIGNORE = """\
.git
.venv
venv
tests
**/__pycache__
**/*.py[cod]
.pytest_cache
"""

WORKFLOW = """\
name: release
on: push
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt pytest mlrelease
      - run: python -m pytest
      - name: Build and push
        env:
          GCP_SA_KEY: ${{ secrets.GCP_SA_KEY }}
        run: |
          mlrelease build
          mlrelease push "$GITHUB_REF_NAME"
"""

FILES = {
    "pyproject.toml": '[tool.mlrelease]\nimage = "svc"\n\n'
    '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "Dockerfile": DOCKERFILE,
    ".dockerignore": DOCKERIGNORE,
    ".gitignore": "service/model/\n__pycache__/\n",
    "requirements.txt": "fastapi==0.110.0\nscikit-learn==1.5.0  # the model's library\n",
    "service/__init__.py": "",
    "service/app.py": "def predict(rows):\n    return [0 for _ in rows]\n",
    "tests/test_app.py": "from service.app import predict\n\n\n"
    "def test_predict():\n    assert predict([[1.0]]) == [0]\n",
    ".github/workflows/release.yml": WORKFLOW,
}
MODEL = "service/model/model.joblib"
# Installed in the service's environment (.venv), for the pins doctor proposes.
VERSIONS = {"fastapi": "0.110.0", "scikit-learn": "1.5.0", "rich": "13.7.1", "Ruff": "0.4.2"}


class ServiceRepo(Repo):
    """A real git repository holding a small service, with a trained "model" (bytes and the
    metadata recording their checksum; the doctor never unpickles it)."""

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    def commit_all(self, message: str = "change") -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "--message", message)

    def write_model(self, content: bytes = b"a trained model") -> None:
        model = self.path / MODEL
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(content)
        digest = hashlib.sha256(content).hexdigest()
        model.with_suffix(".json").write_text(json.dumps({"sha256": digest}))

    def check(self, check_id: str) -> Check:
        """Run one doctor check on this repository."""
        (found,) = diagnose(self.path, only=[check_id], offline=True).checks
        return found


def make_service_repo(path: Path) -> ServiceRepo:
    init_repo(path, commit=False)
    repo = ServiceRepo(path)
    for name, text in FILES.items():
        repo.write(name, text)
    # The service's own environment, as its developers have it (git ignores it locally).
    (path / ".git" / "info" / "exclude").write_text(".venv/\n")
    project_environment(path, **VERSIONS)
    repo.write_model()
    repo.commit_all("initial")
    repo.tag("v0.1.0")
    return repo


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceRepo:
    """A healthy service repository; the working directory is its root."""
    repo = make_service_repo(tmp_path / "service")
    monkeypatch.chdir(repo.path)
    return repo
