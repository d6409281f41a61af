"""Long-running operations: what deletes return (`google.longrunning.Operation`), done at once,
and `operations.get` for clients that poll them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from tests.emulator import google_errors
from tests.emulator.http import Request, Response, json_response

METADATA_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
OPERATION_PATH = (
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/operations/(?P<id>[^/]+)$"
)


class Operations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, dict[str, Any]] = {}

    def completed(self, project: str, location: str) -> Response:
        """A finished operation whose result is Empty (what a delete's LRO resolves to)."""
        name = f"projects/{project}/locations/{location}/operations/{uuid.uuid4()}"
        operation = {
            "name": name,
            "metadata": {"@type": METADATA_TYPE},
            "done": True,
            "response": {"@type": EMPTY_TYPE},
        }
        with self._lock:
            self._done[name] = operation
        return json_response(200, operation)

    def get(self, request: Request, ids: dict[str, str]) -> Response:
        name = f"projects/{ids['project']}/locations/{ids['location']}/operations/{ids['id']}"
        with self._lock:
            operation = self._done.get(name)
        if operation is None:
            return google_errors.not_found()
        return json_response(200, operation)
