"""A small client of the Docker Registry HTTP API v2: ping, manifests, tags.

Speaks to any registry (CNCF distribution, Artifact Registry's `*-docker.pkg.dev`), doing the
token dance itself: a 401 with `WWW-Authenticate: Bearer realm=…` is answered by asking the
realm for a token with the basic credentials given (for GAR, `oauth2accesstoken` and an access
token). Registries on loopback are spoken to over plain HTTP, as the Docker engine does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlrelease.errors import AuthError, RegistryError, one_line

if TYPE_CHECKING:
    import requests

    from mlrelease.secrets import Secret

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT_S = 30
ATTEMPTS = 3
BACKOFF_S = 0.5
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry stores it: its digest, config digest and compressed size."""

    digest: str
    config_digest: str | None  # the image ID of a single-platform image
    compressed_size_bytes: int  # config plus layers, as pushed


def scheme_for(host: str) -> str:
    """`http` for a registry on loopback (as the engine allows), `https` otherwise."""
    name = urlsplit(f"//{host}").hostname or host
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:
        return "https"


class RegistryClient:
    """The v2 API of the registry at `host` (`host[:port]`), optionally with basic credentials."""

    def __init__(self, host: str, *, username: str | None = None, password: Secret | None = None):
        self.host = host
        self.base = f"{scheme_for(host)}://{host}/v2"
        self._basic = (username, password) if username and password is not None else None
        self._tokens: dict[str, str] = {}
        self._session: requests.Session | None = None

    def ping(self) -> None:
        """RegistryError unless the registry answers its API root (401 counts as an answer)."""
        response = self._get("/", scope=None, allow_unauthorized=True)
        if response.status_code >= 500:
            raise RegistryError(f"the registry {self.host} answers {response.status_code}")

    def manifest(self, path: str, reference: str) -> Manifest | None:
        """The manifest of `path:reference` (a tag or digest), None if there is none."""
        response = self._get(
            f"/{path}/manifests/{reference}",
            scope=f"repository:{path}:pull",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if response.status_code == 404:
            return None
        self._raise_for(response, f"{path}:{reference}")
        body = response.content
        digest = response.headers.get("Docker-Content-Digest") or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        document: dict[str, Any] = json.loads(body)
        config = document.get("config") or {}
        size = int(config.get("size", 0)) + sum(
            int(layer.get("size", 0)) for layer in document.get("layers", [])
        )
        return Manifest(digest, config.get("digest"), size)

    def tags(self, path: str) -> list[str]:
        """Every tag of `path` (empty when the repository does not exist yet)."""
        response = self._get(f"/{path}/tags/list", scope=f"repository:{path}:pull")
        if response.status_code == 404:
            return []
        self._raise_for(response, path)
        return list(response.json().get("tags") or [])

    # The HTTP exchange

    def _get(
        self,
        url: str,
        *,
        scope: str | None,
        headers: dict[str, str] | None = None,
        allow_unauthorized: bool = False,
    ) -> requests.Response:
        import requests

        session = self._session or requests.Session()
        self._session = session
        headers = dict(headers or {})
        if scope and scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        response = self._send(session, url, headers)
        if response.status_code == 401 and not allow_unauthorized and scope:
            self._tokens[scope] = self._token(response, scope)
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
            response = self._send(session, url, headers)
        return response

    def _send(
        self, session: requests.Session, url: str, headers: dict[str, str]
    ) -> requests.Response:
        """GET with retries: transient answers (429, 5xx) and broken connections, with backoff."""
        import requests

        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = session.get(self.base + url, headers=headers, timeout=TIMEOUT_S)
            except requests.RequestException as err:
                if attempt == ATTEMPTS:
                    raise RegistryError(
                        f"cannot reach the registry {self.host}: {type(err).__name__}",
                        hint=f"check that the registry at {self.host} is up and reachable",
                    ) from None
            else:
                if response.status_code not in TRANSIENT_STATUSES or attempt == ATTEMPTS:
                    return response
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, challenge: requests.Response, scope: str) -> str:
        import requests

        header = challenge.headers.get("WWW-Authenticate", "")
        params = dict(_CHALLENGE.findall(header))
        if not header.lower().startswith("bearer") or "realm" not in params:
            raise AuthError(
                f"the registry {self.host} asks for credentials mlrelease cannot give",
                hint="use a registry with token auth (as Artifact Registry) or none",
            )
        auth = None
        if self._basic:
            auth = (self._basic[0], self._basic[1].reveal())  # type: ignore[union-attr]
        query = {"service": params.get("service", ""), "scope": scope}
        try:
            answer = requests.get(params["realm"], params=query, auth=auth, timeout=TIMEOUT_S)
        except requests.RequestException as err:
            raise RegistryError(
                f"cannot reach the registry's token service: {type(err).__name__}"
            ) from None
        if answer.status_code in (401, 403):
            raise AuthError(
                f"the registry {self.host} refused the credentials ({answer.status_code}): "
                f"{_registry_message(answer)}",
                hint="check the credentials with `mlrelease auth`",
            )
        self._raise_for(answer, "the token service")
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"the registry {self.host}'s token service gave no token")
        return str(token)

    def _raise_for(self, response: requests.Response, what: str) -> None:
        if response.status_code < 400:
            return
        message = f"the registry {self.host} answered {response.status_code} for {what}: "
        message += _registry_message(response)
        if response.status_code in (401, 403):
            raise AuthError(message, hint="check the credentials with `mlrelease auth`")
        raise RegistryError(message)


def _registry_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return one_line("; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors))
    except (ValueError, AttributeError):
        return response.reason or ""
