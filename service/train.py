"""Train the service's model and write it with its metadata.

    python -m service.train [--output PATH] [--seed N]

Trains StandardScaler + LogisticRegression on scikit-learn's bundled breast-cancer data
(no download), scores a stratified 20% holdout, and writes the joblib model plus a metadata
JSON beside it (same stem, `.json`). The same seed gives the same model, byte for byte.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.model import file_sha256, metadata_path_for, predict_rows
from service.schemas import Example, ModelMetadata
from service.settings import DEFAULT_MODEL_PATH

DEFAULT_SEED = 42
TEST_SIZE = 0.2
DATASET = "sklearn.datasets.load_breast_cancer"


def build_pipeline(seed: int) -> Any:
    """The estimator the service serves: scaling, then a multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(max_iter=1000, random_state=seed)),
        ]
    )


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    # A crash mid-write must not leave a half file that a later start would try to load.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def train(output: Path = DEFAULT_MODEL_PATH, seed: int = DEFAULT_SEED) -> ModelMetadata:
    """Train, evaluate on the holdout, write `output` and its metadata; return the metadata."""
    import joblib
    import sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, log_loss
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    # String labels make the model self-describing: its classes_ are the class names.
    labels = data.target_names[data.target]
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, labels, test_size=TEST_SIZE, stratify=labels, random_state=seed
    )
    pipeline = build_pipeline(seed)
    started = time.perf_counter()
    pipeline.fit(x_train, y_train)
    training_seconds = time.perf_counter() - started

    feature_names = [str(name) for name in data.feature_names]
    holdout = predict_rows(pipeline, x_test, n_features=len(feature_names))
    class_names = [str(label) for label in pipeline.classes_]
    metrics = {
        "accuracy": float(accuracy_score(y_test, holdout.labels)),
        "f1_macro": float(f1_score(y_test, holdout.labels, average="macro")),
        "log_loss": float(log_loss(y_test, holdout.probabilities, labels=class_names)),
    }

    output.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(output, lambda tmp: joblib.dump(pipeline, tmp))
    metadata = ModelMetadata(
        sha256=file_sha256(output),
        sklearn_version=sklearn.__version__,
        python_version=platform.python_version(),
        dataset=DATASET,
        estimator="+".join(type(step).__name__ for _, step in pipeline.steps),
        feature_names=feature_names,
        class_names=class_names,
        metrics=metrics,
        trained_at=datetime.now(UTC).replace(microsecond=0),
        training_seconds=round(training_seconds, 4),
        seed=seed,
        n_train=len(y_train),
        n_test=len(y_test),
        example=Example(instance=x_test[0].tolist(), prediction=holdout.labels[0]),
    )
    _write_atomically(
        metadata_path_for(output),
        lambda tmp: tmp.write_text(metadata.model_dump_json(indent=2) + "\n", encoding="utf-8"),
    )
    return metadata


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: train, then print a one-line summary to stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m service.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_MODEL_PATH,
        help="model file to write; metadata goes beside it as .json "
        f"(default: {DEFAULT_MODEL_PATH})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        metadata = train(args.output, seed=args.seed)
    except OSError as err:
        print(f"error: cannot write {err.filename or args.output}: {err.strerror}", file=sys.stderr)
        return 1
    print(
        f"trained {metadata.estimator} on {metadata.n_train} rows "
        f"in {metadata.training_seconds:.2f}s: "
        f"holdout accuracy {metadata.metrics['accuracy']:.3f} on {metadata.n_test} rows; "
        f"wrote {args.output} (sha256 {metadata.sha256[:12]})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
