"""The smoke test's judgement of answers, without an engine: the JSON subset rule, configured
expectations, this repository's own contract on answers of other shapes, excerpts and escapes."""

from __future__ import annotations

import json

import pytest

from mlrelease.build import smoke_checks
from mlrelease.build.smoke import request_body
from mlrelease.build.smoke_checks import (
    Answer,
    excerpt,
    last_lines,
    request_problem,
    strip_ansi,
    subset_mismatch,
)
from mlrelease.build.smoke_network import free_port, plan_network
from mlrelease.config.smoke import SmokeConfig, SmokeRequest


def _json(value: object, status: int = 200) -> Answer:
    return Answer(status, "application/json", json.dumps(value).encode())


def _text(text: str, status: int = 200) -> Answer:
    return Answer(status, "text/plain", text.encode())


# The subset rule


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"label": "setosa"}, {"label": "setosa", "score": 0.9}),
        ({"score": "*"}, {"score": None}),
        ({"a": {"b": [1, {"c": "*"}]}}, {"a": {"b": [1, {"c": 0, "d": 2}], "e": 1}, "f": 3}),
        ([1, [2, 3]], [1, [2, 3]]),
        ("*", ["anything"]),
        (1, 1.0),
        (True, True),
        ({}, {"x": 1}),
    ],
)
def test_subsets_that_match(expected: object, actual: object) -> None:
    assert subset_mismatch(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "problem"),
    [
        ({"label": "a"}, {"label": "b"}, '$.label: expected "a", got "b"'),
        ({"score": "*"}, {"label": "a"}, "$.score: missing"),
        ({"a": {"b": 1}}, {"a": [1]}, "$.a: expected an object, got [1]"),
        ({"a": [1, 2]}, {"a": [1, 3]}, "$.a[1]: expected 2, got 3"),
        ([1, 2], [1, 2, 3], "$: expected 2 items, got 3: [1,2,3]"),
        ([{"x": "*"}], [{}], "$[0].x: missing"),
        ({"a": [1]}, {"a": "1"}, '$.a: expected an array, got "1"'),
        (True, 1, "$: expected true, got 1"),
        (1, True, "$: expected 1, got true"),
        ({"a": 1}, None, "$: expected an object, got null"),
    ],
)
def test_subsets_that_do_not_match_say_where(
    expected: object, actual: object, problem: str
) -> None:
    assert subset_mismatch(expected, actual) == problem


# Configured requests


def test_a_wrong_status_quotes_the_body() -> None:
    problem = request_problem(SmokeRequest("GET", "/x"), _text("nope", 404))

    assert problem == 'expected status 200; body "nope"'


def test_an_empty_body_is_said_so() -> None:
    assert request_problem(SmokeRequest("GET", "/x"), _text("", 500)) == (
        "expected status 200; body an empty body"
    )


def test_json_expected_but_text_answered() -> None:
    request = SmokeRequest("GET", "/x", expect_json={"label": "*"})

    problem = request_problem(request, _text("\x1b[1mbold\x1b[0m"))

    assert problem == (
        'expected JSON containing {"label":"*"}, got a non-JSON answer (text/plain): "bold"'
    )


def test_json_subset_failure_names_the_path() -> None:
    request = SmokeRequest("GET", "/x", expect_json={"label": "a"})

    problem = request_problem(request, _json({"label": "b"}))

    assert problem == 'expected JSON containing {"label":"a"}; $.label: expected "a", got "b"'


def test_text_is_searched_not_matched_whole() -> None:
    request = SmokeRequest("GET", "/x", expect_text="^setosa\nvirginica\n$")

    assert request_problem(request, _text("setosa\nvirginica\n")) is None
    assert request_problem(request, _text("setosa\n")) == (
        'expected text matching "^setosa\\nvirginica\\n$", got "setosa\\n"'
    )


def test_an_expected_error_status_passes() -> None:
    request = SmokeRequest("POST", "/predict", status=422, expect_json={"detail": "*"})

    assert request_problem(request, _json({"detail": []}, 422)) is None


@pytest.mark.parametrize(
    ("request_", "sent"),
    [
        (SmokeRequest("POST", "/p", json=[[1, 2]]), (b"[[1, 2]]", "application/json")),
        (SmokeRequest("POST", "/p", json="x"), (b'"x"', "application/json")),
        (SmokeRequest("POST", "/p", body="a,b", content_type="text/csv"), (b"a,b", "text/csv")),
        (SmokeRequest("POST", "/p", body="a"), (b"a", "text/plain; charset=utf-8")),
        (SmokeRequest("GET", "/p"), (None, None)),
    ],
)
def test_request_bodies(request_: SmokeRequest, sent: tuple[bytes | None, str | None]) -> None:
    assert request_body(request_) == sent


# This repository's own contract, on answers of other shapes: a problem, never a crash


@pytest.mark.parametrize(
    "answer",
    [
        _json({"status": "starting"}),
        _json(["ready"]),
        _text("ready"),
        _json({"status": "ready"}, 503),
    ],
)
def test_ready_answers_of_another_shape_are_problems(answer: Answer) -> None:
    assert isinstance(smoke_checks.ready_problem(answer), str)


def test_ready_passes() -> None:
    assert smoke_checks.ready_problem(_json({"status": "ready"})) is None


@pytest.mark.parametrize(
    "answer",
    [
        _json({}),
        _json({"model": "iris"}),
        _json({"model": {"example": [1]}}),
        _json({"model": {"example": {"instance": [1]}}}),
        _json([1, 2]),
        _text("<html>"),
        _json({"model": {}}, 404),
    ],
)
def test_metadata_without_an_example_is_a_problem(answer: Answer) -> None:
    assert isinstance(smoke_checks.model_example(answer), str)


def test_metadata_gives_the_example() -> None:
    answer = _json({"model": {"example": {"instance": [1, 2], "prediction": "a"}}})

    assert smoke_checks.model_example(answer) == ([1, 2], "a")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            _json({"label": "a"}),
            'expected JSON with a non-empty list `predictions`, got {"label":"a"}',
        ),
        (_json({"predictions": []}), "expected JSON with a non-empty list `predictions`"),
        (_json({"predictions": "a"}), "expected JSON with a non-empty list `predictions`"),
        (_json({"predictions": ["b"], "model_sha256": "x"}), 'predictions[0] = "a"'),
        (_json({"predictions": ["a"]}), "expected a string `model_sha256`"),
        (_json(["a"]), "expected a JSON object, got"),
        (_text("a"), 'expected a JSON object, got "a"'),
        (_json({"detail": "bad"}, 422), "expected status 200; body"),
    ],
)
def test_predictions_of_another_shape_are_problems(answer: Answer, problem: str) -> None:
    found = smoke_checks.prediction(answer, "a")

    assert isinstance(found, str) and problem in found


def test_a_matching_prediction_gives_it_and_the_model_sha256() -> None:
    answer = _json({"predictions": ["a"], "model_sha256": "abc"})

    assert smoke_checks.prediction(answer, "a") == ("a", "abc")


# Excerpts and escapes


def test_ansi_sequences_and_control_characters_are_stripped() -> None:
    coloured = "\x1b[32mINFO\x1b[0m \x1b]0;title\x07ready\x1b[2K\r\x00\tdone\n"

    assert strip_ansi(coloured) == "INFO ready\tdone\n"


def test_excerpts_are_one_quoted_line_cut_short() -> None:
    assert excerpt("a\nb") == '"a\\nb"'
    assert excerpt("x" * 200, limit=10) == '"xxxxxxxxxx"…'
    assert excerpt("\x1b[31mred\x1b[0m") == '"red"'


def test_last_log_lines_skip_blanks_and_strip_colours() -> None:
    log = "one\r\n\n\x1b[31mtwo\x1b[0m\nthree\n\n"

    assert last_lines(log, 2) == ["two", "three"]
    assert last_lines("") == []


# Networking


def test_a_bridge_publishes_the_port_on_loopback() -> None:
    plan = plan_network(True, SmokeConfig(port=5000, port_env="APP_PORT"))

    assert plan.mode == "bridge"
    assert plan.environment == {"APP_PORT": "5000"}
    assert plan.run_options == {"ports": {"5000/tcp": ("127.0.0.1", plan.host_port)}}


def test_without_a_bridge_the_service_is_told_a_free_port() -> None:
    plan = plan_network(False, SmokeConfig(port=9000, port_env="APP_PORT"))

    assert plan.mode == "host"
    assert plan.run_options == {"network_mode": "host"}
    assert plan.environment["APP_PORT"] == str(plan.host_port)
    assert "host" in plan.detail


def test_without_a_bridge_a_fixed_port_is_used_as_it_is() -> None:
    port = free_port()

    plan = plan_network(False, SmokeConfig(port=port, port_env=""))

    assert plan.host_port == port and plan.environment == {}
