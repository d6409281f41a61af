"""Error bodies as Google's APIs and OAuth endpoints write them."""

from __future__ import annotations

from http import HTTPStatus

from tests.emulator.http import Response, json_response

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def api_error(
    code: int, message: str, details: list[dict] | None = None, status: str | None = None
) -> Response:
    """`{"error": {"code", "message", "status", "details"}}`, as google.api_core expects.
    `status` names the canonical code where an HTTP status has several (400)."""
    error: dict = {
        "code": code,
        "message": message,
        "status": status or _STATUS.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return json_response(code, {"error": error})


def not_found() -> Response:
    return api_error(404, "Requested entity was not found.")


def already_exists(message: str) -> Response:
    """409 ALREADY_EXISTS (google.api_core raises Conflict)."""
    return api_error(409, message)


def failed_precondition(message: str) -> Response:
    """400 FAILED_PRECONDITION: google.api_core raises BadRequest, by the HTTP status."""
    return api_error(400, message, status="FAILED_PRECONDITION")


def invalid_argument(message: str, field: str | None = None) -> Response:
    """400 INVALID_ARGUMENT, with the offending field as a BadRequest detail when known."""
    details = None
    if field is not None:
        violation = {"field": field, "description": message}
        details = [
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}
        ]
    return api_error(400, message, details)


def unauthenticated() -> Response:
    return api_error(401, _UNAUTHENTICATED, [_error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", {})])


def permission_denied(permission: str, resource: str, service: str) -> Response:
    message = (
        f"Permission '{permission}' denied on resource '//{service}/{resource}' "
        "(or it may not exist)."
    )
    metadata = {"permission": permission, "resource": resource}
    return api_error(403, message, [_error_info("IAM_PERMISSION_DENIED", metadata, service)])


def unavailable(code: int) -> Response:
    """A transient failure of a Google API (what `fail_next(target="api")` answers)."""
    return api_error(code, f"The service is currently unavailable ({HTTPStatus(code).phrase}).")


def oauth_error(status: int, error: str, description: str) -> Response:
    """`{"error", "error_description"}`, as Google's token endpoints write it."""
    return json_response(status, {"error": error, "error_description": description})


def _error_info(reason: str, metadata: dict[str, str], domain: str = "googleapis.com") -> dict:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain,
        "metadata": metadata,
    }
