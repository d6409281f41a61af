"""What every Google API call shares: which failures are worth another try, and how to tell a
timeout from other failures. The clients (Artifact Registry, Cloud Build, Container Analysis)
pass `transient_retry(...)` and a timeout on every call."""

from __future__ import annotations

from typing import Any


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
