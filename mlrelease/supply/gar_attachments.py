"""Artifact Registry attachments: documents stored beside a version through the API (v1, REST).

As `gcloud artifacts attachments create` does it: each file is uploaded with `files:upload`
(a multipart media upload to `/upload/v1/{repository}/files:upload`, answered with a long-running
operation whose result is the File, named `.../files/sha256:<hex>`; a file already there is
an operation error "already exists" and keeps that name), then `attachments.create`
(`POST /v1/{repository}/attachments?attachmentId=ID` with `target` the version
`.../packages/PKG/versions/sha256:<hex>`, `type` the media type and `files`), another
operation. `attachments.list` with `filter=target="..."` finds them; `files.download`
(`GET /v1/{file}:download?alt=media`) reads them.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from mlrelease.errors import AuthError, RegistryError, one_line

if TYPE_CHECKING:
    import requests

    from mlrelease.registry.target import Target

POLL_S = 0.2
TRANSIENT = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Attachment:
    """An attachment as the API lists it."""

    name: str
    target: str
    type: str
    files: tuple[str, ...]
    create_time: str  # RFC 3339, "" when the API does not say

    @property
    def subject(self) -> str:
        """The digest of the version it is attached to."""
        return self.target.rpartition("/versions/")[2]

    @property
    def file_digests(self) -> tuple[str, ...]:
        """The digests of its files, from their names (`.../files/sha256:<hex>`); "" for a
        file named otherwise."""
        named = (unquote(name.rpartition("/files/")[2]) for name in self.files)
        return tuple(name if name.startswith("sha256:") else "" for name in named)


class Attachments:
    """The attachments API of the repository a GAR target releases to."""

    def __init__(self, target: Target, *, timeout_s: float, attempts: int) -> None:
        if target.gar is None or target.token is None:
            raise ValueError("attachments need an Artifact Registry target")
        self.target = target
        self.endpoint = target.gar.settings.gar_endpoint
        self.parent = target.gar.repository_name
        self.timeout_s = timeout_s
        self.attempts = attempts

    def version_name(self, digest: str) -> str:
        """The API's name of the image version `digest` (package IDs escape `/`)."""
        package = quote(self.target.gar.settings.image, safe="")  # type: ignore[union-attr]
        return f"{self.parent}/packages/{package}/versions/{digest}"

    def attach(self, digest: str, media_type: str, document: bytes, *, kind: str) -> str:
        """Upload `document` and attach it to version `digest` as `media_type`; the
        attachment's name."""
        return self.create(digest, media_type, [self.upload(document, media_type)], kind=kind)

    def create(self, digest: str, media_type: str, files: list[str], *, kind: str) -> str:
        """Attach the uploaded `files` to version `digest` as `media_type`; the attachment's
        name."""
        attachment_id = f"{kind}-{digest.partition(':')[2][:12]}-{uuid.uuid4().hex[:8]}"
        body = {"target": self.version_name(digest), "type": media_type, "files": files}
        answer = self._request(
            "POST",
            f"{self.endpoint}/v1/{self.parent}/attachments",
            params={"attachmentId": attachment_id},
            json_body=body,
        )
        done = self._wait(answer, "attachments.create")
        if "error" in done:
            raise RegistryError(
                f"Artifact Registry did not create the attachment: {_message(done['error'])}"
            )
        return str((done.get("response") or {}).get("name") or attachment_id)

    def upload(self, data: bytes, media_type: str) -> str:
        """`files:upload` of `data`; the File's name (`.../files/sha256:<hex>`)."""
        boundary = f"mlrelease-{uuid.uuid4().hex}"
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                b"{}\r\n",
                f"--{boundary}\r\nContent-Type: {media_type}\r\n\r\n".encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        answer = self._request(
            "POST",
            f"{self.endpoint}/upload/v1/{self.parent}/files:upload",
            params={"uploadType": "multipart", "alt": "json"},
            data=body,
            content_type=f"multipart/related; boundary={boundary}",
        )
        done = self._wait(answer.get("operation") or {}, "files:upload")
        fallback = f"{self.parent}/files/sha256:{hashlib.sha256(data).hexdigest()}"
        if "error" in done:
            if "already exists" in str(done["error"].get("message", "")):
                return fallback
            raise RegistryError(f"Artifact Registry refused the upload: {_message(done['error'])}")
        return str((done.get("response") or {}).get("name") or fallback)

    def list(self, digest: str, media_type: str | None = None) -> list[Attachment]:
        """The attachments of version `digest` (of `media_type` only, when given)."""
        found: list[Attachment] = []
        token = None
        query = f'target="{self.version_name(digest)}"'
        while True:
            params = {"filter": query, "pageSize": "100"}
            if token:
                params["pageToken"] = token
            page = self._request(
                "GET", f"{self.endpoint}/v1/{self.parent}/attachments", params=params
            )
            for item in page.get("attachments") or []:
                if media_type is None or item.get("type") == media_type:
                    found.append(
                        Attachment(
                            str(item.get("name")),
                            str(item.get("target")),
                            str(item.get("type")),
                            tuple(item.get("files") or ()),
                            str(item.get("createTime") or ""),
                        )
                    )
            token = page.get("nextPageToken")
            if not token:
                return found

    def download(self, file_name: str) -> bytes:
        """The bytes of a File (`files.download`, media)."""
        response = self._send("GET", f"{self.endpoint}/v1/{file_name}:download", {"alt": "media"})
        self._raise_for(response, f"the file {file_name}")
        return response.content

    # The HTTP exchange

    def _wait(self, operation: dict[str, Any], what: str) -> dict[str, Any]:
        """Poll a long-running operation until it is done (within the request timeout)."""
        deadline = time.monotonic() + self.timeout_s
        while not operation.get("done"):
            name = operation.get("name")
            if not name or time.monotonic() > deadline:
                raise RegistryError(f"the Artifact Registry {what} operation did not finish")
            time.sleep(POLL_S)
            operation = self._request("GET", f"{self.endpoint}/v1/{name}")
        return operation

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        if json_body is not None:
            data, content_type = json.dumps(json_body).encode(), "application/json"
        response = self._send(method, url, params, data, content_type)
        self._raise_for(response, url.removeprefix(self.endpoint))
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> requests.Response:
        import requests

        headers = {"Authorization": f"Bearer {self.target.token.reveal()}"}  # type: ignore[union-attr]
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(1, self.attempts + 1):
            try:
                response = requests.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout_s
                )
            except requests.RequestException as err:
                if attempt == self.attempts:
                    raise RegistryError(
                        f"cannot reach the Artifact Registry API: {type(err).__name__} "
                        f"({self.attempts} attempts)",
                        hint=f"check that {self.endpoint} is reachable",
                    ) from None
            else:
                if response.status_code not in TRANSIENT or attempt == self.attempts:
                    return response
            time.sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for(self, response: requests.Response, what: str) -> None:
        if response.status_code < 400:
            return
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        message = f"Artifact Registry answered {response.status_code} for {what}: {_message(error)}"
        if response.status_code in (401, 403):
            raise AuthError(message, hint="check the credentials' roles with `mlrelease auth`")
        raise RegistryError(message)


def _message(error: dict[str, Any]) -> str:
    return one_line(str(error.get("message") or error.get("status") or "no message"))
