"""The Cloud Build REST API v1 on its own 127.0.0.1 port (the stand-in for
https://cloudbuild.googleapis.com), with builds that really run on the local Docker engine.

Builds are created, read, listed and cancelled in the `projects/P/builds` form and the
`projects/P/locations/L/builds` form; CreateBuild answers a long-running Operation
(`operations/build/P/BASE64(ID)`) whose metadata holds the Build. Callers authenticate with the
GarEmulator's access tokens (or a self-signed JWT of one of its keys, as the client library sends
by default); `gar.deny("cloudbuild.builds.create")` and the like refuse with 403."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tests.emulator import cloud_build_resources as resources
from tests.emulator import google_errors
from tests.emulator.cloud_build_runner import BuildRunner, Worker
from tests.emulator.cloud_build_steps import docker_cli
from tests.emulator.http import json_response
from tests.emulator.server import PROJECT_NUMBER
from tests.emulator.service_http import Request, Response, ServiceServer

if TYPE_CHECKING:
    from tests.emulator.server import GarEmulator
    from tests.emulator.storage import StorageEmulator

SERVICE = "cloudbuild.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
DEFAULT_PAGE_SIZE = 100
_PROJECT = r"^/v1/projects/(?P<project>[^/]+)"
_LOCATED = _PROJECT + r"/locations/(?P<location>[^/]+)"
_BUILD = r"/builds/(?P<id>[^/:]+)"
_OPERATION = r"/operations/(?P<operation>[^/:]+)"
_GLOBAL_OPERATION = r"^/v1/operations/build/(?P<project>[^/]+)/(?P<operation>[^/:]+)"


@dataclass(frozen=True)
class Call:
    """One routed request: the location it names, and the path's other IDs."""

    request: Request
    location: str
    ids: dict[str, str]
    ints: bool  # `$alt=json;enum-encoding=int`: enums as numbers


class CloudBuildEmulator:
    """Cloud Build for `gar`'s project, its sources and logs in `storage`, its builds on the
    engine DOCKER_HOST names, its workspaces under `workdir`. `endpoint` is the API's base URL;
    `stop()` cancels what runs and closes it."""

    def __init__(
        self,
        gar: GarEmulator,
        storage: StorageEmulator,
        workdir: Path,
        *,
        keep_images: bool = False,
        queue_delay_s: float = 0.3,
    ) -> None:
        self._gar = gar
        self._storage = storage
        self.project = gar.project
        self.project_number = PROJECT_NUMBER
        self.service_account = f"{PROJECT_NUMBER}@cloudbuild.gserviceaccount.com"
        self.default_logs_bucket = resources.default_logs_bucket(PROJECT_NUMBER)
        self._lock = threading.Lock()
        self._builds: dict[str, resources.BuildRecord] = {}  # by ID, oldest first
        self._enabled = True
        self._keys: dict[str, dict[str, Any]] = {}
        self._worker = Worker(
            docker=docker_cli(),
            env={k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"},
            storage=storage,
            registry_host=gar.registry_host,
            token=self._token,
            service_account=self.service_account,
            workdir=workdir,
            substitutions={"PROJECT_ID": self.project, "PROJECT_NUMBER": PROJECT_NUMBER},
            keep_images=keep_images,
            queue_delay_s=queue_delay_s,
        )
        create, get, update = (f"cloudbuild.builds.{verb}" for verb in ("create", "get", "update"))
        located_build, located_operation = _LOCATED + _BUILD, _LOCATED + _OPERATION
        # (method, path, handler, the permission it needs)
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Call], Response], str]] = [
            (method, re.compile(path + "$"), handler, permission)
            for method, path, handler, permission in [
                ("POST", _PROJECT + "/builds", self._create, create),
                ("POST", _LOCATED + "/builds", self._create, create),
                ("GET", _PROJECT + "/builds", self._list, "cloudbuild.builds.list"),
                ("GET", _LOCATED + "/builds", self._list, "cloudbuild.builds.list"),
                ("GET", _PROJECT + _BUILD, self._get, get),
                ("GET", located_build, self._get, get),
                ("POST", _PROJECT + _BUILD + ":cancel", self._cancel, update),
                ("POST", located_build + ":cancel", self._cancel, update),
                ("GET", _GLOBAL_OPERATION, self._get_operation, get),
                ("GET", located_operation, self._get_operation, get),
                ("POST", _GLOBAL_OPERATION + ":cancel", self._cancel_operation, update),
                ("POST", located_operation + ":cancel", self._cancel_operation, update),
            ]
        ]
        self._server = ServiceServer("cloudbuild", self._handle, google_errors.unavailable)
        self.endpoint = self._server.endpoint
        self._server.start()

    # The test's side
    def stop(self) -> None:
        self._cancel_all()
        self._server.stop()

    def reset(self) -> None:
        """Running builds cancelled, none kept, the API enabled, no faults, an empty log."""
        self._cancel_all()
        with self._lock:
            self._builds.clear()
            self._enabled = True
        self._server.reset()

    def disable_api(self) -> None:
        """The project's Cloud Build API is disabled: every call gets 403 SERVICE_DISABLED."""
        self._enabled = False

    def fail_next(self, n: int, *, status: int = 503, drop: bool = False) -> None:
        """The next n API requests get `status` with Google's error body, or, with drop, a
        closed connection."""
        self._server.fail_next(n, status, drop)

    @property
    def requests(self) -> list[tuple[str, str, str, int]]:
        """("cloudbuild", method, path, status) of every API request so far."""
        return self._server.requests

    def build(self, build_id: str) -> dict[str, Any]:
        """The Build as GetBuild answers it now (enums as names)."""
        with self._lock:
            return resources.build_json(self._builds[build_id].build, ints=False)

    def wait(self, build_id: str, timeout: float = 300.0) -> dict[str, Any]:
        """The Build once it has finished and its worker has cleaned up."""
        if not self._builds[build_id].finished.wait(timeout):
            raise TimeoutError(f"build {build_id} still runs after {timeout} s")
        return self.build(build_id)

    def log(self, build_id: str) -> str:
        """The build's whole log so far, also for logging modes that keep it out of GCS."""
        log = self._builds[build_id].log
        return log.text if log is not None else ""

    def _cancel_all(self) -> None:
        with self._lock:
            records = list(self._builds.values())
        for record in records:
            self._cancel_record(record)
            record.finished.wait(60)

    def _token(self, email: str) -> str:
        """A fresh access token for `email`, through the GarEmulator's token endpoint."""
        from google.auth.transport.requests import Request as AuthRequest
        from google.oauth2 import service_account

        if email not in self._keys:
            self._keys[email] = self._gar.service_account_key(email)
        key = self._keys[email]
        credentials = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
        credentials.refresh(AuthRequest())
        return str(credentials.token)

    # The API's side
    def _route(
        self, method: str, path: str
    ) -> tuple[Callable[[Call], Response], str, re.Match[str]] | None:
        for wanted, pattern, handler, permission in self._routes:
            match = pattern.match(path)
            if match and method == wanted:
                return handler, permission, match
        return None

    def _handle(self, request: Request) -> Response:
        routed = self._route(request.method, unquote(request.path))
        if routed is None:
            return google_errors.not_found()
        handler, permission, match = routed
        if self._gar.caller(request.bearer() or "") is None:
            return google_errors.unauthenticated()
        ids = match.groupdict()
        if ids.pop("project") not in (self.project, self.project_number):
            return google_errors.not_found()
        if not self._enabled:
            return _service_disabled()
        if self._gar.denies(permission):
            return google_errors.api_error(403, "The caller does not have permission")
        location = ids.pop("location", None) or _parent_location(request) or "global"
        ints = "enum-encoding=int" in (request.arg("$alt") or "")
        return handler(Call(request, location, ids, ints))

    def _create(self, call: Call) -> Response:
        try:
            request = resources.parse_build(call.request.json())
        except resources.InvalidBuild as err:
            return google_errors.api_error(400, str(err))
        build_id = str(uuid.uuid4())
        build = resources.new_build(
            request, build_id, self.project, self.project_number, call.location
        )
        refusal = self._check_logs_bucket(build)
        if refusal is not None:
            return refusal
        record = resources.BuildRecord(
            build, call.location, resources.operation_name(self.project, call.location, build_id)
        )
        with self._lock:
            self._builds[build_id] = record
            payload = resources.operation_json(record, call.ints)
        BuildRunner(record, self._lock, self._worker).start()
        return json_response(200, payload)

    def _check_logs_bucket(self, build: Any) -> Response | None:
        """The default logs bucket is the service's own (made on first use); a bucket the build
        names must exist, as CreateBuild checks."""
        bucket = resources.log_object(build)[0]
        client = self._storage.client()
        if bucket == self.default_logs_bucket:
            if client.lookup_bucket(bucket) is None:
                client.create_bucket(bucket)
            return None
        if client.lookup_bucket(bucket) is None:
            return google_errors.api_error(
                400,
                f'invalid bucket "{bucket}"; service account {self.service_account} does not '
                "have access to the bucket",
            )
        return None

    def _find(self, call: Call) -> resources.BuildRecord | None:
        record = self._builds.get(call.ids.get("id", ""))
        return record if record is not None and record.location == call.location else None

    def _get(self, call: Call) -> Response:
        with self._lock:
            record = self._find(call)
            if record is None:
                return google_errors.not_found()
            return json_response(200, resources.build_json(record.build, call.ints))

    def _list(self, call: Call) -> Response:
        try:
            accept = resources.build_filter(call.request.arg("filter") or "")
            start = int(call.request.arg("pageToken") or 0)
            size = int(call.request.arg("pageSize") or 0) or DEFAULT_PAGE_SIZE
        except (resources.InvalidBuild, ValueError) as err:
            return google_errors.api_error(400, str(err) or "Request contains an invalid argument.")
        with self._lock:
            newest_first = [
                resources.build_json(record.build, call.ints)
                for record in reversed(self._builds.values())
                if record.location == call.location and accept(record.build)
            ]
        page: dict[str, Any] = {"builds": newest_first[start : start + size]}
        if not page["builds"]:
            page = {}
        if start + size < len(newest_first):
            page["nextPageToken"] = str(start + size)
        return json_response(200, page)

    def _cancel(self, call: Call) -> Response:
        record = self._find(call)
        if record is None:
            return google_errors.not_found()
        self._cancel_record(record)
        record.finished.wait(60)  # the answer is the cancelled build
        with self._lock:
            return json_response(200, resources.build_json(record.build, call.ints))

    def _cancel_record(self, record: resources.BuildRecord) -> None:
        with self._lock:
            if record.build.status == resources.STATUS.Value("QUEUED"):
                record.build.status = resources.STATUS.Value("CANCELLED")
                record.build.finish_time.GetCurrentTime()
                record.finished.set()
            record.cancel.set()

    def _operation(self, call: Call) -> resources.BuildRecord | None:
        wanted = call.request.path.rpartition("/")[2].removesuffix(":cancel")
        for record in self._builds.values():
            if unquote(record.operation.rpartition("/")[2]) == unquote(wanted):
                return record if record.location == call.location else None
        return None

    def _get_operation(self, call: Call) -> Response:
        with self._lock:
            record = self._operation(call)
            if record is None:
                return google_errors.not_found()
            return json_response(200, resources.operation_json(record, call.ints))

    def _cancel_operation(self, call: Call) -> Response:
        with self._lock:
            record = self._operation(call)
        if record is None:
            return google_errors.not_found()
        self._cancel_record(record)
        return json_response(200, {})


def _parent_location(request: Request) -> str | None:
    """The location of a `parent` query parameter (`projects/P/locations/L`), if any."""
    parent = request.arg("parent") or ""
    match = re.fullmatch(r"projects/[^/]+/locations/([^/]+)", parent)
    return match[1] if match else None


def _service_disabled() -> Response:
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={PROJECT_NUMBER}"
    message = (
        f"Cloud Build API has not been used in project {PROJECT_NUMBER} before or it is "
        f"disabled. Enable it by visiting {url} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {
            "service": SERVICE,
            "consumer": f"projects/{PROJECT_NUMBER}",
            "activationUrl": url,
            "containerInfo": PROJECT_NUMBER,
            "serviceTitle": "Cloud Build API",
        },
    }
    help_link = {
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [{"description": "Google developers console API activation", "url": url}],
    }
    return google_errors.api_error(403, message, [info, help_link])
