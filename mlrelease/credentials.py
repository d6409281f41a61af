"""Google credentials: find them, name their source and identity, and get an access token.

Resolution order, the first present winning:
1. `--key-file PATH`;
2. `GCP_SA_KEY` (or `MLRELEASE_GCP_SA_KEY`): a service-account key as JSON, a path to the key
   file, or base64 of the JSON;
3. `GOOGLE_APPLICATION_CREDENTIALS`: a key file, an `external_account` file (workload identity
   federation, as google-github-actions/auth writes it) or `authorized_user` credentials;
4. Application Default Credentials (gcloud's file, the metadata server).

Always with the `cloud-platform` scope. Problems with the credentials themselves (not JSON, a
missing field, an unreadable private key, a wrong type) are configuration errors (exit 2); a
refusal from the token endpoint is an authentication error (exit 4); an unreachable or failing
token endpoint is an external failure (exit 5). No message ever holds key material or a token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import AuthError, ConfigError, ExternalServiceError, one_line
from mlrelease.key_material import decode_sa_key, load_json, read_key_file, set_but_empty
from mlrelease.results.auth import AuthResult
from mlrelease.secrets import Secret, register_secret

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from mlrelease.config.settings import Settings

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_EXTERNAL_ACCOUNT_FIELDS = ("audience", "subject_token_type", "token_url", "credential_source")
_KINDS = ("service_account", "external_account", "authorized_user")


@dataclass(frozen=True)
class GoogleCredentials:
    """Credentials ready to refresh, with where they came from and whom they stand for."""

    source: str  # "GCP_SA_KEY", "--key-file key.json", "GOOGLE_APPLICATION_CREDENTIALS (…)"
    kind: str  # service_account, external_account, authorized_user, compute_engine, …
    identity: str | None  # the service account's email, when there is one
    project: str | None
    credentials: Credentials

    def describe(self) -> str:
        """`GCP_SA_KEY: service account ci@p.iam.gserviceaccount.com`; never a secret."""
        who = {
            "service_account": f"service account {self.identity}",
            "external_account": (
                f"workload identity federation as {self.identity}"
                if self.identity
                else "workload identity federation (no service account impersonated)"
            ),
            "authorized_user": "user credentials",
        }.get(self.kind, f"{self.kind} {self.identity or ''}".strip())
        return f"{self.source}: {who}"


@dataclass(frozen=True)
class AccessToken:
    """A fresh OAuth access token (masked in str/repr) and its remaining lifetime."""

    value: Secret
    expires_in_s: int | None


def resolve_credentials(
    settings: Settings, *, key_file: Path | None = None, env: Mapping[str, str] | None = None
) -> GoogleCredentials:
    """The credentials the resolution order above finds; ConfigError or AuthError if none work."""
    env = os.environ if env is None else env
    if key_file is not None:
        info = load_json(read_key_file(key_file, "--key-file"), f"--key-file {key_file}")
        return _from_info(info, f"--key-file {key_file}")
    if settings.gcp_sa_key is None and set_but_empty(env, ("MLRELEASE_GCP_SA_KEY", "GCP_SA_KEY")):
        name = next(n for n in ("MLRELEASE_GCP_SA_KEY", "GCP_SA_KEY") if n in env)
        raise ConfigError(
            f"{name} is set but empty",
            hint=f"define the secret (GitHub passes an empty {name} to forks and to repositories "
            "where the secret is not defined), or unset it to use application default "
            "credentials",
        )
    if settings.gcp_sa_key is not None:
        source = settings.source("gcp_sa_key").removeprefix("env ")
        info = load_json(decode_sa_key(settings.gcp_sa_key, source), source)
        if info.get("type") != "service_account":
            raise ConfigError(
                f"{source} holds credentials of type {info.get('type')!r}, "
                "not a service-account key",
                hint=f"put a service-account key in {source}; other credential files go in "
                "GOOGLE_APPLICATION_CREDENTIALS",
            )
        return _from_info(info, source)
    if path := env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        source = f"GOOGLE_APPLICATION_CREDENTIALS ({path})"
        info = load_json(read_key_file(Path(path), "GOOGLE_APPLICATION_CREDENTIALS"), source)
        return _from_info(info, source)
    return _application_default()


def access_token(creds: GoogleCredentials) -> AccessToken:
    """Refresh `creds` and return the access token; the token endpoint's failures translated."""
    from google.auth import exceptions
    from google.auth.transport.requests import Request

    try:
        creds.credentials.refresh(Request())
    except exceptions.RefreshError as err:
        reason = _google_reason(err)
        if err.retryable:
            raise ExternalServiceError(
                f"the token endpoint failed for {creds.describe()}: {reason}",
                hint="Google's token service is failing; retry in a minute",
            ) from None
        raise AuthError(
            f"the token endpoint refused {creds.describe()}: {reason}",
            hint=_refused_hint(creds),
        ) from None
    except exceptions.TransportError as err:
        raise ExternalServiceError(
            f"cannot reach the token endpoint for {creds.describe()}: {_google_reason(err)}",
            hint="check the network and proxy settings, then retry",
        ) from None
    except exceptions.GoogleAuthError as err:
        raise AuthError(
            f"cannot get a token for {creds.describe()}: {_google_reason(err)}",
            hint=_refused_hint(creds),
        ) from None
    token = creds.credentials.token
    if not token:
        raise AuthError(f"no access token was issued for {creds.describe()}")
    register_secret(token)
    expiry = creds.credentials.expiry
    expires_in = None
    if expiry is not None:
        expires_in = int((expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds())
    return AccessToken(Secret(token), expires_in)


def identity_of(creds: GoogleCredentials) -> str | None:
    """The identity, read again after a refresh (the metadata server names it only then)."""
    email = getattr(creds.credentials, "service_account_email", None)
    return email if isinstance(email, str) and "@" in email else creds.identity


def check(
    settings: Settings, *, key_file: Path | None = None, env: Mapping[str, str] | None = None
) -> AuthResult:
    """Resolve the credentials and refresh a token: what `mlrelease auth` reports."""
    creds = resolve_credentials(settings, key_file=key_file, env=env)
    token = access_token(creds)
    return AuthResult(
        source=creds.source,
        identity=identity_of(creds),
        kind=creds.kind,
        project=settings.gcp_project or creds.project,
        expires_in_s=token.expires_in_s,
        description=creds.describe(),
    )


def _from_info(info: dict[str, Any], source: str) -> GoogleCredentials:
    kind = info.get("type")
    if kind == "service_account":
        return _service_account(info, source)
    if kind == "external_account":
        return _external_account(info, source)
    if kind == "authorized_user":
        return _authorized_user(info, source)
    shown = "no `type` field" if kind is None else f"type {str(kind)[:40]!r}"
    raise ConfigError(
        f"the credentials in {source} have {shown}; expected one of {', '.join(_KINDS)}",
        hint="use a service-account key, a workload identity federation file or "
        "`gcloud auth application-default login`",
    )


def _require(info: Mapping[str, Any], fields: tuple[str, ...], kind: str, source: str) -> None:
    missing = [field for field in fields if not info.get(field)]
    if missing:
        raise ConfigError(
            f"the {kind} credentials in {source} lack the field"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            hint="download the key again; it must be used exactly as Google issued it",
        )


def _service_account(info: dict[str, Any], source: str) -> GoogleCredentials:
    from google.oauth2 import service_account

    _require(info, _SERVICE_ACCOUNT_FIELDS, "service-account", source)
    key = str(info["private_key"])
    if "-----BEGIN" not in key:
        raise ConfigError(
            f"the private_key in {source} is not a PEM private key",
            hint="download the key again; it must be used exactly as Google issued it",
        )
    if "\n" not in key.strip() and "\\n" in key:
        raise ConfigError(
            f"the private_key in {source} has literal \\n sequences instead of line breaks "
            "(it was escaped twice when pasted)",
            hint="paste the key file's contents unchanged, or store `base64 -w0 key.json`",
        )
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    except ValueError:
        raise ConfigError(
            f"the private_key in {source} cannot be read as an RSA private key",
            hint="download the key again; it must be used exactly as Google issued it",
        ) from None
    return GoogleCredentials(
        source=source,
        kind="service_account",
        identity=str(info["client_email"]),
        project=info.get("project_id"),
        credentials=credentials,
    )


def _external_account(info: dict[str, Any], source: str) -> GoogleCredentials:
    from google.auth import aws, identity_pool, pluggable

    _require(info, _EXTERNAL_ACCOUNT_FIELDS, "external_account", source)
    credential_source = info["credential_source"]
    if not isinstance(credential_source, dict):
        raise ConfigError(
            f"the credential_source in {source} is not an object",
            hint="regenerate the file with `gcloud iam workload-identity-pools "
            "create-cred-config` or google-github-actions/auth",
        )
    factory: Any = identity_pool.Credentials
    if str(credential_source.get("environment_id", "")).startswith("aws"):
        factory = aws.Credentials
    elif "executable" in credential_source:
        factory = pluggable.Credentials
    try:
        credentials = factory.from_info(info, scopes=[SCOPE])
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"the external_account credentials in {source} are invalid: {err}",
            hint="regenerate the file with `gcloud iam workload-identity-pools "
            "create-cred-config` or google-github-actions/auth",
        ) from None
    return GoogleCredentials(
        source=source,
        kind="external_account",
        identity=credentials.service_account_email,
        project=info.get("quota_project_id"),
        credentials=credentials,
    )


def _authorized_user(info: dict[str, Any], source: str) -> GoogleCredentials:
    from google.oauth2 import credentials as user_credentials

    _require(info, ("client_id", "client_secret", "refresh_token"), "authorized_user", source)
    credentials = user_credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
    return GoogleCredentials(
        source=source,
        kind="authorized_user",
        identity=None,
        project=info.get("quota_project_id"),
        credentials=credentials,
    )


def _application_default() -> GoogleCredentials:
    import google.auth
    from google.auth import exceptions

    try:
        credentials, project = google.auth.default(scopes=[SCOPE])
    except exceptions.DefaultCredentialsError:
        raise AuthError(
            "no Google credentials found: no --key-file, GCP_SA_KEY, "
            "GOOGLE_APPLICATION_CREDENTIALS or application default credentials",
            hint="set GCP_SA_KEY to a service-account key, or run "
            "`gcloud auth application-default login`",
        ) from None
    kind = type(credentials).__module__.rsplit(".", 1)[-1]
    kinds = {"service_account": "service_account", "credentials": "authorized_user"}
    return GoogleCredentials(
        source="application default credentials",
        kind=kinds.get(kind, kind),
        identity=None,
        project=project,
        credentials=credentials,
    )


def _google_reason(err: Exception) -> str:
    # google-auth raises (message, response_data); the message alone is enough and secret-free.
    first = err.args[0] if err.args else type(err).__name__
    return one_line(first)


def _refused_hint(creds: GoogleCredentials) -> str:
    if creds.kind == "service_account":
        return (
            "the key may have been deleted or disabled, or this machine's clock is off; "
            f"list the keys with `gcloud iam service-accounts keys list --iam-account "
            f"{creds.identity}` and create a new one if needed"
        )
    if creds.kind == "external_account":
        return (
            "check the workload identity pool provider's attribute condition and that the "
            "principal may impersonate the service account (roles/iam.workloadIdentityUser)"
        )
    return "log in again: `gcloud auth application-default login`"
