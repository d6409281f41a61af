"""The endpoints, the lifespan that loads the model once, and the access log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service
import service.app
from service.app import create_app
from service.model import LoadedModel, ModelLoadError, file_sha256, load_model
from service.schemas import ModelMetadata
from service.settings import Settings


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_ready_once_the_model_is_loaded(client: TestClient, trained_model: Path) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "model_sha256": file_sha256(trained_model)}


def test_not_ready_and_no_predictions_before_start_up(settings: Settings) -> None:
    # Without `with`, TestClient does not run the lifespan: the app has no model yet.
    client = TestClient(create_app(settings))

    ready = client.get("/ready")
    assert ready.status_code == 503, ready.text
    assert ready.json() == {"status": "not ready", "model_sha256": None}
    assert client.get("/health").status_code == 200
    predict = client.post("/predict", json={"instance": [0.0] * 30})
    assert predict.status_code == 503
    assert predict.json() == {"detail": "model not loaded"}
    assert client.get("/metadata").status_code == 503


def test_start_up_fails_without_a_model(tmp_path: Path) -> None:
    app = create_app(Settings(model_path=tmp_path / "missing.joblib"))
    with (
        pytest.raises(ModelLoadError, match=r"missing\.joblib not found; train it"),
        TestClient(app),
    ):
        pytest.fail("the app started without a model")


def test_the_model_is_loaded_once_for_many_requests(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def counting_load(path: Path) -> LoadedModel:
        calls.append(path)
        return load_model(path)

    monkeypatch.setattr(service.app, "load_model", counting_load)
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            assert client.post("/predict", json={"instance": [0.0] * 30}).status_code == 200
    assert calls == [settings.model_path]


def test_metadata_is_the_service_version_and_the_model_metadata(
    client: TestClient, metadata: ModelMetadata
) -> None:
    response = client.get("/metadata")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "service_version": service.__version__,
        "model": metadata.model_dump(mode="json"),
    }


def test_predict_one_row(client: TestClient, metadata: ModelMetadata) -> None:
    response = client.post("/predict", json={"instance": metadata.example.instance})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"predictions", "probabilities", "classes", "model_sha256"}
    assert body["predictions"] == [metadata.example.prediction]
    assert body["classes"] == metadata.class_names
    assert body["model_sha256"] == metadata.sha256
    [probabilities] = body["probabilities"]
    assert len(probabilities) == len(metadata.class_names)
    assert sum(probabilities) == pytest.approx(1.0)


def test_predict_a_batch_keeps_row_order(client: TestClient, metadata: ModelMetadata) -> None:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rows = data.data[:50].tolist()

    response = client.post("/predict", json={"instances": rows})

    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["predictions"]) == len(body["probabilities"]) == 50
    for label, probabilities in zip(body["predictions"], body["probabilities"], strict=True):
        assert label == body["classes"][probabilities.index(max(probabilities))]
    truth = [str(name) for name in data.target_names[data.target[:50]]]
    agreement = sum(p == t for p, t in zip(body["predictions"], truth, strict=True)) / 50
    assert agreement > 0.9


def test_batch_limit_is_configurable(trained_model: Path) -> None:
    app = create_app(Settings(model_path=trained_model, max_batch=3))
    with TestClient(app) as client:
        assert client.post("/predict", json={"instances": [[0.0] * 30] * 3}).status_code == 200
        response = client.post("/predict", json={"instances": [[0.0] * 30] * 4})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "instances has 4 rows; the limit is 3 (MAX_BATCH)"
    )


def test_one_access_log_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="service.access"):
        client.post("/predict", json={"instance": [0.0] * 30})
        client.post("/predict?token=secret", json={"instances": []})
        client.get("/health")

    lines = [r.getMessage() for r in caplog.records if r.name == "service.access"]
    assert len(lines) == 2, lines  # probes are logged at DEBUG only
    assert lines[0].startswith("POST /predict 200 ")
    assert lines[1].startswith("POST /predict 422 ")
    assert "secret" not in " ".join(lines)


def test_a_body_too_big_to_parse_is_413_before_parsing(trained_model: Path) -> None:
    settings = Settings(model_path=trained_model, max_batch=1)
    rows = [[0.123456789] * 30] * 5000  # about 2 MB, over the 1 MiB + 16 KiB allowance

    with TestClient(create_app(settings)) as client:
        response = client.post("/predict", json={"instances": rows})

    assert response.status_code == 413, response.text
    assert settings.max_body_bytes == 1024 * 1024 + 16 * 1024


def test_openapi_documents_the_contract(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200, response.text
    schemas = response.json()["components"]["schemas"]
    assert set(schemas["PredictRequest"]["properties"]) == {"instance", "instances"}
    assert set(schemas["PredictResponse"]["required"]) == {
        "predictions",
        "probabilities",
        "classes",
        "model_sha256",
    }
