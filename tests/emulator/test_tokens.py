"""Google's token endpoint, as google-auth sees it."""

from __future__ import annotations

import json

import pytest

from tests.emulator import CANARY, GarEmulator
from tests.emulator.conftest import SCOPES


def refreshed(info: dict):
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    credentials.refresh(Request())
    return credentials


def test_a_key_yields_an_access_token(gar: GarEmulator, sa_key):
    credentials = refreshed(sa_key)

    assert credentials.token.startswith(f"ya29.{CANARY}-")
    assert credentials.service_account_email == "ci@test-project.iam.gserviceaccount.com"
    assert gar.requests == [("token", "POST", "/token", 200)]


def test_the_key_carries_the_canary_and_parses(sa_key):
    from google.auth import crypt

    assert CANARY in sa_key["private_key"]
    assert crypt.RSASigner.from_service_account_info(sa_key).sign(b"data")


def test_a_revoked_key_gets_invalid_grant(gar: GarEmulator, sa_key):
    from google.auth.exceptions import RefreshError

    gar.revoke_key(sa_key)

    with pytest.raises(RefreshError) as raised:
        refreshed(sa_key)

    assert raised.value.args[0] == "invalid_grant: Invalid JWT Signature."
    assert json.loads(json.dumps(raised.value.args[1]))["error"] == "invalid_grant"


def test_a_key_the_emulator_never_issued_gets_invalid_grant(gar: GarEmulator, sa_key):
    from google.auth.exceptions import RefreshError

    forged = {**sa_key, "private_key": gar.service_account_key()["private_key"]}

    with pytest.raises(RefreshError, match="invalid_grant"):
        refreshed(forged)


def test_another_account_gets_its_own_identity(gar: GarEmulator):
    key = gar.service_account_key("deployer@test-project.iam.gserviceaccount.com")

    assert refreshed(key).service_account_email == "deployer@test-project.iam.gserviceaccount.com"


def test_google_auth_retries_a_failing_token_endpoint(gar: GarEmulator, sa_key):
    gar.fail_next(1, target="token")

    assert refreshed(sa_key).token

    assert [r[3] for r in gar.requests] == [503, 200]


def test_a_dropped_token_request_is_a_transport_error(gar: GarEmulator, sa_key):
    from google.auth.exceptions import TransportError

    gar.fail_next(1, target="token", drop=True)

    with pytest.raises(TransportError):
        refreshed(sa_key)


def test_an_authorized_user_refreshes_at_the_token_uri_it_is_given(gar: GarEmulator):
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    info = gar.authorized_user_info()
    credentials = Credentials.from_authorized_user_info(info, SCOPES)
    # google-auth sets Google's token URL whatever the file says; only with_token_uri moves it.
    assert credentials.token_uri == "https://oauth2.googleapis.com/token"
    credentials = credentials.with_token_uri(info["token_uri"])
    credentials.refresh(Request())

    assert credentials.token.startswith(f"ya29.{CANARY}-")


def test_the_caller_behind_a_bearer_credential(gar: GarEmulator, sa_key):
    import time

    from google.auth import crypt, jwt

    signer = crypt.RSASigner.from_service_account_info(sa_key)
    now = int(time.time())
    claims = {"iss": sa_key["client_email"], "sub": sa_key["client_email"], "iat": now}
    self_signed = jwt.encode(signer, {**claims, "exp": now + 600}).decode()
    access_token = refreshed(sa_key).token

    assert gar.caller(access_token) == gar.identity_of(access_token) == sa_key["client_email"]
    assert gar.caller(self_signed) == sa_key["client_email"]
    assert gar.caller("ya29.not-issued-here") is None
    gar.revoke_key(sa_key)
    assert gar.caller(self_signed) is None


def test_denies_reports_deny_and_grant(gar: GarEmulator):
    gar.deny("storage.objects.get")
    assert gar.denies("storage.objects.get")

    gar.grant("storage.objects.get")
    assert not gar.denies("storage.objects.get")
