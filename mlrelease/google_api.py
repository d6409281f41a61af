"""What every Google API client shares: how it is built, which failures are worth another try,
and how to tell a timeout from other failures. The clients (Artifact Registry, Cloud Build,
Container Analysis) pass `transient_retry(...)` and a timeout on every call."""

from __future__ import annotations

from typing import Any


def rest_client(client: Any, transport: Any, host: str, credentials: Any) -> Any:
    """A generated client on its REST transport at `host`, with `always_use_jwt_access=False`:
    requests then carry the OAuth access token (the generated client would send a self-signed
    JWT instead, which a stand-in for Google's token endpoint never sees)."""
    return client(
        transport=transport(host=host, credentials=credentials, always_use_jwt_access=False)
    )


def transient_retry(deadline: float) -> Any:
    """google-api-core's Retry of 429, 5xx, a reset connection and a request that got no
    answer in time, with backoff, for at most `deadline` seconds."""
    import requests
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.TooManyRequests,
        exceptions.InternalServerError,
        exceptions.BadGateway,
        exceptions.ServiceUnavailable,
        exceptions.GatewayTimeout,
        ConnectionError,
        # A pooled connection the server closed while the engine was pushing, and a request
        # that got no answer in time.
        requests.ConnectionError,
        requests.Timeout,
    )
    return retry.Retry(
        predicate=transient, initial=0.5, maximum=4.0, multiplier=2.0, timeout=deadline
    )


def is_timeout(err: BaseException | None) -> bool:
    """Whether `err` is a request that got no answer within its timeout."""
    import requests

    return isinstance(err, requests.Timeout | TimeoutError)
