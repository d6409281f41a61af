"""The model files a build ships: which ones, their checksums, and their optional metadata.

A project names its model with `model_path` (one file) or `model_paths` (several). With neither
configured, the default `service/model/model.joblib` counts only when it exists or the
Dockerfile copies it from the context; otherwise the image brings or makes its own model (it
trains during the build, or downloads it) and there is nothing to check. `model_path = ""`
says so explicitly.

Each file may have metadata beside it, `<name>.json` (`model.json` for `model.joblib`), as
`python -m service.train` writes: when present, its `sha256` must match the file and its
`sklearn_version` goes into the labels. Without it, the checksum is computed here. A metadata
file that is not UTF-8 JSON holding an object is a broken artifact (exit 3), never a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.build.dockerfile import Dockerfile, copies_path
from mlrelease.errors import PreconditionError
from mlrelease.results.build import ModelFile, ModelReport

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

# Fields the labels are made from: when present, they must be strings.
_TEXT_FIELDS = ("sha256", "sklearn_version")
MAX_BYTES = 10_000_000  # metadata is a few kilobytes; anything this large is not metadata
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """The model files a project configures, relative to its root, and where that came from."""

    paths: tuple[str, ...]
    source: str  # e.g. `pyproject.toml [tool.mlrelease] model_paths`, or `default`


def model_spec(settings: Settings, dockerfile: Dockerfile | None) -> ModelSpec | None:
    """The model files this build must check, or None when the image brings its own."""
    if settings.model_paths:
        return ModelSpec(settings.model_paths, settings.source("model_paths"))
    if settings.model_path == "":
        return None
    spec = ModelSpec((settings.model_path,), settings.source("model_path"))
    if "model_path" not in settings.defaulted or settings.path("model_path").exists():
        return spec
    # The default path, absent: a model only if the Dockerfile expects it from the context.
    inside = os.path.relpath(settings.path("model_path"), settings.path("context"))
    if dockerfile is None or inside.startswith(".."):
        return None
    return spec if copies_path(dockerfile, Path(inside).as_posix()) else None


def check_model(settings: Settings, spec: ModelSpec) -> ModelReport:
    """Every file of `spec` present, its checksum computed (and checked against its metadata
    when there is one); PreconditionError naming the file that is missing or wrong."""
    train = f"`{settings.train_command}`"
    files = []
    versions = set()
    metric: str | None = None
    for relative in spec.paths:
        path = settings.root / relative
        if not path.is_file():
            what = "is a directory, not a model file" if path.is_dir() else "does not exist"
            raise PreconditionError(
                f"the model file {relative} {what} (from {spec.source})",
                hint=f"train it with {train} (`train_command`), or set `model_path`/"
                '`model_paths` to the files the image needs (`model_path = ""`: none)',
            )
        digest = file_sha256(path)
        metadata_path = path.with_suffix(".json")
        metadata: dict[str, Any] = {}
        if metadata_path != path and metadata_path.is_file():
            metadata = read_model_metadata(metadata_path, train)
            recorded = metadata.get("sha256")
            if recorded is not None and recorded != digest:
                raise PreconditionError(
                    f"the model file {relative} has sha256 {digest[:12]}, but "
                    f"{metadata_path.name} records {recorded[:12]}: the file changed after "
                    "training",
                    hint=f"retrain with {train}, or restore the file {metadata_path.name} "
                    "describes",
                )
        if version := metadata.get("sklearn_version"):
            versions.add(version)
        metric = metric or headline_metric(metadata.get("metrics"))
        files.append(
            ModelFile(
                path=Path(relative).as_posix(),
                sha256=digest,
                size_bytes=path.stat().st_size,
                metadata=metadata_path.name if metadata else None,
            )
        )
    # One scikit-learn version is a fact about the model; several disagree, and none is known.
    sklearn = versions.pop() if len(versions) == 1 else None
    return ModelReport(files=tuple(files), sklearn_version=sklearn, metric=metric)


def headline_metric(metrics: object) -> str | None:
    """`accuracy=0.9649`: the first numeric metric a model's metadata records, for the label
    that `releases` shows; None without one."""
    if not isinstance(metrics, dict):
        return None
    for name, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{name}={value:.4g}"
    return None


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file at `path`, read in chunks (models can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_model_metadata(path: Path, train: str = "`python -m service.train`") -> dict[str, Any]:
    """The JSON object in `path`; PreconditionError naming what is wrong with it otherwise.
    `train` is the command the hint offers to rewrite it."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise _broken(path, f"is over {MAX_BYTES // 1_000_000} MB", train)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PreconditionError(
            f"no model metadata at {path}", hint=f"retrain with {train}, or set `model_path`"
        ) from None
    except IsADirectoryError:
        raise _broken(path, "is a directory", train) from None
    except OSError as err:
        raise _broken(path, f"cannot be read ({err.strerror})", train) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise _broken(path, f"is not UTF-8 text (byte {err.start})", train) from None
    except RecursionError:
        raise _broken(path, "nests too deeply", train) from None
    except ValueError as err:
        raise _broken(path, f"is not valid JSON ({err})", train) from None
    if not isinstance(document, dict):
        raise _broken(path, f"holds {_json_type(document)}, not a JSON object", train)
    for field in _TEXT_FIELDS:
        if field in document and not isinstance(document[field], str):
            raise _broken(path, f"has a {field} that is {_json_type(document[field])}", train)
    return document


def _broken(path: Path, what: str, train: str) -> PreconditionError:
    return PreconditionError(
        f"the model metadata {path} {what}",
        hint=f"retrain with {train}, which rewrites it (or delete it: it is optional)",
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "an array" if isinstance(value, list) else "an object")
