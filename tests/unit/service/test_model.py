"""Model loading refuses unusable files with one clear line; scoring names unscorable rows."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn

from service.model import (
    LinearScorer,
    LoadedModel,
    ModelLoadError,
    PredictionError,
    file_sha256,
    load_model,
    metadata_path_for,
    predict_rows,
    verify_artifact,
)


def _edit_metadata(model_path: Path, **changes: object) -> None:
    meta_path = metadata_path_for(model_path)
    document = json.loads(meta_path.read_text())
    document.update(changes)
    meta_path.write_text(json.dumps(document))


def _refusal(model_path: Path) -> str:
    with pytest.raises(ModelLoadError) as caught:
        load_model(model_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_loads_a_freshly_trained_model(trained_model: Path) -> None:
    model = load_model(trained_model)

    assert isinstance(model, LoadedModel)
    assert model.sha256 == file_sha256(trained_model)
    assert model.n_features == 30
    assert model.classes == ["benign", "malignant"]


def test_refuses_a_missing_model_file(tmp_path: Path) -> None:
    message = _refusal(tmp_path / "absent.joblib")
    assert message == (
        f"model file {tmp_path / 'absent.joblib'} not found; train it with python -m service.train"
    )


def test_refuses_a_directory_as_model_file(tmp_path: Path) -> None:
    assert "is not a file" in _refusal(tmp_path)


def test_refuses_a_missing_metadata_file(model_copy: Path) -> None:
    metadata_path_for(model_copy).unlink()
    message = _refusal(model_copy)
    assert f"metadata file {metadata_path_for(model_copy)} not found" in message


def test_refuses_metadata_that_is_not_json(model_copy: Path) -> None:
    metadata_path_for(model_copy).write_text("{not json")
    message = _refusal(model_copy)
    assert "is invalid" in message
    assert "Invalid JSON" in message


def test_refuses_metadata_without_a_required_field(model_copy: Path) -> None:
    meta_path = metadata_path_for(model_copy)
    document = json.loads(meta_path.read_text())
    del document["sha256"]
    meta_path.write_text(json.dumps(document))
    assert "is invalid: sha256: Field required" in _refusal(model_copy)


def test_refuses_a_model_file_changed_after_training(model_copy: Path) -> None:
    with model_copy.open("ab") as handle:
        handle.write(b"\0")
    message = _refusal(model_copy)
    assert "has sha256" in message
    assert "the file changed after training" in message


def test_refuses_a_model_trained_with_another_sklearn(model_copy: Path) -> None:
    _edit_metadata(model_copy, sklearn_version="0.24.2")
    message = _refusal(model_copy)
    assert f"trained with scikit-learn 0.24.2 but this service runs {sklearn.__version__}" in (
        message
    )


def test_checks_the_version_before_unpickling(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unpickling a model from another scikit-learn can crash or warn; it must not be tried.
    _edit_metadata(model_copy, sklearn_version="0.24.2")
    monkeypatch.setattr(joblib, "load", lambda *_: pytest.fail("unpickled before checking"))
    with pytest.raises(ModelLoadError):
        load_model(model_copy)


def test_refuses_a_file_that_is_not_a_pickle_even_with_a_matching_checksum(
    model_copy: Path,
) -> None:
    model_copy.write_bytes(b"definitely not a pickle")
    _edit_metadata(model_copy, sha256=file_sha256(model_copy))
    assert "could not be unpickled" in _refusal(model_copy)


def test_refuses_metadata_whose_classes_do_not_match_the_model(model_copy: Path) -> None:
    _edit_metadata(
        model_copy,
        class_names=["cat", "dog"],
        example={"instance": [0.0] * 30, "prediction": "cat"},
    )
    assert "does not match its metadata" in _refusal(model_copy)


def test_verify_artifact_returns_the_metadata_without_unpickling(
    trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(joblib, "load", lambda *_: pytest.fail("verify must not unpickle"))
    assert verify_artifact(trained_model).sha256 == file_sha256(trained_model)


def test_predict_gives_labels_that_match_the_most_probable_class(trained_model: Path) -> None:
    model = load_model(trained_model)
    rows = [model.metadata.example.instance, [0.0] * 30]

    prediction = model.predict(rows)

    assert len(prediction.labels) == len(prediction.probabilities) == 2
    for label, probabilities in zip(prediction.labels, prediction.probabilities, strict=True):
        assert sum(probabilities) == pytest.approx(1.0)
        assert label == model.classes[probabilities.index(max(probabilities))]


@pytest.mark.parametrize("extreme", [1e308, -1e308])
def test_predict_names_rows_whose_values_overflow(trained_model: Path, extreme: float) -> None:
    model = load_model(trained_model)
    fine = model.metadata.example.instance

    with pytest.raises(PredictionError) as caught:
        model.predict([fine, [extreme] * 30, fine, [extreme] * 30])

    assert caught.value.rows == [1, 3]
    assert "too far outside the training data" in str(caught.value)


def test_predict_rejects_a_wrong_shape(trained_model: Path) -> None:
    with pytest.raises(PredictionError, match="expected rows of 30 values"):
        load_model(trained_model).predict([[1.0, 2.0]])


def test_the_served_pipeline_scores_through_the_linear_fast_path(trained_model: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    model = load_model(trained_model)
    data = load_breast_cancer().data
    wide = np.random.default_rng(0).normal(scale=data.std(axis=0) * 5, size=(500, 30))
    rows = np.vstack([data, wide]).tolist()

    assert model.linear is not None
    fast = model.predict(rows)
    generic = predict_rows(model.estimator, rows, n_features=30)

    assert fast.probabilities == generic.probabilities  # bit for bit, not approximately
    assert fast.labels == generic.labels
    assert fast.probabilities == model.estimator.predict_proba(np.asarray(rows)).tolist()


def test_other_estimators_take_the_generic_path() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    x, y = load_iris(return_X_y=True)
    probe = x[:2]
    three_classes = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    other_scaler = make_pipeline(MinMaxScaler(), LogisticRegression()).fit(x, y > 0)

    assert LinearScorer.matching(three_classes, probe) is None
    assert LinearScorer.matching(other_scaler, probe) is None
    assert LinearScorer.matching(LogisticRegression().fit(x, y > 0), probe) is None
    prediction = predict_rows(three_classes, x[:5].tolist(), n_features=4)
    assert prediction.probabilities == three_classes.predict_proba(x[:5]).tolist()
