"""Cloud Build's resources as the v1 REST API writes them.

Builds are kept as google-cloud-build's own protobuf messages and written with protobuf's JSON
mapping, so field names (`logsBucket`, `failureInfo`, `results.images[].digest`), enums (names,
or numbers under `$alt=json;enum-encoding=int`), durations ("600s"), timestamps and int64s are
exactly what the real API and its client library exchange."""

from __future__ import annotations

import base64
import datetime
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from google.cloud.devtools import cloudbuild_v1
from google.longrunning import operations_pb2
from google.protobuf import json_format

BuildPb: Any = cloudbuild_v1.Build.pb()
OperationMetadataPb: Any = cloudbuild_v1.BuildOperationMetadata.pb()
STATUS: Any = BuildPb.Status
FAILURE_TYPE: Any = BuildPb.FailureInfo.FailureType
LOGGING: Any = cloudbuild_v1.BuildOptions.pb().LoggingMode
TERMINAL = frozenset(
    STATUS.Value(name)
    for name in ("SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED")
)
# google.rpc.Code and message of a finished build's Operation.error, by build status.
OPERATION_ERRORS = {
    STATUS.Value("FAILURE"): (2, "Build failed; check build logs for details"),
    STATUS.Value("INTERNAL_ERROR"): (13, "Build failed; check build logs for details"),
    STATUS.Value("TIMEOUT"): (4, "Build timeout"),
    STATUS.Value("CANCELLED"): (1, "Build cancelled"),
    STATUS.Value("EXPIRED"): (4, "Build expired"),
}
DEFAULT_TIMEOUT_S = 3600  # the API's default: "Default time is 60 minutes"
DEFAULT_QUEUE_TTL_S = 3600
# Logging modes that keep the log out of Cloud Storage.
NO_GCS_LOG = frozenset(
    LOGGING.Value(name) for name in ("STACKDRIVER_ONLY", "CLOUD_LOGGING_ONLY", "NONE")
)


class InvalidBuild(ValueError):
    """A CreateBuild body the API refuses with 400 INVALID_ARGUMENT (the message says why)."""


@dataclass
class BuildRecord:
    """One build: the message the API serves (changed under the emulator's lock only), where it
    runs, and how its runner is told to stop."""

    build: Any  # BuildPb
    location: str
    operation: str  # the Operation's name
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    log: Any = None  # its BuildLog, once it runs

    @property
    def terminal(self) -> bool:
        return self.build.status in TERMINAL


def parse_build(body: Any) -> Any:
    """The Build in a CreateBuild body, or InvalidBuild with Google's message."""
    if not isinstance(body, dict):
        raise InvalidBuild("Invalid JSON payload received. Expected an object.")
    build = BuildPb()
    try:
        json_format.ParseDict(body, build, ignore_unknown_fields=False)
    except json_format.ParseError as err:
        unknown = re.search(r'has no field named "([^"]+)" at "Build\.?([^"]*)"', str(err))
        if unknown:
            where = ".".join(part for part in ("build", unknown[2]) if part)
            raise InvalidBuild(
                f"Invalid JSON payload received. Unknown name \"{unknown[1]}\" at '{where}': "
                "Cannot find field."
            ) from err
        raise InvalidBuild(f"Invalid JSON payload received. {err}") from err
    if not build.steps or any(not step.name for step in build.steps):
        raise InvalidBuild("Request contains an invalid argument.")
    if build.timeout.seconds < 0 or build.queue_ttl.seconds < 0:
        raise InvalidBuild("Request contains an invalid argument.")
    return build


def new_build(request: Any, build_id: str, project: str, project_number: str, location: str) -> Any:
    """The Build as CreateBuild answers it: QUEUED, with the fields the service fills in."""
    build = BuildPb()
    build.CopyFrom(request)
    for output_only in ("results", "start_time", "finish_time", "timing", "failure_info"):
        build.ClearField(output_only)
    build.id = build_id
    build.project_id = project
    build.name = f"projects/{project_number}/locations/{location}/builds/{build_id}"
    build.status = STATUS.Value("QUEUED")
    build.create_time.GetCurrentTime()
    if not build.HasField("timeout"):
        build.timeout.FromSeconds(DEFAULT_TIMEOUT_S)
    if not build.HasField("queue_ttl"):
        build.queue_ttl.FromSeconds(DEFAULT_QUEUE_TTL_S)
    if not build.logs_bucket:
        build.logs_bucket = f"gs://{default_logs_bucket(project_number)}"
    if not build.options.logging:
        build.options.logging = LOGGING.Value("LEGACY")
    region = "" if location == "global" else f";region={location}"
    build.log_url = (
        f"https://console.cloud.google.com/cloud-build/builds{region}/{build_id}"
        f"?project={project_number}"
    )
    return build


def default_logs_bucket(project_number: str) -> str:
    """The Google-owned bucket that holds a build's log when the build names none."""
    return f"{project_number}.cloudbuild-logs.googleusercontent.com"


def log_object(build: Any) -> tuple[str, str]:
    """(bucket, object) of a build's log, as gcloud's GCSLogTailer derives them."""
    bucket, _, folder = build.logs_bucket.removeprefix("gs://").partition("/")
    return bucket, f"{folder.rstrip('/')}/log-{build.id}.txt".lstrip("/")


def operation_name(project: str, location: str, build_id: str) -> str:
    """`operations/build/PROJECT/BASE64(ID)`, or the regional form for a located build."""
    encoded = base64.b64encode(build_id.encode()).decode()
    if location == "global":
        return f"operations/build/{project}/{encoded}"
    return f"projects/{project}/locations/{location}/operations/{encoded}"


def build_json(build: Any, ints: bool) -> dict[str, Any]:
    return json_format.MessageToDict(build, use_integers_for_enums=ints)


def operation_json(record: BuildRecord, ints: bool) -> dict[str, Any]:
    """The long-running Operation: metadata holds the Build; once done, the Build as its
    response, or a google.rpc.Status as its error."""
    operation = operations_pb2.Operation(name=record.operation, done=record.terminal)
    operation.metadata.Pack(OperationMetadataPb(build=record.build))
    if record.terminal:
        error = OPERATION_ERRORS.get(record.build.status)
        if error is None:
            operation.response.Pack(record.build)
        else:
            operation.error.code, operation.error.message = error
    return json_format.MessageToDict(operation, use_integers_for_enums=ints)


def timestamp(moment: Any) -> str:
    """A protobuf Timestamp as the filter language compares it (RFC 3339, UTC)."""
    if not moment.seconds and not moment.nanos:
        return ""
    return moment.ToDatetime(tzinfo=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TERM = re.compile(r'^\s*([a-z_.]+)\s*(!=|>=|<=|=|>|<|:)\s*"?([^"]*)"?\s*$')
_FILTER_FIELDS = {
    "id": lambda b: [b.id],
    "status": lambda b: [STATUS.Name(b.status)],
    "tags": lambda b: list(b.tags),
    "images": lambda b: list(b.images),
    "results.images.name": lambda b: [image.name for image in b.results.images],
    "results.images.digest": lambda b: [image.digest for image in b.results.images],
    "trigger_id": lambda b: [b.build_trigger_id],
    "build_trigger_id": lambda b: [b.build_trigger_id],
    "project_id": lambda b: [b.project_id],
    "create_time": lambda b: [timestamp(b.create_time)],
    "start_time": lambda b: [timestamp(b.start_time)],
    "finish_time": lambda b: [timestamp(b.finish_time)],
}


def build_filter(text: str) -> Any:
    """A predicate for ListBuilds' `filter`: terms such as `status="WORKING"`,
    `tags="x"`, `create_time>"2024-01-01T00:00:00Z"`, joined by AND. InvalidBuild otherwise."""
    terms = []
    for part in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        match = _TERM.match(part)
        if match is None or match[1] not in _FILTER_FIELDS:
            raise InvalidBuild(f"invalid filter: {text!r}")
        terms.append((_FILTER_FIELDS[match[1]], match[2], match[3]))

    def accept(build: Any) -> bool:
        return all(_holds(values(build), op, value) for values, op, value in terms)

    return accept


def _holds(values: list[str], op: str, wanted: str) -> bool:
    if op == "!=":
        return wanted not in values
    if op in ("=", ":"):
        return wanted in values
    compare = {">": str.__gt__, "<": str.__lt__, ">=": str.__ge__, "<=": str.__le__}[op]
    return any(value and compare(value, wanted) for value in values)
