"""Every kind of bad /predict input is a 422 in FastAPI's shape, with a message that helps."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

ROW = "[" + ", ".join(["1.0"] * 30) + "]"


def _reject_constant(name: str) -> None:
    raise AssertionError(f"response JSON contains {name}")


def assert_422(response: httpx.Response, *fragments: str) -> list[dict[str, Any]]:
    """A 422 whose body is strict JSON `{"detail": [{type, loc, msg}, ...]}` naming the fault."""
    assert response.status_code == 422, response.text
    body = json.loads(response.text, parse_constant=_reject_constant)
    assert set(body) == {"detail"}
    detail = body["detail"]
    assert detail, body
    for error in detail:
        assert {"type", "loc", "msg"} <= set(error), error
        assert error["loc"][0] == "body"
    messages = " | ".join(error["msg"] for error in detail)
    for fragment in fragments:
        assert fragment in messages, messages
    return detail


def post_raw(client: TestClient, body: str, content_type: str | None = "application/json") -> Any:
    headers = {"content-type": content_type} if content_type else {}
    return client.post("/predict", content=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"instances": [[1, 2', "request body is not valid JSON: Expecting"),
        ("[1, 2, 3]", "request body must be a JSON object"),
        ('"instances"', "request body must be a JSON object"),
        ("", "request body must be a JSON object"),
    ],
)
def test_body_that_is_not_a_json_object(client: TestClient, body: str, fragment: str) -> None:
    assert_422(post_raw(client, body), fragment)


def test_json_without_json_content_type_says_which_header(client: TestClient) -> None:
    assert_422(
        post_raw(client, '{"instance": ' + ROW + "}", None), "Content-Type: application/json"
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"instance": None}, {"instance": [0.0] * 30, "instances": [[0.0] * 30]}],
)
def test_exactly_one_of_instance_or_instances(client: TestClient, body: dict[str, Any]) -> None:
    assert_422(client.post("/predict", json=body), "send exactly one of instance")


def test_unknown_field_is_named(client: TestClient) -> None:
    assert_422(client.post("/predict", json={"rows": [[0.0] * 30]}), "rows is not a known field")


def test_flat_list_as_instances(client: TestClient) -> None:
    detail = assert_422(
        client.post("/predict", json={"instances": [0.0] * 30}),
        "instances must be a list of rows",
    )
    assert len(detail) == 1  # one clear error, not one per value


def test_batch_as_instance(client: TestClient) -> None:
    assert_422(client.post("/predict", json={"instance": [[0.0] * 30]}), "instance must be one row")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"instances": "abc"}, "instances must be a list, not a string"),
        ({"instance": 5}, "instance must be a list, not a number"),
        ({"instances": [[0.0] * 30, 7]}, "instances[1] must be a list"),
    ],
)
def test_wrong_container_types(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    assert_422(client.post("/predict", json=body), fragment)


def test_wrong_number_of_features_in_a_batch(client: TestClient, n_features: int) -> None:
    rows = [[0.0] * n_features] * 5
    rows[3] = [0.0] * 12
    detail = assert_422(
        client.post("/predict", json={"instances": rows}),
        f"instances[3] has 12 values; the model expects {n_features}",
    )
    assert [error["loc"] for error in detail] == [["body", "instances", 3]]


def test_every_short_row_is_reported(client: TestClient, n_features: int) -> None:
    rows = [[0.0] * n_features, [0.0] * 2, [0.0] * (n_features + 1)]
    assert_422(
        client.post("/predict", json={"instances": rows}),
        "instances[1] has 2 values",
        f"instances[2] has {n_features + 1} values",
    )


@pytest.mark.parametrize("length", [0, 29, 31])
def test_wrong_number_of_features_in_one_row(client: TestClient, length: int) -> None:
    assert_422(
        client.post("/predict", json={"instance": [0.0] * length}),
        f"instance has {length} values; the model expects 30",
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('"abc"', "instances[0][2] must be a number, not a string"),
        ('"1.5"', "instances[0][2] must be a number, not a string"),
        ("true", "instances[0][2] must be a number, not a boolean"),
        ("null", "instances[0][2] must be a number, not null"),
        ("{}", "instances[0][2] must be a number, not an object"),
        ("1" + "0" * 400, "instances[0][2] is an integer too large for a 64-bit float"),
    ],
)
def test_non_numbers_are_named(client: TestClient, value: str, fragment: str) -> None:
    row = ["0"] * 30
    row[2] = value
    assert_422(post_raw(client, '{"instances": [[' + ", ".join(row) + "]]}"), fragment)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_422_not_500(client: TestClient, literal: str) -> None:
    # Python's json module accepts these literals and turns 1e400 into inf.
    row = ["0"] * 30
    row[5] = literal
    detail = assert_422(
        post_raw(client, '{"instance": [' + ", ".join(row) + "]}"),
        "instance[5] is not a finite number",
    )
    assert "input" not in detail[0]  # echoing NaN back would break the JSON response


def test_values_that_overflow_the_model_are_422(client: TestClient, n_features: int) -> None:
    fine = [0.0] * n_features
    assert_422(
        client.post("/predict", json={"instances": [fine, [1e308] * n_features]}),
        "instances[1] has values too far outside the training data",
    )


def test_empty_batch(client: TestClient) -> None:
    assert_422(client.post("/predict", json={"instances": []}), "instances is empty")


def test_batch_over_the_default_limit(client: TestClient, n_features: int) -> None:
    body = {"instances": [[0.0] * n_features] * 1001}
    assert_422(client.post("/predict", json=body), "instances has 1001 rows; the limit is 1000")


def test_many_errors_are_capped(client: TestClient) -> None:
    body = {"instances": [["x"] * 30] * 10}
    detail = assert_422(client.post("/predict", json=body), "must be a number, not a string")
    assert len(detail) == 21
    assert detail[-1]["msg"] == "280 more errors"


def test_unsafe_inputs_are_not_echoed_but_safe_ones_are(client: TestClient) -> None:
    row: list[Any] = [0.0] * 30
    row[0] = "abc"
    [error] = assert_422(client.post("/predict", json={"instance": row}))
    assert error["input"] == "abc"
    assert error["loc"] == ["body", "instance", 0]
