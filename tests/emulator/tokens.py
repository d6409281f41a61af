"""Google's token endpoints: OAuth 2.0 (service-account JWTs, refresh tokens), STS token exchange,
IAM credentials' generateAccessToken, and the OIDC provider a GitHub Actions job asks for its
subject token."""

from __future__ import annotations

import datetime
import re
import time

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulator import google_errors
from tests.emulator.http import Request, Response, json_response
from tests.emulator.keys import CANARY, InvalidToken, jwt_header, random_id, sign_jwt, verify_jwt
from tests.emulator.state import TOKEN_LIFETIME_S, State

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
OIDC_SUBJECT = "repo:example/ml-service:ref:refs/heads/main"

# Paths on the emulator's API port.
TOKEN_PATH = "/token"
STS_PATH = "/sts/v1/token"
IAM_PREFIX = "/iamcredentials/v1/projects/-/serviceAccounts/"
OIDC_PATH = "/oidc/token"
_GENERATE = re.compile(re.escape(IAM_PREFIX) + r"(?P<email>[^/:]+):generateAccessToken$")

_BAD_SIGNATURE = "Invalid JWT Signature."
_BAD_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


class TokenService:
    """Issues access tokens to holders of registered keys, refresh tokens or federated tokens."""

    def __init__(self, state: State, pool_audience: str) -> None:
        self.state = state
        self.pool_audience = pool_audience  # //iam.googleapis.com/projects/N/.../providers/X
        self._oidc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._oidc_kid = random_id(8)
        self._request_tokens: set[str] = set()

    def new_request_token(self) -> str:
        """What GitHub puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN: lets a job fetch its OIDC token."""
        token = f"{CANARY}-{random_id(16)}"
        self._request_tokens.add(token)
        return token

    def oauth_token(self, request: Request) -> Response:
        form = request.form()
        grant = form.get("grant_type", "")
        if grant == JWT_BEARER:
            return self._jwt_bearer(form.get("assertion", ""))
        if grant == "refresh_token":
            identity = self.state.refresh_identity(form.get("refresh_token", ""))
            if identity is None:
                return google_errors.oauth_error(400, "invalid_grant", "Bad Request")
            return self._token(identity)
        return google_errors.oauth_error(
            400, "unsupported_grant_type", f"Invalid grant_type: {grant}"
        )

    def _jwt_bearer(self, assertion: str) -> Response:
        try:
            registered = self.state.key(str(jwt_header(assertion).get("kid", "")))
            if registered is None:
                raise InvalidToken("unknown or revoked key")
            email, public_key = registered
            claims = verify_jwt(assertion, public_key)
        except InvalidToken as err:
            message = _BAD_TIME if str(err) == "expired" else _BAD_SIGNATURE
            return google_errors.oauth_error(400, "invalid_grant", message)
        if claims.get("iss") != email:
            return google_errors.oauth_error(400, "invalid_grant", _BAD_SIGNATURE)
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return google_errors.oauth_error(
                400, "invalid_grant", "Invalid JWT: Failed audience check."
            )
        if not 0 < claims["exp"] - claims.get("iat", 0) <= 3600:
            return google_errors.oauth_error(400, "invalid_grant", _BAD_TIME)
        return self._token(email)

    def _token(self, identity: str) -> Response:
        return json_response(
            200,
            {
                "access_token": self.state.issue_token(identity),
                "expires_in": TOKEN_LIFETIME_S,
                "token_type": "Bearer",
            },
        )

    def sts_token(self, request: Request) -> Response:
        form = request.form()
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return google_errors.oauth_error(
                400,
                "unsupported_grant_type",
                f'Invalid value for "grant_type": {form.get("grant_type")}',
            )
        if form.get("audience") != self.pool_audience:
            return google_errors.oauth_error(
                400,
                "invalid_target",
                'The target service indicated by the "audience" parameters is invalid.',
            )
        if form.get("subject_token_type") != JWT_TOKEN_TYPE:
            return google_errors.oauth_error(400, "invalid_request", "Invalid subject_token_type.")
        try:
            claims = verify_jwt(form.get("subject_token", ""), self._oidc_key.public_key())
        except InvalidToken as err:
            return google_errors.oauth_error(400, "invalid_grant", f"Invalid subject token: {err}.")
        if claims.get("iss") != OIDC_ISSUER or claims.get("aud") != "https:" + self.pool_audience:
            return google_errors.oauth_error(
                400,
                "invalid_grant",
                "The audience in ID Token does not match the expected audience.",
            )
        principal = (
            f"principal:{self.pool_audience.rsplit('/providers/', 1)[0]}/subject/{claims['sub']}"
        )
        return json_response(
            200,
            {
                "access_token": self.state.issue_token(principal),
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
            },
        )

    def generate_access_token(self, request: Request) -> Response:
        match = _GENERATE.match(request.path)
        if match is None or request.method != "POST":
            return google_errors.not_found()
        email = match["email"]
        caller = self.state.identity_of(request.bearer() or "")
        if caller is None:
            return google_errors.unauthenticated()
        resource = f"projects/-/serviceAccounts/{email}"
        if "iam.serviceAccounts.getAccessToken" in self.state.denied:
            return google_errors.permission_denied(
                "iam.serviceAccounts.getAccessToken", resource, "iam.googleapis.com"
            )
        if not email.endswith(f"@{self.state.project}.iam.gserviceaccount.com"):
            return google_errors.api_error(404, f"Not found; Gaia id not found for email {email}")
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=TOKEN_LIFETIME_S)
        return json_response(
            200,
            {
                "accessToken": self.state.issue_token(email),
                "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )

    def oidc_token(self, request: Request) -> Response:
        """GitHub's ID-token URL: `{"value": JWT}` for the bearer of the job's request token."""
        if request.bearer() not in self._request_tokens:
            return json_response(401, {"message": "Bad credentials"})
        issued = int(time.time())
        claims = {
            "iss": OIDC_ISSUER,
            "sub": OIDC_SUBJECT,
            "aud": request.arg("audience") or "",
            "iat": issued,
            "nbf": issued,
            "exp": issued + 300,
            "jti": random_id(8),
            "repository": "example/ml-service",
            "ref": "refs/heads/main",
        }
        return json_response(200, {"value": sign_jwt(self._oidc_key, claims, self._oidc_kid)})
