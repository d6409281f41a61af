"""The Artifact Registry API (v1, REST): the repository, permissions on it, tags and images.

The client is built on its REST transport, sending the access token (`google_api.rest_client`);
`gar_endpoint` replaces Google's host.
A 403 on this transport raises `Forbidden` (not `PermissionDenied`); both are handled.
Transient failures (429, 5xx) are retried with backoff, then reported as exit 5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mlrelease.errors import (
    AuthError,
    PermissionDenied,
    RegistryError,
    RepositoryNotFound,
    one_line,
)
from mlrelease.google_api import is_timeout, rest_client, transient_retry

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials

UPLOAD_PERMISSION = "artifactregistry.repositories.uploadArtifacts"
_T = TypeVar("_T")


@dataclass(frozen=True)
class RepositoryInfo:
    """What the API says of the repository."""

    name: str  # projects/P/locations/L/repositories/R
    format: str  # DOCKER, MAVEN, ...
    immutable_tags: bool


@dataclass(frozen=True)
class RemoteImage:
    """One image (manifest) in the repository."""

    uri: str  # HOST/P/R/IMAGE@sha256:...
    digest: str
    tags: tuple[str, ...]
    compressed_size_bytes: int
    upload_time: datetime | None


class ArtifactRegistry:
    """One repository in Artifact Registry, seen through its API with the given credentials."""

    def __init__(self, settings: Settings, credentials: GoogleCredentials) -> None:
        if not settings.gcp_project:
            raise ValueError("the Artifact Registry API needs gcp_project")
        self.settings = settings
        self.identity = credentials.identity
        self.repository_name = (
            f"projects/{settings.gcp_project}/locations/{settings.region}"
            f"/repositories/{settings.repository}"
        )
        self._credentials = credentials.credentials
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The generated client on a REST transport that sends the access token."""
        if self._client is None:
            from google.cloud.artifactregistry_v1 import ArtifactRegistryClient
            from google.cloud.artifactregistry_v1.services.artifact_registry.transports.rest import (  # noqa: E501
                ArtifactRegistryRestTransport,
            )

            self._client = rest_client(
                ArtifactRegistryClient,
                ArtifactRegistryRestTransport,
                self.settings.gar_endpoint,
                self._credentials,
            )
        return self._client

    def get_repository(self) -> RepositoryInfo:
        """The repository; RepositoryNotFound with the command that creates it."""
        repository = self._call(
            lambda **limits: self.client.get_repository(name=self.repository_name, **limits)
        )
        immutable = bool(repository.docker_config and repository.docker_config.immutable_tags)
        return RepositoryInfo(repository.name, repository.format_.name, immutable)

    def missing_permissions(self, permissions: list[str]) -> list[str]:
        """Those of `permissions` the credentials do not hold on the repository."""
        from google.iam.v1 import iam_policy_pb2

        request = iam_policy_pb2.TestIamPermissionsRequest(
            resource=self.repository_name, permissions=permissions
        )
        granted = self._call(
            lambda **limits: self.client.test_iam_permissions(request=request, **limits)
        )
        return [name for name in permissions if name not in set(granted.permissions)]

    def require_upload_permission(self) -> None:
        """PermissionDenied with the grant command unless uploads are allowed."""
        if self.missing_permissions([UPLOAD_PERMISSION]):
            raise PermissionDenied(
                f"{self._who()} lacks {UPLOAD_PERMISSION} on {self._where()}",
                hint=self.grant_hint(),
            )

    def tag_digest(self, tag: str) -> str | None:
        """The digest the image's `tag` points at, None when the tag does not exist."""
        from google.api_core import exceptions

        try:
            found = self._call(
                lambda **limits: self.client.get_tag(name=self._tag(tag), **limits),
                passing=(exceptions.NotFound,),
            )
        except exceptions.NotFound:
            return None
        # version: projects/P/locations/L/repositories/R/packages/IMG/versions/sha256:...
        return str(found.version).rsplit("/", 1)[-1] or None

    def create_tag(self, tag: str, digest: str) -> str | None:
        """Create `tag` at `digest`, which the API refuses when the tag exists: then the digest
        the tag already holds is returned (None: created, at `digest`)."""
        from google.api_core import exceptions
        from google.cloud.artifactregistry_v1 import Tag

        request = Tag(name=self._tag(tag), version=self._version(digest))
        try:
            self._call(
                lambda **limits: self.client.create_tag(
                    parent=self._package(), tag=request, tag_id=tag, **limits
                ),
                passing=(exceptions.AlreadyExists, exceptions.Conflict),
            )
        except (exceptions.AlreadyExists, exceptions.Conflict):
            held = self.tag_digest(tag)
            if held is None:  # deleted in between: the next push finds it free
                raise RegistryError(f"{tag} existed, then vanished, while it was created") from None
            return held
        return None

    def move_tag(self, tag: str, digest: str) -> None:
        """Point the existing `tag` at `digest` (a mutable repository only)."""
        from google.cloud.artifactregistry_v1 import Tag
        from google.protobuf import field_mask_pb2

        request = Tag(name=self._tag(tag), version=self._version(digest))
        mask = field_mask_pb2.FieldMask(paths=["version"])
        self._call(lambda **limits: self.client.update_tag(tag=request, update_mask=mask, **limits))

    def delete_tag(self, tag: str) -> None:
        """Remove `tag` (not the image it points at); a tag already gone is no error."""
        from google.api_core import exceptions

        try:
            self._call(
                lambda **limits: self.client.delete_tag(name=self._tag(tag), **limits),
                passing=(exceptions.NotFound,),
            )
        except exceptions.NotFound:
            return

    def _package(self) -> str:
        return f"{self.repository_name}/packages/{_escape(self.settings.image)}"

    def _tag(self, tag: str) -> str:
        return f"{self._package()}/tags/{tag}"

    def _version(self, digest: str) -> str:
        return f"{self._package()}/versions/{digest}"

    def list_images(self) -> list[RemoteImage]:
        """Every image of the configured image name (a repository holds many), with its tags,
        digest, compressed size and upload time."""

        def fetch(**limits: Any) -> list[Any]:
            return list(self.client.list_docker_images(parent=self.repository_name, **limits))

        # uri: HOST/PROJECT/REPOSITORY/IMAGE@sha256:...
        suffix = f"/{self.settings.repository}/{self.settings.image}"
        images = []
        for item in self._call(fetch):
            if not item.uri.partition("@")[0].endswith(suffix):
                continue
            images.append(
                RemoteImage(
                    uri=item.uri,
                    digest=item.uri.rpartition("@")[2],
                    tags=tuple(item.tags),
                    compressed_size_bytes=int(item.image_size_bytes),
                    upload_time=_datetime(item.upload_time),
                )
            )
        return images

    def create_hint(self) -> str:
        s = self.settings
        return (
            f"create the repository: gcloud artifacts repositories create {s.repository} "
            f"--repository-format=docker --location={s.region} --project={s.gcp_project}"
        )

    def grant_hint(self) -> str:
        s = self.settings
        member = f"serviceAccount:{self.identity}" if self.identity else "PRINCIPAL"
        return (
            f"grant roles/artifactregistry.writer to {self.identity or 'the caller'} on "
            f"{s.repository}: gcloud artifacts repositories add-iam-policy-binding "
            f"{s.repository} --location={s.region} --project={s.gcp_project} "
            f"--member={member} --role=roles/artifactregistry.writer"
        )

    def _who(self) -> str:
        return self.identity or "the caller"

    def _where(self) -> str:
        s = self.settings
        return f"the repository {s.repository} in {s.gcp_project}/{s.region}"

    def _call(self, call: Callable[..., _T], passing: tuple[type[BaseException], ...] = ()) -> _T:
        """`call(retry=..., timeout=...)`: every request bounded by `request_timeout_s`, the
        retries of transient failures by `attempts` times that; the exceptions in `passing`
        reach the caller as Google raised them."""
        timeout = self.settings.request_timeout_s
        retry = transient_retry(deadline=timeout * self.settings.attempts)
        try:
            with self._translated(passing):
                return call(retry=retry, timeout=timeout)
        except passing:
            raise

    @contextmanager
    def _translated(self, passing: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Google's exceptions as mlrelease's errors, with the fix for each (but `passing`)."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions
        from google.protobuf import json_format

        try:
            yield
        except passing:
            raise
        except exceptions.NotFound as err:
            raise RepositoryNotFound(
                f"{self._where()} does not exist (or {self._who()} may not see it)",
                hint=self.create_hint(),
            ) from err
        except (exceptions.Forbidden, exceptions.PermissionDenied) as err:
            raise PermissionDenied(
                f"{self._who()} is denied access to {self._where()}: {one_line(err.message)}",
                hint=self.grant_hint(),
            ) from None
        except exceptions.Unauthenticated as err:
            raise AuthError(
                f"the Artifact Registry API rejected the credentials of {self._who()}: "
                f"{one_line(err.message)}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except exceptions.GoogleAPICallError as err:
            raise RegistryError(
                f"the Artifact Registry API failed ({err.code}): {one_line(err.message)}",
            ) from None
        except json_format.ParseError as err:
            raise RegistryError(
                f"the Artifact Registry API at {self.settings.gar_endpoint} answered what its "
                f"client cannot read: {one_line(err)}",
            ) from None
        except exceptions.RetryError as err:
            if err.cause is not None and is_timeout(err.cause):
                raise RegistryError(
                    f"the Artifact Registry API at {self.settings.gar_endpoint} kept not "
                    f"answering within {self.settings.request_timeout_s:g} s",
                    hint="retry later; a slow network may need a higher request_timeout_s",
                ) from None
            raise RegistryError(
                f"the Artifact Registry API kept failing: {one_line(str(err.cause or err))}",
            ) from None
        except auth_exceptions.GoogleAuthError as err:
            raise AuthError(
                f"cannot authenticate to the Artifact Registry API: {one_line(str(err))}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except OSError as err:  # requests' connection errors and timeouts are OSErrors
            if is_timeout(err):
                raise RegistryError(
                    f"the Artifact Registry API at {self.settings.gar_endpoint} did not answer "
                    f"within {self.settings.request_timeout_s:g} s",
                    hint="retry later; a slow network may need a higher request_timeout_s",
                ) from None
            raise RegistryError(
                f"cannot reach the Artifact Registry API at {self.settings.gar_endpoint}: "
                f"{type(err).__name__}",
            ) from None


def _escape(image: str) -> str:
    # Package IDs escape "/" as %2F (a nested image name is one package).
    return image.replace("/", "%2F")


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return value.ToDatetime()  # type: ignore[no-any-return]
    except AttributeError:
        return None
