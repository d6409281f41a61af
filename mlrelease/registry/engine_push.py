"""The engine's push: one docker-py push stream, read item by item, with retries.

docker-py never raises for a failed push: the failure is a stream item with `errorDetail`.
Each is classified by whose fault it is: `denied` and `unauthorized` (exit 4), `name unknown`
(exit 3), and transient failures (5xx, 429, resets, timeouts), which are retried with
exponential backoff before becoming exit 5. Credentials go per call (`auth_config`), never into
Docker's config file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlrelease.errors import (
    AuthError,
    EngineError,
    PermissionDenied,
    PreconditionError,
    PushFailed,
    RepositoryNotFound,
    TransientError,
    one_line,
)
from mlrelease.results.push import PushEvent

if TYPE_CHECKING:
    import docker

    from mlrelease.refs import ImageRef

_TRANSIENT = re.compile(
    r"\b(5\d\d|429)\b|too ?many ?requests|service unavailable|bad gateway|gateway time|"
    r"internal server error|connection reset|broken pipe|timeout|timed out|\bEOF\b|"
    r"connection refused|i/o timeout|no such host",
    re.IGNORECASE,
)


class Deadline:
    """The time a whole command may take: each attempt and each wait checks what is left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0


@dataclass(frozen=True)
class EnginePush:
    """One image to push: the local image, the reference it goes out as (its own local name,
    so that two pushes on one engine never push each other's image), and how hard to try."""

    image_id: str
    ref: ImageRef
    attempts: int
    deadline: Deadline
    backoff_s: float = 1.0


def push_with_retry(
    client: docker.DockerClient,
    push: EnginePush,
    auth_config: Callable[[bool], dict[str, str] | None],
    on_progress: Callable[[PushEvent], None],
) -> tuple[str, int]:
    """Tag the local image as `push.ref` and push it; (digest, attempts used).

    `auth_config(refresh)` gives the credentials for one call; after an `unauthorized` answer
    it is asked once with `refresh=True` (an access token that expired mid-release) and the
    push is tried again. Transient failures are retried until the attempts or the deadline
    run out, then PushFailed (exit 5) with the attempts in its data."""
    from docker.errors import DockerException

    ref = push.ref
    try:
        client.images.get(push.image_id).tag(ref.repository, ref.tag)
    except DockerException as err:
        raise EngineError(f"the engine could not tag {push.image_id[:19]} as {ref}") from err
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return _push_once(client, ref, auth_config(False), on_progress), attempt
        except AuthError as err:
            if refreshed or "unauthorized" not in err.message.lower():
                err.data = {"attempts": attempt}
                raise
            refreshed = True
            on_progress(PushEvent(None, "the registry refused the token; refreshing it once"))
            auth_config(True)
            continue
        except TransientError as err:
            wait = push.backoff_s * 2 ** (attempt - 1)
            if attempt >= push.attempts or push.deadline.left() < wait:
                why = f"{attempt} attempts" if attempt >= push.attempts else "its deadline"
                raise PushFailed(
                    f"the push of {ref} failed after {why}; last: {err.message}",
                    hint="the registry is failing; retry later (a second push resumes: "
                    "layers already sent are skipped)",
                    data={"attempts": attempt},
                ) from None
            on_progress(
                PushEvent(
                    None,
                    f"attempt {attempt} of {push.attempts} failed ({err.message}); "
                    f"retrying in {wait:g} s",
                )
            )
            time.sleep(wait)


def _push_once(
    client: docker.DockerClient,
    ref: ImageRef,
    auth_config: dict[str, str] | None,
    on_progress: Callable[[PushEvent], None],
) -> str:
    import requests
    import urllib3
    from docker.errors import APIError, DockerException

    digest = None
    try:
        stream = client.api.push(
            ref.repository, tag=ref.tag, auth_config=auth_config, stream=True, decode=True
        )
        for item in stream:
            if "error" in item or "errorDetail" in item:
                raise classify(
                    ref, str(item.get("errorDetail", {}).get("message") or item["error"])
                )
            if "aux" in item and item["aux"].get("Digest"):
                digest = str(item["aux"]["Digest"])
            _report_progress(item, on_progress)
    except APIError as err:
        raise classify(ref, str(err.explanation or err)) from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as err:
        # The stream went silent past the client's read timeout (a frozen registry), or broke.
        raise TransientError(
            f"the engine's push stream stalled or broke: {type(err).__name__}"
        ) from None
    except DockerException as err:
        raise EngineError(
            f"the Docker engine failed during the push: {type(err).__name__}"
        ) from err
    except OSError as err:
        raise TransientError(f"the connection to the engine broke: {type(err).__name__}") from None
    if digest is None:
        raise PushFailed(f"the engine finished pushing {ref} without reporting a digest")
    return digest


def _report_progress(item: dict[str, Any], on_progress: Callable[[PushEvent], None]) -> None:
    status = str(item.get("status", ""))
    detail = item.get("progressDetail") or {}
    if item.get("id") and status:
        on_progress(PushEvent(str(item["id"]), status, detail.get("current"), detail.get("total")))
    elif status:
        on_progress(PushEvent(None, status))


def classify(ref: ImageRef, message: str) -> Exception:
    """A failed push as the error that says whose fault it is."""
    text = one_line(message)
    lowered = text.lower()
    if "denied" in lowered:
        return PermissionDenied(
            f"the registry denied the push of {ref}: {text}",
            hint="grant roles/artifactregistry.writer on the repository to the pushing identity",
        )
    if "unauthorized" in lowered or "authentication required" in lowered:
        return AuthError(
            f"the registry refused the credentials for {ref}: {text}",
            hint="check the credentials with `mlrelease auth`",
        )
    if "immutab" in lowered:
        return PreconditionError(
            f"the registry refused to move the tag of {ref}: {text}",
            hint="the repository's tags are immutable: release a new version "
            "(`mlrelease bump patch`)",
        )
    if "name unknown" in lowered or "repository name not known" in lowered:
        return RepositoryNotFound(
            f"the registry does not know the repository of {ref}: {text}",
            hint="create the repository (see `mlrelease doctor`), or fix `repository`",
        )
    if _TRANSIENT.search(text):
        return TransientError(text)
    return PushFailed(f"the push of {ref} failed: {text}")
