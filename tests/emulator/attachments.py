"""Artifact Registry files and attachments, as `gcloud artifacts attachments create` meets them.

- `POST /upload/v1/{repository}/files:upload?uploadType=multipart`: a multipart/related body
  (the UploadFileRequest JSON, then the media), answered `{"operation": {...}}`; the operation
  is done at the first `operations.get`, its `response` the File (`.../files/sha256:<hex>`,
  `sizeBytes` as a string, `hashes` [{type SHA256, value base64}]). Uploading bytes that are
  there already ends in an operation `error` "... already exists" (code 6), which gcloud
  treats as success.
- `GET /v1/{file}`, `PATCH /v1/{file}?updateMask=annotations` (gcloud writes the uploaded
  file's name into `artifactregistry.googleapis.com/file_name`) and
  `GET /v1/{file}:download?alt=media`.
- `POST /v1/{repository}/attachments?attachmentId=ID` with `target` (a version that must exist
  in the registry), `type` and `files` (which must exist): an operation whose `response` is the
  Attachment; an ID in use is 409 ALREADY_EXISTS at once. `GET .../attachments` (filter on
  `target`, `type`, `attachment_namespace`; pages), `GET` and `DELETE .../attachments/ID`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.emulator import google_errors
from tests.emulator.distribution import Distribution
from tests.emulator.http import Request, Response, json_response
from tests.emulator.listing import page
from tests.emulator.resources import SERVICE, parse_version_name
from tests.emulator.state import State, rfc3339

_REPO = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/repositories/(?P<repo>[^/:]+)"
_UPLOAD = re.compile(rf"^/upload/v1/{_REPO}/files:upload$")
_DOWNLOAD = re.compile(rf"^/v1/{_REPO}/files/(?P<file>[^/]+):download$")
_FILE = re.compile(rf"^/v1/{_REPO}/files/(?P<file>[^/]+)$")
_ATTACHMENTS = re.compile(rf"^/v1/{_REPO}/attachments$")
_ATTACHMENT = re.compile(rf"^/v1/{_REPO}/attachments/(?P<id>[^/]+)$")
_OPERATION = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/operations/(?P<id>[^/]+)$")
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$")
_FILTER_TERM = re.compile(r'^(?P<field>target|type|attachment_namespace)\s*=\s*"(?P<value>[^"]*)"$')
_FILTER_FIELDS = {"target": "target", "type": "type", "attachment_namespace": "attachmentNamespace"}
FILE_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.File"
ATTACHMENT_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.Attachment"
METADATA_TYPE = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata"


@dataclass
class _Stored:
    name: str
    data: bytes
    created: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    updated: datetime.datetime | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.data).digest()
        body: dict[str, Any] = {
            "name": self.name,
            "sizeBytes": str(len(self.data)),
            "hashes": [{"type": "SHA256", "value": base64.b64encode(digest).decode()}],
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(self.updated or self.created),
        }
        if self.annotations:
            body["annotations"] = dict(self.annotations)
        return body


class AttachmentsApi:
    """Files and attachments of the emulator's repositories, kept in memory."""

    def __init__(self, state: State, registry: Distribution) -> None:
        self.state = state
        self.registry = registry
        self._lock = threading.Lock()
        self._files: dict[str, _Stored] = {}
        self._attachments: dict[str, dict[str, Any]] = {}
        self._operations: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # pending, done

    def handles(self, method: str, path: str) -> bool:
        """Whether this module answers `method path` (operations: only those it started)."""
        if (operation := _OPERATION.match(path)) and method == "GET":
            return any(name.endswith("/" + operation["id"]) for name in self._operations)
        return any(p.match(path) for p in (_UPLOAD, _DOWNLOAD, _FILE, _ATTACHMENTS, _ATTACHMENT))

    def handle(self, request: Request) -> Response:
        if self.state.caller(request.bearer() or "") is None:
            return google_errors.unauthenticated()
        path, method = request.path, request.method
        if (operation := _OPERATION.match(path)) and method == "GET":
            return self._operation(operation["id"])
        routes = (
            ("POST", _UPLOAD, self._upload, "files.upload"),
            ("GET", _DOWNLOAD, self._download, "files.download"),
            ("GET", _FILE, self._get_file, "files.get"),
            ("PATCH", _FILE, self._update_file, "files.update"),
            ("POST", _ATTACHMENTS, self._create, "attachments.create"),
            ("GET", _ATTACHMENTS, self._list, "attachments.list"),
            ("GET", _ATTACHMENT, self._get, "attachments.get"),
            ("DELETE", _ATTACHMENT, self._delete, "attachments.delete"),
        )
        for verb, pattern, handler, permission in routes:
            match = pattern.match(path)
            if match is None or verb != method:
                continue
            ids = {key: unquote(value) for key, value in match.groupdict().items()}
            resource = (
                f"projects/{ids['project']}/locations/{ids['location']}/repositories/{ids['repo']}"
            )
            denied = f"artifactregistry.{permission}"
            if denied in self.state.denied or ids["project"] != self.state.project:
                return google_errors.permission_denied(denied, resource, SERVICE)
            if ids["repo"] not in self.state.repositories or ids["location"] != self.state.location:
                return google_errors.not_found()
            return handler(request, resource, ids)
        return google_errors.not_found()

    # Files

    def _upload(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        if request.arg("uploadType") not in ("multipart", "media"):
            return google_errors.invalid_argument("uploadType must be multipart or media")
        if request.arg("uploadType") == "media":
            data = request.body
        else:
            parts = _multipart(request)
            if parts is None or len(parts) != 2:
                return google_errors.invalid_argument(
                    "expected a multipart/related body of 2 parts"
                )
            data = parts[1]
        name = f"{resource}/files/sha256:{hashlib.sha256(data).hexdigest()}"
        with self._lock:
            exists = name in self._files
            if not exists:
                self._files[name] = _Stored(name, data)
            stored = self._files[name]
        if exists:
            error = {"code": 6, "message": f"File {name} already exists."}
            result: dict[str, Any] = {"error": error}
        else:
            result = {"response": {"@type": FILE_TYPE, **stored.json()}}
        return json_response(200, {"operation": self._start(ids, result)})

    def _get_file(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        stored = self._files.get(f"{resource}/files/{ids['file']}")
        return json_response(200, stored.json()) if stored else google_errors.not_found()

    def _update_file(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        """files.patch: only `annotations` can change (gcloud records the file's name there)."""
        body = request.json()
        mask = {m.strip() for m in (request.arg("updateMask") or "").split(",") if m.strip()}
        if not isinstance(body, dict) or not mask or mask - {"annotations"}:
            return google_errors.invalid_argument("only annotations can be updated", "update_mask")
        with self._lock:
            stored = self._files.get(f"{resource}/files/{ids['file']}")
            if stored is None:
                return google_errors.not_found()
            stored.annotations = {
                str(k): str(v) for k, v in (body.get("annotations") or {}).items()
            }
            stored.updated = datetime.datetime.now(datetime.UTC)
            return json_response(200, stored.json())

    def _download(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        stored = self._files.get(f"{resource}/files/{ids['file']}")
        if stored is None:
            return google_errors.not_found()
        if request.arg("alt") != "media":
            return json_response(200, {})  # DownloadFileResponse: the bytes need alt=media
        return Response(200, stored.data, {"Content-Type": "application/octet-stream"})

    # Attachments

    def _create(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        attachment_id = request.arg("attachmentId") or ""
        body = request.json()
        if not isinstance(body, dict):
            return google_errors.invalid_argument("the body is not a JSON object")
        if not _ID.match(attachment_id):
            return google_errors.invalid_argument("invalid attachment_id", "attachment_id")
        target = str(body.get("target") or "")
        version = parse_version_name(target, resource)
        if (
            version is None
            or self.registry.digest(f"{ids['project']}/{ids['repo']}/{version[0]}", version[1])
            is None
        ):
            return google_errors.invalid_argument(
                f"target {target!r} is not a version of {resource}", "target"
            )
        files = [str(name) for name in body.get("files") or []]
        if not files or any(name not in self._files for name in files):
            return google_errors.invalid_argument("files must name uploaded files", "files")
        name = f"{resource}/attachments/{attachment_id}"
        now = rfc3339(datetime.datetime.now(datetime.UTC))
        attachment = {
            "name": name,
            "target": target,
            "type": str(body.get("type") or ""),
            "files": files,
            "createTime": now,
            "updateTime": now,
        }
        if body.get("attachmentNamespace"):
            attachment["attachmentNamespace"] = str(body["attachmentNamespace"])
        if body.get("annotations"):
            attachment["annotations"] = dict(body["annotations"])
        with self._lock:
            if name in self._attachments:
                return google_errors.already_exists(f"Attachment {name} already exists.")
            self._attachments[name] = attachment
        result = {"response": {"@type": ATTACHMENT_TYPE, **attachment}}
        return json_response(200, self._start(ids, result))

    def _list(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        wanted: dict[str, str] = {}
        expression = (request.arg("filter") or "").strip()
        for term in re.split(r"\s+AND\s+", expression) if expression else []:
            match = _FILTER_TERM.match(term.strip())
            if match is None:
                return google_errors.invalid_argument(f"invalid filter {expression!r}")
            wanted[_FILTER_FIELDS[match["field"]]] = match["value"]
        with self._lock:
            items = [
                a
                for name, a in sorted(self._attachments.items())
                if name.startswith(resource + "/")
                and all(a.get(key) == value for key, value in wanted.items())
            ]
        return page(request, items, "attachments")

    def _get(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        found = self._attachments.get(f"{resource}/attachments/{ids['id']}")
        return json_response(200, found) if found else google_errors.not_found()

    def _delete(self, request: Request, resource: str, ids: dict[str, str]) -> Response:
        with self._lock:
            found = self._attachments.pop(f"{resource}/attachments/{ids['id']}", None)
        if found is None:
            return google_errors.not_found()
        empty = {"response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}
        return json_response(200, self._start(ids, empty))

    # Operations

    def _start(self, ids: dict[str, str], result: dict[str, Any]) -> dict[str, Any]:
        """A running operation, done (with `result`) when it is first polled."""
        name = f"projects/{ids['project']}/locations/{ids['location']}/operations/{uuid.uuid4()}"
        pending = {"name": name, "metadata": {"@type": METADATA_TYPE}}
        with self._lock:
            self._operations[name] = (pending, {**pending, "done": True, **result})
        return pending

    def _operation(self, operation_id: str) -> Response:
        with self._lock:
            for name, (_, done) in self._operations.items():
                if name.endswith("/" + operation_id):
                    return json_response(200, done)
        return google_errors.not_found()


def _multipart(request: Request) -> list[bytes] | None:
    """The parts' bodies of a multipart/related request (CRLF or LF line ends)."""
    content_type = request.headers.get("content-type", "")
    # apitools writes the boundary with Python's repr: boundary='===...=='.
    match = re.search(r"""boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))""", content_type)
    if not content_type.startswith("multipart/related") or match is None:
        return None
    delimiter = b"--" + next(g for g in match.groups() if g).encode()
    parts = []
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        _, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            _, separator, content = chunk.partition(b"\n\n")
        if not separator:
            return None
        # The line end before a delimiter belongs to it, not to the content.
        end = 2 if content.endswith(b"\r\n") else 1 if content.endswith(b"\n") else 0
        parts.append(content[: len(content) - end])
    return parts
