"""The smoke test's settings, `[tool.mlrelease.smoke]`: where the service listens, how to tell it
is up, and the requests it must answer.

```toml
[tool.mlrelease.smoke]
port = 5000          # the port the service listens on in the container (default 8080)
port_env = ""        # the variable set to that port (default PORT; "" sets none)
health = ""          # polled with GET until 2xx (default /health; "" = none)
timeout_s = 60

[[tool.mlrelease.smoke.requests]]
method = "POST"
path = "/predict"
json = [[5.1, 3.5, 1.4, 0.2]]     # any JSON value; or body = "..." with content_type
status = 200
expect_text = '^setosa'           # or expect_json = {label = "*"}: a subset, "*" = present
```
Without `requests`, the contract of this repository's own service is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlrelease.config.values import toml_type

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REQUEST_KEYS = (
    "method",
    "path",
    "json",
    "body",
    "content_type",
    "status",
    "expect_json",
    "expect_text",
)
MAX_REQUESTS = 50
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


@dataclass(frozen=True)
class SmokeRequest:
    """One request of the smoke test and what its answer must be."""

    method: str
    path: str  # starts with "/", may carry a query
    json: Any = None  # the JSON body (any value TOML can write), or None
    body: str | None = None  # a raw body, with `content_type`
    content_type: str | None = None
    status: int = 200
    expect_json: Any = None  # a subset the JSON answer must contain; "*" means present
    expect_text: str | None = None  # a regular expression the body must match (re.search)

    def describe(self) -> str:
        """`POST /predict`, as errors name a request."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class SmokeConfig:
    """What `smoke` runs: the port in the container, the variable that tells the service
    that port, the health path, the time it may take to come up, and the requests (None:
    this repository's own service contract)."""

    port: int = 8080
    port_env: str = "PORT"
    health: str = "/health"
    timeout_s: float = 60.0
    requests: tuple[SmokeRequest, ...] | None = None


def port_number(value: object) -> int:
    """A TCP port, 1 to 65535, from TOML or a string of digits."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError("expected a port number from 1 to 65535")
    return value


def env_name(value: object) -> str:
    """An environment variable's name, or "" for none."""
    if not isinstance(value, str):
        raise ValueError(f"expected a variable name, got {toml_type(value)}")
    if value and not _ENV_NAME.fullmatch(value):
        raise ValueError('expected a variable name such as PORT, or "" for none')
    return value


def url_path(value: object) -> str:
    """A path on the service (`/health`, `/v1/ready?deep=1`), or "" for none."""
    if not isinstance(value, str):
        raise ValueError(f"expected a path string, got {toml_type(value)}")
    if value and (not value.startswith("/") or not value.isprintable() or " " in value):
        raise ValueError('expected a path starting with "/" and without spaces, or ""')
    return value


def smoke_requests(value: object) -> tuple[SmokeRequest, ...]:
    """`[[tool.mlrelease.smoke.requests]]`: an array of tables, each checked key by key."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("expected an array of tables ([[tool.mlrelease.smoke.requests]])")
    if not value:
        raise ValueError("expected at least one request (leave the key out for the default)")
    if len(value) > MAX_REQUESTS:
        raise ValueError(f"expected at most {MAX_REQUESTS} requests")
    return tuple(_request(number, item) for number, item in enumerate(value, start=1))


def _request(number: int, table: dict[str, Any]) -> SmokeRequest:
    where = f"request {number}"
    unknown = sorted(set(table) - set(REQUEST_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(REQUEST_KEYS)}")
    method = table.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"{where}: method must be one of {', '.join(METHODS)}")
    if "path" not in table:
        raise ValueError(f'{where}: needs a path, e.g. path = "/predict"')
    path = url_path(table["path"])
    if not path:
        raise ValueError(f"{where}: path must not be empty")
    if "json" in table and "body" in table:
        raise ValueError(f"{where}: give json or body, not both")
    body = table.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"{where}: body must be a string (use json for a JSON value)")
    content_type = table.get("content_type")
    if content_type is not None and (not isinstance(content_type, str) or not content_type):
        raise ValueError(f"{where}: content_type must be a media type such as text/plain")
    status = table.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"{where}: status must be an HTTP status from 100 to 599")
    if "expect_json" in table and "expect_text" in table:
        raise ValueError(f"{where}: give expect_json or expect_text, not both")
    expect_text = table.get("expect_text")
    if expect_text is not None:
        if not isinstance(expect_text, str):
            raise ValueError(f"{where}: expect_text must be a regular expression string")
        try:
            re.compile(expect_text)
        except re.error as err:
            raise ValueError(f"{where}: expect_text is not a regular expression: {err}") from None
    return SmokeRequest(
        method=method.upper(),
        path=path,
        json=table.get("json"),
        body=body,
        content_type=content_type,
        status=status,
        expect_json=table.get("expect_json"),
        expect_text=expect_text,
    )
