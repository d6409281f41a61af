"""Cloud Storage for tests: the `gcp-storage-emulator` package on a private 127.0.0.1 port, and a
thin front on another that authenticates callers with the GarEmulator's tokens, applies its
denied permissions, and answers with the errors GCS gives where the package answers otherwise.

What the front fixes: an empty 404 gets GCS's error body; a Range that starts at or past the end
of an object gets 416 (the package answers 206 with no bytes), which is what a log tailer waits
on (gcloud's GCSLogTailer treats 416 as "no new content")."""

from __future__ import annotations

import http.client
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

from tests.emulator.http import json_response
from tests.emulator.server import PROJECT_NUMBER, free_port
from tests.emulator.service_http import Request, Response, ServiceServer

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud import storage

    from tests.emulator.server import GarEmulator

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
_API = r"(?:/storage/v1)?"  # the Node client leaves /storage/v1 out; the package takes both
# (method or "*", path pattern, permission, what it names): first match wins.
_PERMISSIONS: list[tuple[str, re.Pattern[str], str, str]] = [
    (m, re.compile(p), perm, kind)
    for m, p, perm, kind in [
        ("GET", rf"^{_API}/b$", "storage.buckets.list", "project"),
        ("POST", rf"^{_API}/b$", "storage.buckets.create", "project"),
        ("GET", rf"^{_API}/b/(?P<bucket>[^/]+)$", "storage.buckets.get", "bucket"),
        ("DELETE", rf"^{_API}/b/(?P<bucket>[^/]+)$", "storage.buckets.delete", "bucket"),
        ("PATCH", rf"^{_API}/b/(?P<bucket>[^/]+)$", "storage.buckets.update", "bucket"),
        ("GET", rf"^{_API}/b/(?P<bucket>[^/]+)/iam", "storage.buckets.getIamPolicy", "bucket"),
        ("PUT", rf"^{_API}/b/(?P<bucket>[^/]+)/iam", "storage.buckets.setIamPolicy", "bucket"),
        ("GET", rf"^{_API}/b/(?P<bucket>[^/]+)/o$", "storage.objects.list", "bucket"),
        ("POST", rf"^{_API}/b/(?P<bucket>[^/]+)/o/.+/(copyTo|rewriteTo)/b/(?P<to>[^/]+)/o/"
         r"(?P<object>.+)$", "storage.objects.create", "object"),
        ("POST", rf"^{_API}/b/(?P<bucket>[^/]+)/o/(?P<object>.+)/compose$",
         "storage.objects.create", "object"),
        ("GET", rf"^{_API}/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$", "storage.objects.get",
         "object"),
        ("DELETE", rf"^{_API}/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$",
         "storage.objects.delete", "object"),
        ("PATCH", rf"^{_API}/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$",
         "storage.objects.update", "object"),
        ("*", r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$", "storage.objects.create", "object"),
        ("GET", r"^/download/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$",
         "storage.objects.get", "object"),
        ("GET", r"^/(?P<bucket>[^/]+)/(?P<object>.+)$", "storage.objects.get", "xml"),
        ("PUT", r"^/(?P<bucket>[^/]+)/(?P<object>.+)$", "storage.objects.create", "xml"),
    ]
]  # fmt: skip
_WHAT = {
    "project": "the Google Cloud project",
    "bucket": "the Google Cloud Storage bucket",
    "object": "the Google Cloud Storage object",
    "xml": "the Google Cloud Storage object",
}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class _Call:
    permission: str
    kind: str  # project, bucket, object (JSON API) or xml (the XML API: XML error bodies)
    bucket: str
    object: str


class StorageEmulator:
    """GCS on 127.0.0.1: `endpoint` for clients (google-cloud-storage's `api_endpoint`, or
    STORAGE_EMULATOR_HOST), `backend` for the emulated Google services themselves (the bare
    package: no authentication, no faults).

    With `gar`, callers need an access token from `gar`'s token endpoint, and what `gar.deny`
    names (`storage.objects.get`, `storage.buckets.create`, ...) is refused with GCS's 403.
    Without it, the front lets everyone in. Data lives in memory, or in `data_dir`.
    """

    def __init__(self, gar: GarEmulator | None = None, data_dir: Path | None = None) -> None:
        from gcp_storage_emulator.server import create_server

        # The package logs every request line at INFO, every text answer at WARNING and every
        # missing object (an ordinary 404) at ERROR.
        for name in ("gcp_storage_emulator", "api.object", "api.bucket"):
            logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger("gcp_storage_emulator.storage").setLevel(logging.CRITICAL)
        self._gar = gar
        self.project = gar.project if gar else "test-project"
        port = free_port()
        self._backend = create_server(
            "127.0.0.1",
            port,
            in_memory=data_dir is None,
            data_dir=str(data_dir) if data_dir else None,
            project_number=PROJECT_NUMBER,
        )
        self._backend.start()
        self.backend = f"http://127.0.0.1:{port}"
        self._front = ServiceServer("storage", self._handle, _fault)
        self.endpoint = self._front.endpoint
        self._front.start()

    def stop(self) -> None:
        self._front.stop()
        self._backend.stop()

    def reset(self) -> None:
        """No buckets, no objects, no faults, an empty request log."""
        self._backend.wipe()
        self._front.reset()

    @property
    def requests(self) -> list[tuple[str, str, str, int]]:
        """(target, method, path, status) of every request to the front so far."""
        return self._front.requests

    def fail_next(self, n: int, *, status: int = 503, drop: bool = False) -> None:
        """The next n requests to the front get `status` with GCS's error body, or, with drop,
        a closed connection."""
        self._front.fail_next(n, status, drop)

    def client(self, credentials: Credentials | None = None) -> storage.Client:
        """A google-cloud-storage client: on the front with `credentials`, on the backend
        (anonymous, everything allowed) without."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=credentials or AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint if credentials else self.backend},
        )

    def _handle(self, request: Request) -> Response:
        call = _classify(request)
        if self._gar is not None and call is not None:
            refusal = self._authorize(request, call)
            if refusal is not None:
                return refusal
        return self._forward(request, call)

    def _authorize(self, request: Request, call: _Call) -> Response | None:
        assert self._gar is not None
        token = request.bearer()
        if token is None:
            return _denied(401, call, "Anonymous caller", "required")
        identity = self._gar.caller(token) if token else None
        if identity is None:
            return _invalid_credentials(call)
        project = request.arg("project")
        foreign = call.kind == "project" and project not in (None, self.project, PROJECT_NUMBER)
        if self._gar.denies(call.permission) or foreign:
            return _denied(403, call, identity, "forbidden")
        return None

    def _forward(self, request: Request, call: _Call | None) -> Response:
        host, port = self.backend.removeprefix("http://").split(":")
        # Host stays the front's: the package builds mediaLink and resumable upload URLs from it.
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        body = request.body
        if request.arg("uploadType") == "multipart":
            headers, body = _plain_multipart(headers, body, request.arg("name"))
        query = urlencode(request.query, doseq=True)
        upstream = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            upstream.request(
                request.method,
                request.path + (f"?{query}" if query else ""),
                body=body or None,
                headers=headers,
            )
            answer = upstream.getresponse()
            status, body = answer.status, answer.read()
            answer_headers = {
                k: v
                for k, v in answer.getheaders()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
            }
        except (http.client.HTTPException, OSError):
            return _fault(503)  # the package's handler raised and dropped the connection
        finally:
            upstream.close()
        if status == 404 and not body and call is not None:
            return _not_found(call)
        content_range = _CONTENT_RANGE.fullmatch(answer_headers.get("Content-Range", ""))
        if status == 206 and content_range and int(content_range[1]) > int(content_range[2]):
            return _range_not_satisfiable(call, request, int(content_range[3]))
        return Response(status, body, answer_headers)


def _plain_multipart(
    headers: dict[str, str], body: bytes, name: str | None
) -> tuple[dict[str, str], bytes]:
    """A multipart upload as the package parses it. gcloud's apitools quotes the boundary with
    single quotes and names the object in the query only; the package understands neither."""
    content_type = headers.get("content-type", "")
    quoted = re.search(r"boundary='([^']+)'", content_type)
    if quoted:
        headers = {
            **headers,
            "content-type": content_type.replace(quoted[0], f'boundary="{quoted[1]}"'),
        }
    boundary = re.search(r'boundary="?([^";]+)"?', headers.get("content-type", ""))
    if boundary is None or name is None:
        return headers, body
    delimiter = f"--{boundary[1]}".encode()
    parts = body.split(delimiter)
    if len(parts) < 3:
        return headers, body
    head, _, metadata = parts[1].partition(b"\n\n")
    try:
        fields = json.loads(metadata) if metadata.strip() else {}
    except ValueError:
        return headers, body
    fields.setdefault("name", name)
    parts[1] = head + b"\n\n" + json.dumps(fields).encode() + b"\n"
    body = delimiter.join(parts)
    return {**headers, "content-length": str(len(body))}, body


def _classify(request: Request) -> _Call | None:
    for method, pattern, permission, kind in _PERMISSIONS:
        match = pattern.match(request.path)
        if match and method in ("*", request.method):
            names = match.groupdict()
            bucket = unquote(names.get("to") or names.get("bucket") or "")
            name = unquote(names.get("object") or "") or (request.arg("name") or "")
            return _Call(permission, kind, bucket, name)
    return None


def _xml_error(status: int, code: str, message: str, details: str = "") -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
    body += f"<Message>{message}</Message>"
    if details:
        body += f"<Details>{details}</Details>"
    body += "</Error>"
    return Response(status, body.encode(), {"Content-Type": "application/xml; charset=UTF-8"})


def gcs_error(status: int, message: str, reason: str, **extra: Any) -> Response:
    """`{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}`, the JSON
    API's error body (google-cloud-storage raises google.api_core.exceptions from it)."""
    error = {"message": message, "domain": "global", "reason": reason, **extra}
    return json_response(status, {"error": {"code": status, "message": message, "errors": [error]}})


def _fault(status: int) -> Response:
    reason = "rateLimitExceeded" if status == 429 else "backendError"
    return gcs_error(status, "We encountered an internal error. Please try again.", reason)


def _denied(status: int, call: _Call, who: str, reason: str) -> Response:
    message = (
        f"{who} does not have {call.permission} access to {_WHAT[call.kind]}. Permission "
        f"'{call.permission}' denied on resource (or it may not exist)."
    )
    if call.kind == "xml":
        details = f"{who} does not have {call.permission} access to {call.bucket}/{call.object}."
        return _xml_error(status, "AccessDenied", "Access denied.", details)
    if status == 401:
        return gcs_error(401, message, reason, locationType="header", location="Authorization")
    return gcs_error(status, message, reason)


def _invalid_credentials(call: _Call) -> Response:
    if call.kind == "xml":
        return _xml_error(401, "AuthenticationRequired", "Authentication required.")
    return gcs_error(
        401, "Invalid Credentials", "authError", locationType="header", location="Authorization"
    )


def _not_found(call: _Call) -> Response:
    if call.kind == "xml":
        details = f"No such object: {call.bucket}/{call.object}"
        return _xml_error(404, "NoSuchKey", "The specified key does not exist.", details)
    if call.kind == "object" and call.object:
        return gcs_error(404, f"No such object: {call.bucket}/{call.object}", "notFound")
    return gcs_error(404, "The specified bucket does not exist.", "notFound")


def _range_not_satisfiable(call: _Call | None, request: Request, size: int) -> Response:
    headers = {"Content-Range": f"bytes */{size}"}
    if call is not None and call.kind == "xml":
        response = _xml_error(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
            request.headers.get("range", ""),
        )
    else:
        response = gcs_error(
            416, "The requested range cannot be satisfied.", "requestedRangeNotSatisfiable"
        )
    return Response(416, response.body, {**response.headers, **headers})
