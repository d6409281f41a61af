"""Cloud Build and Cloud Storage as their client libraries reach them, for one project: the
source staged in the bucket (made when missing, named as gcloud names it), CreateBuild, GetBuild
and CancelBuild on the REST transport with the access token, the log tailed by ranged reads,
and each refusal as mlrelease's error with its fix. Every request is bounded by
`request_timeout_s`.
"""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from mlrelease.errors import (
    AuthError,
    ConfigError,
    ExternalServiceError,
    Interrupted,
    PermissionDenied,
    PreconditionError,
    one_line,
)

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials

SERVICE = "cloudbuild.googleapis.com"
POLL_S = 1.0
_RUNNING = ("STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING")
# Cloud Build prefixes each line of a step's output: `Step #0: ` or `Step #0 - "build": `.
_STEP_PREFIX = re.compile(r'^Step #\d+(?: - "[^"]*")?: ')
_LAST_LINES = 8


def default_bucket(project: str) -> str:
    """The staging bucket gcloud uses: `<project>_cloudbuild`, with `:` and `.` of a
    domain-scoped project as `_`, and `google` (not allowed in bucket names) as `elgoog`."""
    safe = project.replace(":", "_").replace(".", "_").replace("google", "elgoog")
    return f"{safe}_cloudbuild"


def staged_object_name(now: float | None = None) -> str:
    """`source/<seconds.micro>-<uuid hex>.tgz`, as gcloud names a staged source."""
    stamp = time.time() if now is None else now
    return f"source/{stamp:.6f}-{uuid.uuid4().hex}.tgz"


class CloudBuild:
    """Cloud Build and the Cloud Storage bucket it stages in, for `settings`' project, seen
    with `credentials`."""

    def __init__(self, settings: Settings, credentials: GoogleCredentials) -> None:
        if not settings.gcp_project:
            raise ConfigError(
                "builder cloud-build needs gcp_project: Cloud Build runs in a GCP project",
                hint="set gcp_project (MLRELEASE_GCP_PROJECT), or use --builder buildkit",
            )
        self.settings = settings
        self.project = settings.gcp_project
        self.bucket = settings.cloud_build_bucket or default_bucket(self.project)
        self.identity = credentials.identity
        self._credentials = credentials.credentials
        self._builds: Any = None
        self._storage: Any = None

    def _names(self, build_id: str | None = None) -> dict[str, str]:
        """The request fields that name the project (and build): `projects/P/builds` for the
        global location, `projects/P/locations/L/builds` for a regional one."""
        location = self.settings.cloud_build_location
        if location == "global":
            return {"project_id": self.project, **({"id": build_id} if build_id else {})}
        parent = f"projects/{self.project}/locations/{location}"
        return {"name": f"{parent}/builds/{build_id}"} if build_id else {"parent": parent}

    @property
    def builds(self) -> Any:
        """The Cloud Build client, on a REST transport that sends the access token."""
        if self._builds is None:
            from google.cloud.devtools import cloudbuild_v1
            from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports.rest import (
                CloudBuildRestTransport,
            )

            from mlrelease.google_api import rest_client

            self._builds = rest_client(
                cloudbuild_v1.CloudBuildClient,
                CloudBuildRestTransport,
                self.settings.cloud_build_endpoint,
                self._credentials,
            )
        return self._builds

    @property
    def storage(self) -> Any:
        """The Cloud Storage client (STORAGE_EMULATOR_HOST, as the library reads it, points it
        elsewhere)."""
        if self._storage is None:
            from google.cloud import storage  # type: ignore[attr-defined]

            self._storage = storage.Client(project=self.project, credentials=self._credentials)
        return self._storage

    # Staging
    def stage(self, tarball: IO[bytes]) -> tuple[str, int]:
        """Upload the source to the bucket (made first when missing): (object, generation)."""
        timeout = self.settings.request_timeout_s
        with self._storage_errors():
            bucket = self.storage.lookup_bucket(self.bucket, timeout=timeout)
            if bucket is None:
                bucket = self.storage.create_bucket(self.bucket, timeout=timeout)
            elif not self.settings.cloud_build_bucket:
                self._require_own(timeout)
            blob = bucket.blob(staged_object_name())
            blob.upload_from_file(
                tarball, content_type="application/gzip", timeout=timeout * self.settings.attempts
            )
        return blob.name, int(blob.generation or 0)

    def _require_own(self, timeout: float) -> None:
        """The default bucket's name is predictable: one that exists in another project may be
        someone else's, waiting for our sources (gcloud refuses it too)."""
        listed = self.storage.list_buckets(prefix=self.bucket, timeout=timeout)
        if not any(found.name == self.bucket for found in listed):
            raise PreconditionError(
                f"the bucket gs://{self.bucket} exists, but not in project {self.project}: "
                "it may belong to someone else",
                hint="set `bucket` under [tool.mlrelease.cloud_build] to a bucket of this project",
            )

    # Building
    def create(self, step: dict[str, Any], images: list[str], source: tuple[str, int]) -> Any:
        """CreateBuild of one `step` pushing `images`, from the staged `source`; the Build as
        the operation's metadata holds it."""
        from google.cloud.devtools import cloudbuild_v1
        from google.protobuf import duration_pb2

        options: dict[str, Any] = {"logging": cloudbuild_v1.BuildOptions.LoggingMode.GCS_ONLY}
        if self.settings.cloud_build_machine_type:
            options["machine_type"] = self.settings.cloud_build_machine_type
        build = cloudbuild_v1.Build(
            source={"storage_source": {"bucket": self.bucket, "object_": source[0],
                                       "generation": source[1]}},
            steps=[step],
            images=images,
            timeout=duration_pb2.Duration(seconds=int(self.settings.cloud_build_timeout_s)),
            logs_bucket=f"gs://{self.bucket}/logs",
            options=options,
            tags=["mlrelease"],
        )  # fmt: skip
        with self._build_errors():
            operation = self.builds.create_build(
                request={**self._names(), "build": build},
                timeout=self.settings.request_timeout_s,
                retry=self._retry(),
            )
        return operation.metadata.build

    def get(self, build_id: str) -> Any:
        with self._build_errors():
            return self.builds.get_build(
                request=self._names(build_id),
                timeout=self.settings.request_timeout_s,
                retry=self._retry(),
            )

    def answers(self) -> None:
        """ListBuilds of one build: the API is enabled and the caller may read builds."""
        with self._build_errors():
            pager = self.builds.list_builds(
                request={**self._names(), "page_size": 1},
                timeout=self.settings.request_timeout_s,
                retry=self._retry(),
            )
            next(iter(pager.builds), None)

    def bucket_exists(self) -> bool:
        """Whether the staging bucket exists (else the first build makes it)."""
        with self._storage_errors():
            found = self.storage.lookup_bucket(self.bucket, timeout=self.settings.request_timeout_s)
        return found is not None

    def cancel(self, build_id: str) -> None:
        with self._build_errors():
            self.builds.cancel_build(
                request=self._names(build_id), timeout=self.settings.request_timeout_s
            )

    def follow(self, build: Any, on_log: Callable[[str], None]) -> tuple[Any, list[str]]:
        """Tail the build's log until it ends: the finished Build and its last log lines.
        Ctrl-C cancels the build (Interrupted, exit 130)."""
        from collections import deque

        tail = LogTail(self.storage, build, self.settings.request_timeout_s)
        last: deque[str] = deque(maxlen=_LAST_LINES)

        def lines() -> None:
            for line in tail.read():
                text = _STEP_PREFIX.sub("", line)
                last.append(text)
                if text.strip():
                    on_log(text)

        limit = time.monotonic() + self.settings.cloud_build_timeout_s + 600
        on_log(f"Cloud Build: build {build.id} {build.status.name.lower()}; log: {build.log_url}")
        with _deferred_interrupt() as interrupted:
            while build.status.name in _RUNNING:
                if interrupted.wait(POLL_S):
                    self.cancel(build.id)
                    raise Interrupted(
                        f"interrupted: the Cloud Build build {build.id} was cancelled",
                        hint=f"rerun the build; its log so far: {build.log_url}",
                    )
                if time.monotonic() > limit:
                    raise ExternalServiceError(
                        f"the Cloud Build build {build.id} still runs after its timeout of "
                        f"{self.settings.cloud_build_timeout_s:g} s and ten minutes more",
                        hint=f"see its log: {build.log_url}",
                    )
                lines()
                build = self.get(build.id)
        lines()  # what was written after the last read
        return build, list(last)

    def _retry(self) -> Any:
        from mlrelease.google_api import transient_retry

        return transient_retry(deadline=self.settings.request_timeout_s * self.settings.attempts)

    @contextmanager
    def _build_errors(self) -> Iterator[None]:
        """Cloud Build's refusals as mlrelease's errors, each with its fix."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions
        from google.protobuf import json_format

        who = self.identity or "the caller"
        try:
            yield
        except (exceptions.Forbidden, exceptions.PermissionDenied) as err:
            if _disabled(err):
                raise PreconditionError(
                    f"the Cloud Build API is not enabled in project {self.project}",
                    hint=f"gcloud services enable {SERVICE} --project={self.project}",
                ) from None
            raise PermissionDenied(
                f"{who} may not create or read builds in {self.project}: {one_line(err.message)}",
                hint=f"grant roles/cloudbuild.builds.editor: gcloud projects "
                f"add-iam-policy-binding {self.project} --member={_member(self.identity)} "
                "--role=roles/cloudbuild.builds.editor",
            ) from None
        except exceptions.NotFound as err:
            raise PreconditionError(
                f"Cloud Build finds no project {self.project} (or no such build): "
                f"{one_line(err.message)}",
                hint="check gcp_project, then enable the API: "
                f"gcloud services enable {SERVICE} --project={self.project}",
            ) from None
        except exceptions.Unauthenticated as err:
            raise AuthError(
                f"Cloud Build rejected the credentials of {who}: {one_line(err.message)}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except (exceptions.TooManyRequests, exceptions.ResourceExhausted) as err:
            raise ExternalServiceError(
                f"Cloud Build's quota is exhausted in {self.project}: {one_line(err.message)}",
                hint="retry later, or ask for a higher quota",
            ) from None
        except exceptions.GoogleAPICallError as err:
            raise ExternalServiceError(
                f"the Cloud Build API failed ({err.code}): {one_line(err.message)}",
                hint="retry; Cloud Build's status: https://status.cloud.google.com",
            ) from None
        except json_format.ParseError as err:
            raise ExternalServiceError(
                f"the Cloud Build API at {self.settings.cloud_build_endpoint} answered what its "
                f"client cannot read: {one_line(err)}",
                hint="retry; report it if it persists",
            ) from None
        except exceptions.RetryError as err:
            raise ExternalServiceError(
                f"the Cloud Build API at {self.settings.cloud_build_endpoint} kept failing: "
                f"{one_line(str(err.cause or err))}",
                hint="retry later; a slow network may need a higher request_timeout_s",
            ) from None
        except auth_exceptions.GoogleAuthError as err:
            raise AuthError(
                f"cannot authenticate to Cloud Build: {one_line(str(err))}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except OSError as err:  # requests' connection errors and timeouts
            raise ExternalServiceError(
                f"the Cloud Build API at {self.settings.cloud_build_endpoint} did not answer: "
                f"{one_line(str(err))}",
                hint="retry later; a slow network may need a higher request_timeout_s",
            ) from None

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """Cloud Storage's refusals while staging, each with its fix."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions

        who = self.identity or "the caller"
        try:
            yield
        except (exceptions.Forbidden, exceptions.PermissionDenied, exceptions.Unauthorized) as err:
            raise PermissionDenied(
                f"{who} may not use the bucket gs://{self.bucket} for the build's source: "
                f"{one_line(err.message)}",
                hint=f"grant roles/storage.admin on it: gcloud storage buckets "
                f"add-iam-policy-binding gs://{self.bucket} --member={_member(self.identity)} "
                "--role=roles/storage.admin (or set cloud_build.bucket to one you may use)",
            ) from None
        except exceptions.Conflict as err:
            raise PreconditionError(
                f"the bucket gs://{self.bucket} exists in another project: {one_line(err.message)}",
                hint="set `bucket` under [tool.mlrelease.cloud_build] to a bucket of this project",
            ) from None
        except exceptions.GoogleAPICallError as err:
            raise ExternalServiceError(
                f"Cloud Storage failed ({err.code}) staging the build's source: "
                f"{one_line(err.message)}",
                hint="retry",
            ) from None
        except auth_exceptions.GoogleAuthError as err:
            raise AuthError(
                f"cannot authenticate to Cloud Storage: {one_line(str(err))}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except OSError as err:
            raise ExternalServiceError(
                f"Cloud Storage did not answer while staging the build's source: "
                f"{one_line(str(err))}",
                hint="retry later; a slow network may need a higher request_timeout_s",
            ) from None


@contextmanager
def _deferred_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C sets the event instead of raising wherever Python happens to be (in a response
    half read, in a finaliser), so that the loop can cancel the build cleanly."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


class LogTail:
    """The new lines of a build's `log-<id>.txt`, read by ranged requests (416 and 404: nothing
    new yet), as gcloud's GCSLogTailer reads them."""

    def __init__(self, storage: Any, build: Any, timeout_s: float) -> None:
        bucket, _, folder = str(build.logs_bucket).removeprefix("gs://").partition("/")
        name = f"{folder.rstrip('/')}/log-{build.id}.txt".lstrip("/")
        self._blob = storage.bucket(bucket).blob(name)
        self._timeout = timeout_s
        self._cursor = 0
        self._partial = b""

    def read(self) -> list[str]:
        from google.api_core import exceptions

        try:
            data = self._blob.download_as_bytes(start=self._cursor, timeout=self._timeout)
        except (exceptions.NotFound, exceptions.RequestRangeNotSatisfiable):
            return []
        except (exceptions.GoogleAPICallError, OSError):
            return []  # a missed read is read again at the next poll
        self._cursor += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in complete]


def _disabled(err: Any) -> bool:
    """Whether a 403 says the API is not enabled (reason SERVICE_DISABLED)."""
    reason = getattr(err, "reason", None)
    return reason == "SERVICE_DISABLED" or "SERVICE_DISABLED" in str(err.details or "")


def _member(identity: str | None) -> str:
    return f"serviceAccount:{identity}" if identity else "PRINCIPAL"
