"""The HTTP exchange with a registry speaking the Docker Registry HTTP API v2.

It does the token dance itself: a 401 with `WWW-Authenticate: Bearer realm=…` is answered by
asking the realm for a token with the basic credentials given (for GAR, `oauth2accesstoken` and
an access token), kept per scope. Every request is bounded and transient failures are retried.
Registries on loopback are spoken to over plain HTTP, as the Docker engine does. The endpoints
are `v2_blobs.py` (blobs, referrers) and `v2.py` (manifests, tags: `RegistryClient`).
"""

from __future__ import annotations

import ipaddress
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlrelease.errors import AuthError, RegistryError, one_line

if TYPE_CHECKING:
    import requests

    from mlrelease.secrets import Secret

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
BACKOFF_S = 0.5
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}


def scheme_for(host: str) -> str:
    """`http` for a registry on loopback (as the engine allows), `https` otherwise."""
    name = urlsplit(f"//{host}").hostname or host
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:
        return "https"


class RegistrySession:
    """Requests to the registry at `host` (`host[:port]`), optionally with basic credentials.

    Every request is bounded by `timeout_s`; transient answers (429, 5xx) and broken or silent
    connections are tried `attempts` times with backoff, the token service's too."""

    def __init__(
        self,
        host: str,
        *,
        username: str | None = None,
        password: Secret | None = None,
        timeout_s: float = 60.0,
        attempts: int = 3,
    ):
        self.host = host
        self.base = f"{scheme_for(host)}://{host}/v2"
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._basic = (username, password) if username and password is not None else None
        self._tokens: dict[str, str] = {}
        self._session: requests.Session | None = None

    def refresh(self, username: str, password: Secret) -> None:
        """New basic credentials for the token service; tokens got with the old ones are
        dropped."""
        self._basic = (username, password)
        self._tokens.clear()

    def _send_scoped(
        self,
        method: str,
        url: str,
        scopes: tuple[str, ...],
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """`_send_authorized` for a URL (absolute or under /v2) needing several scopes at once
        (a mount needs push on the destination and pull on the source)."""
        key = " ".join(scopes)
        url = url if "://" in url else self.base + url
        headers = dict(headers or {})
        if key in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[key]}"
        response = self._send(method, url, headers, data)
        if response.status_code == 401:
            self._tokens[key] = self._token(response, list(scopes))  # type: ignore[arg-type]
            headers["Authorization"] = f"Bearer {self._tokens[key]}"
            response = self._send(method, url, headers, data)
        return response

    def _stream_get(self, url: str, scope: str) -> requests.Response:
        import requests

        session = self._session or requests.Session()
        self._session = session
        headers = (
            {"Authorization": f"Bearer {self._tokens[scope]}"} if scope in self._tokens else {}
        )
        try:
            return session.get(url, headers=headers, stream=True, timeout=self.timeout_s)
        except requests.RequestException as err:
            raise RegistryError(
                f"cannot read a blob from the registry {self.host}: {type(err).__name__}",
                hint=f"check that the registry at {self.host} is up and reachable",
            ) from None

    def _send_authorized(
        self,
        method: str,
        url: str,
        *,
        scope: str | None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        allow_unauthorized: bool = False,
    ) -> requests.Response:
        """The request, with a bearer token for `scope`, fetched on a 401 challenge."""
        headers = dict(headers or {})
        if scope and scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        response = self._send(method, self.base + url, headers, data)
        if response.status_code == 401 and not allow_unauthorized and scope:
            self._tokens[scope] = self._token(response, scope)
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
            response = self._send(method, self.base + url, headers, data)
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        data: bytes | None = None,
        *,
        params: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        what: str | None = None,
    ) -> requests.Response:
        """One request with retries: transient answers (429, 5xx), broken connections and
        requests that got no answer within `timeout_s`, with backoff."""
        import requests

        session = self._session or requests.Session()
        self._session = session
        for attempt in range(1, self.attempts + 1):
            try:
                response = session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    params=params,
                    auth=auth,
                    timeout=self.timeout_s,
                )
            except requests.RequestException as err:
                if attempt == self.attempts:
                    silent = isinstance(err, requests.Timeout)
                    reason = (
                        f"no answer within {self.timeout_s:g} s" if silent else type(err).__name__
                    )
                    raise RegistryError(
                        f"cannot reach {what or f'the registry {self.host}'}: {reason} "
                        f"({self.attempts} attempts)",
                        hint=f"check that the registry at {self.host} is up and reachable",
                    ) from None
            else:
                if response.status_code not in TRANSIENT_STATUSES or attempt == self.attempts:
                    return response
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, challenge: requests.Response, scope: str) -> str:
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
        answer = self._send(
            "GET",
            params["realm"],
            {},
            params=query,
            auth=auth,  # type: ignore[arg-type]
            what=f"the token service of the registry {self.host}",
        )
        if answer.status_code in (401, 403):
            raise AuthError(
                f"the registry {self.host} refused the credentials ({answer.status_code}): "
                f"{registry_message(answer)}",
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
        message += registry_message(response)
        if response.status_code in (401, 403):
            raise AuthError(message, hint="check the credentials with `mlrelease auth`")
        raise RegistryError(message)


def registry_message(response: requests.Response) -> str:
    """The registry's error codes and messages from its JSON error body, on one line."""
    try:
        errors = response.json().get("errors") or []
        return one_line("; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors))
    except (ValueError, AttributeError):
        return response.reason or ""
