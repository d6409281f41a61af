"""The trained model's metadata (`model.json` beside `model.joblib`), read and checked.

`python -m service.train` writes it; a build reads the checksum and scikit-learn version from
it for the image's labels. A file that is missing, not UTF-8, not JSON or not an object is a
missing or broken artifact (exit 3), never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlrelease.errors import PreconditionError

_RETRAIN = "retrain with `python -m service.train`"
# Fields the labels are made from: when present, they must be strings.
_TEXT_FIELDS = ("sha256", "sklearn_version")
MAX_BYTES = 10_000_000  # metadata is a few kilobytes; anything this large is not metadata


def read_model_metadata(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; PreconditionError naming what is wrong with it otherwise."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise _broken(path, f"is over {MAX_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PreconditionError(
            f"no model metadata at {path}", hint=f"{_RETRAIN}, or set `model_path`"
        ) from None
    except IsADirectoryError:
        raise _broken(path, "is a directory") from None
    except OSError as err:
        raise _broken(path, f"cannot be read ({err.strerror})") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise _broken(path, f"is not UTF-8 text (byte {err.start})") from None
    except RecursionError:
        raise _broken(path, "nests too deeply") from None
    except ValueError as err:
        raise _broken(path, f"is not valid JSON ({err})") from None
    if not isinstance(document, dict):
        raise _broken(path, f"holds {_json_type(document)}, not a JSON object")
    for field in _TEXT_FIELDS:
        if field in document and not isinstance(document[field], str):
            raise _broken(path, f"has a {field} that is {_json_type(document[field])}")
    return document


def _broken(path: Path, what: str) -> PreconditionError:
    return PreconditionError(f"the model metadata {path} {what}", hint=_RETRAIN)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "an array" if isinstance(value, list) else "an object")
