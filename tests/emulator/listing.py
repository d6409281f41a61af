"""List requests as the API serves them: `filter` (the documented subset: `name="..."` and
`version="..."` with `*` wildcards, `annotations...`, joined by AND; case-insensitive), `orderBy`
(one field, optionally `desc`), and opaque page tokens. A filter or order the API would not
accept is a 400 INVALID_ARGUMENT, which gcloud answers by retrying without it."""

from __future__ import annotations

import base64
import fnmatch
import re
from collections.abc import Callable
from typing import Any

from tests.emulator import google_errors
from tests.emulator.http import Request, Response, json_response

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_TERM = re.compile(r'^(?P<field>[A-Za-z_.]+)\s*(?P<op>=|:)\s*(?P<value>"[^"]*"|`[^`]*`|\S+)$')
_ANNOTATION = re.compile(r"^annotations(\.(?P<key>`[^`]*`|[^:\s]+))?(\s*:\s*(?P<value>.+))?$")
_ORDER_FIELDS = {
    "name": "name",
    "create_time": "createTime",
    "createtime": "createTime",
    "update_time": "updateTime",
    "updatetime": "updateTime",
}

Item = dict[str, Any]


def filtered(request: Request, items: list[Item], fields: tuple[str, ...]) -> list[Item] | Response:
    """The items the request's `filter` keeps, or the API's refusal of the filter."""
    expression = (request.arg("filter") or "").strip()
    if not expression:
        return items
    predicates = []
    for term in re.split(r"\s+AND\s+", expression, flags=re.IGNORECASE):
        predicate = _predicate(term.strip(), fields)
        if predicate is None:
            return google_errors.api_error(400, f'Invalid filter: "{expression}"')
        predicates.append(predicate)
    return [item for item in items if all(p(item) for p in predicates)]


def _predicate(term: str, fields: tuple[str, ...]) -> Callable[[Item], bool] | None:
    if term.startswith("annotations"):
        match = _ANNOTATION.match(term)
        if match is None:
            return None
        key = (match["key"] or "*").strip("`")
        value = (match["value"] or "*").strip().strip('`"')
        return lambda item: any(
            fnmatch.fnmatchcase(k.lower(), key.lower())
            and fnmatch.fnmatchcase(v.lower(), value.lower())
            for k, v in (item.get("annotations") or {}).items()
        )
    match = _TERM.match(term)
    if match is None or match["field"] not in fields or match["op"] != "=":
        return None
    pattern = match["value"].strip('"`').lower()
    field = match["field"]
    # Only "*" is a wildcard; fnmatch's other metacharacters are taken literally.
    literal = re.escape(pattern).replace(r"\*", ".*")
    return lambda item: re.fullmatch(literal, str(item.get(field, "")).lower()) is not None


def ordered(request: Request, items: list[Item]) -> list[Item] | Response:
    """The items in `orderBy` order (default: by name), or the API's refusal of the order."""
    order_by = (request.arg("orderBy") or "").strip()
    if not order_by:
        return sorted(items, key=lambda item: item["name"])
    field, _, direction = order_by.partition(" ")
    key = _ORDER_FIELDS.get(field.lower())
    if key is None or "," in order_by or direction.strip().lower() not in ("", "asc", "desc"):
        return google_errors.api_error(400, f'Invalid order_by: "{order_by}"')
    return sorted(
        items,
        key=lambda item: (item.get(key, ""), item["name"]),
        reverse=direction.strip().lower() == "desc",
    )


def page(request: Request, items: list[Item], field: str) -> Response:
    """One page of items; pageToken is opaque to clients (here: the offset, base64)."""
    try:
        start = int(base64.urlsafe_b64decode(request.arg("pageToken") or "MA==").decode())
        size = min(int(request.arg("pageSize") or 0) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    except ValueError:
        return google_errors.api_error(400, "Invalid page token or page size.")
    if start < 0 or size < 0:
        return google_errors.api_error(400, "Invalid page token or page size.")
    body: dict[str, Any] = {field: items[start : start + size]} if items[start:] else {}
    if start + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return json_response(200, body)


def listed(
    request: Request, items: list[Item], field: str, filter_fields: tuple[str, ...]
) -> Response:
    """Filter, order and page `items` as the request asks."""
    kept = filtered(request, items, filter_fields)
    if isinstance(kept, Response):
        return kept
    in_order = ordered(request, kept)
    if isinstance(in_order, Response):
        return in_order
    return page(request, in_order, field)
