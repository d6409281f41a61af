"""What the smoke test makes of an answer, with no engine and no network: the JSON subset rule,
the configured expectations, this repository's own service contract, and the short excerpts
that failures quote.

Each check returns what is wrong as a phrase ("expected status 200"), or None when the answer is
as expected; `smoke.py` turns a phrase into the one-line SmokeTestError that names the URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlrelease.config.smoke import SmokeRequest

PRESENT = "*"  # in expect_json: the key must be there, whatever its value
EXCERPT_LIMIT = 120  # characters of an answer quoted in an error

# CSI sequences (colours, cursor moves), OSC sequences (titles, links), and lone escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the smoke test received it."""

    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.body)


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs and newlines
    kept; a carriage return would overwrite the line), so that a coloured log reads as plain
    text in an error or a CI log."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """A short, one-line, quoted excerpt of `text`: escapes stripped, newlines shown as \\n."""
    clean = strip_ansi(text)
    cut = clean[:limit]
    quoted = json.dumps(cut, ensure_ascii=False)
    return quoted + ("…" if len(clean) > limit else "")


def shown(value: Any, limit: int = EXCERPT_LIMIT) -> str:
    """A JSON value as compact JSON, cut to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return strip_ansi(text[:limit]) + ("…" if len(text) > limit else "")


def last_lines(log: str, count: int = 5) -> list[str]:
    """The last `count` non-blank lines of a container log, escapes stripped."""
    lines = [line.rstrip() for line in strip_ansi(log.replace("\r\n", "\n")).split("\n")]
    return [line for line in lines if line.strip()][-count:]


def subset_mismatch(expected: Any, actual: Any, where: str = "$") -> str | None:
    """Where `actual` fails to contain `expected`, or None. Dicts: every expected key present and
    matching (others are ignored); lists: the same length, item by item; "*": the key is present;
    other values: equal (true is not 1)."""
    if isinstance(expected, str) and expected == PRESENT:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {shown(actual)}"
        for key, value in expected.items():
            path = f"{where}.{key}"
            if key not in actual:
                return f"{path}: missing"
            problem = subset_mismatch(value, actual[key], path)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected an array, got {shown(actual)}"
        if len(actual) != len(expected):
            return f"{where}: expected {len(expected)} items, got {len(actual)}: {shown(actual)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problem = subset_mismatch(want, got, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(expected) is type(actual) and expected == actual
    else:
        same = expected == actual
    return None if same else f"{where}: expected {shown(expected)}, got {shown(actual)}"


def request_problem(request: SmokeRequest, answer: Answer) -> str | None:
    """What is wrong with `answer` to the configured `request`, or None."""
    if answer.status != request.status:
        return f"expected status {request.status}; body {_body_excerpt(answer)}"
    if request.expect_json is not None:
        try:
            value = answer.json()
        except ValueError:
            return (
                f"expected JSON containing {shown(request.expect_json)}, got a non-JSON answer "
                f"({answer.content_type or 'no content type'}): {excerpt(answer.text)}"
            )
        problem = subset_mismatch(request.expect_json, value)
        if problem:
            return f"expected JSON containing {shown(request.expect_json)}; {problem}"
    if request.expect_text is not None and not re.search(request.expect_text, answer.text):
        return f"expected text matching {excerpt(request.expect_text)}, got {excerpt(answer.text)}"
    return None


def _body_excerpt(answer: Answer) -> str:
    return excerpt(answer.text) if answer.body else "an empty body"


# This repository's own service: GET /ready, GET /metadata, POST /predict.


def _json_object(answer: Answer) -> tuple[dict[str, Any] | None, str | None]:
    try:
        value = answer.json()
    except ValueError:
        return None, f"expected a JSON object, got {excerpt(answer.text)}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {shown(value)}"
    return value, None


def ready_problem(answer: Answer) -> str | None:
    """GET /ready must answer 200 with `{"status": "ready"}`."""
    if answer.status != 200:
        return f"expected status 200; body {_body_excerpt(answer)}"
    value, problem = _json_object(answer)
    if value is None:
        return problem
    if value.get("status") != "ready":
        return f'expected {{"status":"ready"}}, got {shown(value)}'
    return None


def model_example(answer: Answer) -> tuple[Any, Any] | str:
    """The model's example from GET /metadata: (instance, prediction), or what is wrong."""
    if answer.status != 200:
        return f"expected status 200; body {_body_excerpt(answer)}"
    value, problem = _json_object(answer)
    if value is None:
        return problem or "expected a JSON object"
    model = value.get("model")
    example = model.get("example") if isinstance(model, dict) else None
    if not isinstance(example, dict) or not {"instance", "prediction"} <= example.keys():
        return f"expected model.example with instance and prediction, got {shown(value)}"
    return example["instance"], example["prediction"]


def prediction(answer: Answer, expected: Any) -> tuple[Any, str] | str:
    """POST /predict's answer for the example: (the prediction, model_sha256), or what is
    wrong. `predictions[0]` must equal the example's prediction."""
    if answer.status != 200:
        return f"expected status 200; body {_body_excerpt(answer)}"
    value, problem = _json_object(answer)
    if value is None:
        return problem or "expected a JSON object"
    predictions = value.get("predictions")
    if not isinstance(predictions, list) or not predictions:
        return f"expected JSON with a non-empty list `predictions`, got {shown(value)}"
    if predictions[0] != expected:
        return (
            f"expected predictions[0] = {shown(expected)} (the model's example), "
            f"got {shown(predictions[0])}"
        )
    sha256 = value.get("model_sha256")
    if not isinstance(sha256, str):
        return f"expected a string `model_sha256`, got {shown(value)}"
    return predictions[0], sha256
