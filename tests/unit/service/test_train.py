"""Training: deterministic, honest metadata, a usable example, a CLI that says what it did."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sklearn
from sklearn.datasets import load_breast_cancer

from service.model import load_model, metadata_path_for
from service.schemas import ModelMetadata
from service.settings import DEFAULT_MODEL_PATH
from service.train import main, train


def test_two_trainings_give_identical_models_and_predictions(
    trained_model: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.joblib"
    train(again)

    assert again.read_bytes() == trained_model.read_bytes()
    rows = load_breast_cancer().data
    first, second = load_model(trained_model).predict(rows), load_model(again).predict(rows)
    assert first.labels == second.labels
    assert first.probabilities == second.probabilities


def test_another_seed_gives_another_split(trained_model: Path, tmp_path: Path) -> None:
    other = train(tmp_path / "other.joblib", seed=7)
    assert other.seed == 7
    assert (tmp_path / "other.joblib").read_bytes() != trained_model.read_bytes()


def test_metadata_describes_the_file_and_the_holdout(
    trained_model: Path, metadata: ModelMetadata
) -> None:
    assert metadata.sha256 == hashlib.sha256(trained_model.read_bytes()).hexdigest()
    assert metadata.sklearn_version == sklearn.__version__
    data = load_breast_cancer()
    assert metadata.feature_names == list(data.feature_names)
    assert sorted(metadata.class_names) == sorted(data.target_names)
    assert metadata.dataset == "sklearn.datasets.load_breast_cancer"
    assert metadata.estimator == "StandardScaler+LogisticRegression"
    # 20% held out of 569 rows, stratified
    assert (metadata.n_train, metadata.n_test) == (455, 114)
    assert metadata.metrics["accuracy"] > 0.93
    assert 0 < metadata.metrics["log_loss"] < 0.3
    assert metadata.training_seconds >= 0
    assert datetime.now(UTC) - metadata.trained_at < timedelta(hours=1)


def test_metadata_file_is_plain_json_with_the_documented_fields(trained_model: Path) -> None:
    document = json.loads(metadata_path_for(trained_model).read_text())
    expected = {
        "sha256", "sklearn_version", "feature_names", "class_names", "metrics", "trained_at",
        "training_seconds", "n_train", "n_test", "dataset", "example",
    }  # fmt: skip
    assert expected <= set(document)
    assert set(document["example"]) == {"instance", "prediction"}
    assert document["trained_at"].endswith("Z")


def test_example_is_a_holdout_row_the_loaded_model_agrees_with(
    trained_model: Path, metadata: ModelMetadata
) -> None:
    data = load_breast_cancer()
    assert metadata.example.instance in data.data.tolist()
    prediction = load_model(trained_model).predict([metadata.example.instance])
    assert prediction.labels == [metadata.example.prediction]


def test_default_output_is_the_default_model_path() -> None:
    assert DEFAULT_MODEL_PATH.is_absolute()
    assert DEFAULT_MODEL_PATH.parts[-3:] == ("service", "model", "model.joblib")


def test_cli_writes_model_and_metadata_and_summarises_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "nested" / "dir" / "m.joblib"

    code = main(["--output", str(output)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert output.is_file()
    assert (tmp_path / "nested" / "dir" / "m.json").is_file()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "holdout accuracy 0.9" in captured.err
    assert str(output) in captured.err
    assert not [p for p in output.parent.iterdir() if p.name.endswith(".tmp")]


def test_cli_reports_an_unwritable_output_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    code = main(["--output", str(blocker / "model.joblib")])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: cannot write")
    assert captured.err.count("\n") == 1
