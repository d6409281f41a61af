"""The Container Analysis API (Grafeas v1, REST): the occurrences that Artifact Registry's
Container Scanning writes for an image, in the image's project.

An image is named by its resource URL, `https://HOST/PATH@sha256:...`, and queried with the
filters gcloud sends (`kind="VULNERABILITY" AND resourceUrl="..."`). The client is grafeas_v1's
(what google-cloud-containeranalysis hands out) on a REST transport made here:
`ContainerAnalysisClient.get_grafeas_client()` always builds a gRPC one. As for Artifact
Registry, the transport has `always_use_jwt_access=False`, so requests carry the OAuth access
token, and `container_analysis_endpoint` replaces Google's host. Every request is bounded by
`request_timeout_s`; 429, 5xx, resets and timeouts are retried with backoff, then exit 5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from mlrelease.errors import (
    AuthError,
    ExternalServiceError,
    PermissionDenied,
    PreconditionError,
    one_line,
)
from mlrelease.google_api import is_timeout, rest_client, transient_retry

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.credentials import GoogleCredentials

SERVICE = "containerscanning.googleapis.com"
VIEWER_ROLE = "roles/containeranalysis.occurrences.viewer"
PAGE_SIZE = 1000  # the API's largest page
_T = TypeVar("_T")


class ContainerAnalysis:
    """The occurrences of one project, seen through the API with the given credentials."""

    def __init__(self, settings: Settings, credentials: GoogleCredentials) -> None:
        if not settings.gcp_project:
            raise ValueError("the Container Analysis API needs gcp_project")
        self.settings = settings
        self.project = settings.gcp_project
        self.identity = credentials.identity
        self._credentials = credentials.credentials
        self._client: Any = None

    @property
    def client(self) -> Any:
        """grafeas_v1's client on a REST transport that sends the access token."""
        if self._client is None:
            from grafeas.grafeas_v1 import GrafeasClient
            from grafeas.grafeas_v1.services.grafeas.transports.rest import GrafeasRestTransport

            self._client = rest_client(
                GrafeasClient,
                GrafeasRestTransport,
                self.settings.container_analysis_endpoint,
                self._credentials,
            )
        return self._client

    def occurrences(self, kind: str, resource_url: str) -> list[Any]:
        """Every occurrence of `kind` (VULNERABILITY, DISCOVERY) for the image `resource_url`,
        all pages of them (grafeas_v1.Occurrence)."""
        return self._list(f'kind="{kind}" AND resourceUrl="{resource_url}"')

    def first_occurrence(self, kind: str, prefix: str) -> Any | None:
        """One occurrence of `kind` for any image whose resource URL starts with `prefix`, or
        None: a single small request, to see that the API answers and what it holds."""
        found = self._list(f'kind="{kind}" AND has_prefix(resourceUrl, "{prefix}")', limit=1)
        return found[0] if found else None

    def enable_hint(self) -> str:
        return (
            f"enable Container Scanning (it enables Container Analysis too): gcloud services "
            f"enable {SERVICE} --project={self.project}"
        )

    def grant_hint(self) -> str:
        member = f"serviceAccount:{self.identity}" if self.identity else "PRINCIPAL"
        return (
            f"grant {VIEWER_ROLE} to {self._who()}: gcloud projects add-iam-policy-binding "
            f"{self.project} --member={member} --role={VIEWER_ROLE}"
        )

    def _list(self, query: str, limit: int | None = None) -> list[Any]:
        from grafeas.grafeas_v1 import ListOccurrencesRequest

        request = ListOccurrencesRequest(
            parent=f"projects/{self.project}", filter=query, page_size=limit or PAGE_SIZE
        )

        def fetch(**limits: Any) -> list[Any]:
            pager = self.client.list_occurrences(request=request, **limits)
            if limit is not None:  # the first page only
                return list(pager.occurrences)[:limit]
            return list(pager)  # the pager asks for the next pages with the same limits

        return self._call(fetch)

    def _who(self) -> str:
        return self.identity or "the caller"

    def _call(self, call: Callable[..., _T]) -> _T:
        """`call(retry=..., timeout=...)`: every request bounded by `request_timeout_s`, the
        retries of transient failures by `attempts` times that."""
        timeout = self.settings.request_timeout_s
        with self._translated():
            return call(
                retry=transient_retry(deadline=timeout * self.settings.attempts), timeout=timeout
            )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Google's exceptions as mlrelease's errors, with the fix for each."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions

        endpoint = self.settings.container_analysis_endpoint
        try:
            yield
        except (exceptions.Forbidden, exceptions.PermissionDenied) as err:
            if err.reason == "SERVICE_DISABLED":
                raise PreconditionError(
                    f"the Container Analysis API is not enabled in {self.project}",
                    hint=self.enable_hint(),
                    detail=one_line(err.message),
                ) from None
            raise PermissionDenied(
                f"{self._who()} may not read Container Analysis occurrences in "
                f"{self.project}: {one_line(err.message)}",
                hint=self.grant_hint(),
            ) from None
        except exceptions.Unauthenticated as err:
            raise AuthError(
                f"the Container Analysis API rejected the credentials of {self._who()}: "
                f"{one_line(err.message)}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except exceptions.GoogleAPICallError as err:
            raise ExternalServiceError(
                f"the Container Analysis API failed ({err.code}): {one_line(err.message)}",
            ) from None
        except exceptions.RetryError as err:
            what = "answering in time" if is_timeout(err.cause) else "failing"
            raise ExternalServiceError(
                f"the Container Analysis API at {endpoint} kept {what} "
                f"({self.settings.attempts} attempts of {self.settings.request_timeout_s:g} s)",
                hint="retry later; a slow network may need a higher request_timeout_s",
            ) from None
        except auth_exceptions.GoogleAuthError as err:
            raise AuthError(
                f"cannot authenticate to the Container Analysis API: {one_line(str(err))}",
                hint="check the credentials with `mlrelease auth`",
            ) from None
        except OSError as err:  # requests' connection errors and timeouts are OSErrors
            raise ExternalServiceError(
                f"cannot reach the Container Analysis API at {endpoint}: {type(err).__name__}",
                hint=f"check that {endpoint} is reachable, then retry",
            ) from None
