"""Loading, verifying and scoring the trained model.

`verify_artifact` checks everything that can be checked without unpickling (file present,
metadata valid, checksum, scikit-learn version); `load_model` does that, then unpickles and
checks the estimator against its metadata. Failures raise `ModelLoadError` with a one-line
message that says what to do. scikit-learn and joblib are imported only when needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from service.schemas import ModelMetadata

TRAIN_COMMAND = "python -m service.train"


class ModelLoadError(Exception):
    """Raised when the model file or its metadata cannot be served; the message is one line."""


class PredictionError(ValueError):
    """Raised when rows cannot be scored; `rows` lists the offending row indices."""

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)


@dataclass(frozen=True)
class Prediction:
    """Labels and class probabilities for a batch, in row order."""

    labels: list[str]
    probabilities: list[list[float]]


def metadata_path_for(model_path: Path) -> Path:
    """The metadata JSON that belongs to a model file: same stem, `.json`."""
    return model_path.with_suffix(".json")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so a large model does not sit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def verify_artifact(model_path: Path) -> ModelMetadata:
    """Check the model file against its metadata without unpickling it; return the metadata.

    The checksum guards against a changed or truncated file, not against an attacker who
    can rewrite both files: only load models from a trusted place.
    """
    if not model_path.exists():
        raise ModelLoadError(f"model file {model_path} not found; train it with {TRAIN_COMMAND}")
    if not model_path.is_file():
        raise ModelLoadError(f"model file {model_path} is not a file; point MODEL_PATH at one")
    meta_path = metadata_path_for(model_path)
    if not meta_path.is_file():
        raise ModelLoadError(
            f"metadata file {meta_path} not found; retrain with {TRAIN_COMMAND} to write it"
        )
    try:
        metadata = ModelMetadata.model_validate_json(meta_path.read_bytes())
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ModelLoadError(
            f"metadata file {meta_path} is invalid: {where}: {_one_line(first['msg'])}{more}; "
            f"retrain with {TRAIN_COMMAND}"
        ) from err
    except OSError as err:
        raise ModelLoadError(f"metadata file {meta_path} cannot be read: {err.strerror}") from err

    try:
        actual = file_sha256(model_path)
    except OSError as err:
        raise ModelLoadError(f"model file {model_path} cannot be read: {err.strerror}") from err
    if actual != metadata.sha256:
        raise ModelLoadError(
            f"model file {model_path} has sha256 {actual}, its metadata says {metadata.sha256}; "
            f"the file changed after training: restore it or retrain with {TRAIN_COMMAND}"
        )

    import sklearn  # here, not at import: settings and --help stay fast

    if metadata.sklearn_version != sklearn.__version__:
        raise ModelLoadError(
            f"model file {model_path} was trained with scikit-learn {metadata.sklearn_version} "
            f"but this service runs {sklearn.__version__}; retrain with {TRAIN_COMMAND} "
            f"or install scikit-learn=={metadata.sklearn_version}"
        )
    return metadata


@dataclass(frozen=True)
class LinearScorer:
    """`predict_proba` of a fitted StandardScaler + binary LogisticRegression, in plain numpy.

    The same operations in the same order as scikit-learn's, so the same probabilities, minus
    its per-call input checks: those cost about 0.1 ms a call, most of what scoring one row
    takes. `predict_rows` checks shape and finiteness itself.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef_t: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    @classmethod
    def matching(cls, estimator: Any, probe: np.ndarray) -> LinearScorer | None:
        """The scorer for `estimator` if it is such a pipeline and agrees exactly on `probe`."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        steps = [step for _, step in getattr(estimator, "steps", [])]
        if [type(step) for step in steps] != [StandardScaler, LogisticRegression]:
            return None
        scaler, classifier = steps
        if scaler.scale_ is None or not scaler.with_mean or len(classifier.classes_) != 2:
            return None
        scorer = cls(
            scaler.mean_,
            scaler.scale_,
            classifier.coef_.T,
            classifier.intercept_,
            classifier.classes_,
        )
        expected = estimator.predict_proba(probe)
        return (
            scorer
            if np.array_equal(scorer.predict_proba(scorer.transform(probe)), expected)
            else None
        )

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """Centre and scale, as `StandardScaler.transform`."""
        scaled = matrix - self.mean
        scaled /= self.scale
        return scaled

    def predict_proba(self, scaled: np.ndarray) -> np.ndarray:
        """Class probabilities, as `LogisticRegression.predict_proba` for two classes."""
        from scipy.special import expit

        positive = expit((scaled @ self.coef_t + self.intercept).reshape(-1))
        return np.stack([1 - positive, positive], axis=1)


@dataclass(frozen=True)
class LoadedModel:
    """A verified estimator with its metadata; safe to share between request threads."""

    estimator: Any
    metadata: ModelMetadata
    path: Path
    linear: LinearScorer | None = None  # the fast path, when the estimator has one

    @property
    def sha256(self) -> str:
        """Checksum of the model file, verified at load time."""
        return self.metadata.sha256

    @property
    def n_features(self) -> int:
        """How many values each row must have."""
        return len(self.metadata.feature_names)

    @property
    def classes(self) -> list[str]:
        """Class labels, in the order of the probability columns."""
        return list(self.metadata.class_names)

    def predict(self, rows: Sequence[Sequence[float]]) -> Prediction:
        """Score rows of finite floats, each with `n_features` values."""
        return predict_rows(self.estimator, rows, n_features=self.n_features, linear=self.linear)


def predict_rows(
    estimator: Any,
    rows: Sequence[Sequence[float]],
    *,
    n_features: int,
    linear: LinearScorer | None = None,
) -> Prediction:
    """Score a batch; the label of a row is its most probable class, so the two always agree.

    `linear`, when given, stands in for `estimator`. Raises `PredictionError` for a wrong
    shape, or naming the rows whose values are so far outside the training data that an
    intermediate result or a probability overflows.
    """
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != n_features:
        raise PredictionError(f"expected rows of {n_features} values, got shape {matrix.shape}")
    if linear is not None:
        transforms, final, classes = [linear.transform], linear, linear.classes
    else:
        # Step through a pipeline by hand: finite input such as 1e308 can overflow in the
        # scaler, and the final step would then reject the whole batch without saying which row.
        steps = [
            step for _, step in getattr(estimator, "steps", []) if step not in (None, "passthrough")
        ]
        final = steps.pop() if steps else estimator
        transforms, classes = [step.transform for step in steps], final.classes_
    with np.errstate(all="ignore"):  # overflow is detected per row below, not warned about
        try:
            for transform in transforms:
                matrix = transform(matrix)
                _raise_for_non_finite(matrix)
            probabilities = final.predict_proba(matrix)
        except PredictionError:
            raise
        except ValueError as err:
            raise PredictionError(f"the model cannot score these values: {_one_line(err)}") from err
    _raise_for_non_finite(probabilities)
    labels = np.asarray(classes)[np.argmax(probabilities, axis=1)]
    return Prediction(labels=[str(label) for label in labels], probabilities=probabilities.tolist())


def _raise_for_non_finite(matrix: np.ndarray) -> None:
    finite = np.isfinite(matrix)
    if finite.all():  # the usual case, a few microseconds cheaper than finding the rows
        return
    bad = np.flatnonzero(~finite.all(axis=1))
    raise PredictionError("values too far outside the training data to score", rows=bad.tolist())


def load_model(model_path: Path) -> LoadedModel:
    """Verify, unpickle and check a model file against its metadata; raise `ModelLoadError`."""
    metadata = verify_artifact(model_path)
    import joblib

    try:
        estimator = joblib.load(model_path)
    except Exception as err:  # unpickling can fail in many ways; all mean "unusable file"
        raise ModelLoadError(
            f"model file {model_path} could not be unpickled: {type(err).__name__}: "
            f"{_one_line(err)}; retrain with {TRAIN_COMMAND}"
        ) from err

    if not hasattr(estimator, "predict_proba"):
        raise ModelLoadError(
            f"model file {model_path} holds a {type(estimator).__name__}, "
            "which has no predict_proba"
        )
    classes = [str(label) for label in getattr(estimator, "classes_", [])]
    n_features = getattr(estimator, "n_features_in_", None)
    if classes != metadata.class_names or n_features != len(metadata.feature_names):
        raise ModelLoadError(
            f"model file {model_path} does not match its metadata (classes {classes}, "
            f"{n_features} features); retrain with {TRAIN_COMMAND}"
        )
    probe = np.array([metadata.example.instance, [0.0] * len(metadata.feature_names)])
    linear = LinearScorer.matching(estimator, probe)
    return LoadedModel(estimator=estimator, metadata=metadata, path=model_path, linear=linear)
