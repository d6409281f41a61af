"""Fixtures for the service tests: one model trained per session, an app client around it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.model import metadata_path_for
from service.schemas import ModelMetadata
from service.settings import Settings
from service.train import train

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once for the whole session; treat it as read-only."""
    path = tmp_path_factory.mktemp("trained") / "model.joblib"
    train(path)
    return path


@pytest.fixture(scope="session")
def metadata(trained_model: Path) -> ModelMetadata:
    """The metadata written beside the session's model."""
    return ModelMetadata.model_validate_json(metadata_path_for(trained_model).read_bytes())


@pytest.fixture
def model_copy(trained_model: Path, tmp_path: Path) -> Path:
    """A private copy of the model and its metadata, for tests that tamper with them."""
    copy = tmp_path / "model.joblib"
    shutil.copy2(trained_model, copy)
    shutil.copy2(metadata_path_for(trained_model), metadata_path_for(copy))
    return copy


@pytest.fixture
def settings(trained_model: Path) -> Settings:
    """Settings pointing at the session's model, everything else default."""
    return Settings(model_path=trained_model)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client with the lifespan run, so the model is loaded as in production."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def n_features(metadata: ModelMetadata) -> int:
    """How many values a row must have."""
    return len(metadata.feature_names)
