"""Keyless credentials: workload identity federation as google-github-actions/auth sets it up."""

from __future__ import annotations

import json

import pytest

from tests.emulator import CANARY, DEFAULT_ACCOUNT, GarEmulator
from tests.emulator.conftest import REPOSITORY, SCOPES, artifact_registry


def load(path):
    from google.auth import identity_pool

    return identity_pool.Credentials.from_file(str(path), scopes=SCOPES)


def test_the_file_is_shaped_as_the_action_writes_it(gar: GarEmulator, tmp_path):
    info = gar.external_account_info(tmp_path)

    (written,) = tmp_path.glob("gha-creds-*.json")
    assert json.loads(written.read_text()) == info
    assert info["type"] == "external_account"
    assert info["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert info["audience"].startswith("//iam.googleapis.com/projects/")
    source = info["credential_source"]
    assert source["headers"]["Authorization"].startswith(f"Bearer {CANARY}")
    assert source["format"] == {"type": "json", "subject_token_field_name": "value"}
    urls = [source["url"], info["token_url"], info["service_account_impersonation_url"]]
    assert all(url.startswith(gar.api_endpoint + "/") for url in urls)


def test_impersonation_yields_a_token_for_the_service_account(gar: GarEmulator, tmp_path):
    from google.auth.transport.requests import Request

    credentials = load(gar.external_account_file(tmp_path))
    credentials.refresh(Request())

    assert credentials.service_account_email == DEFAULT_ACCOUNT
    assert credentials.token.startswith(f"ya29.{CANARY}-")
    assert [(r[0], r[2], r[3]) for r in gar.requests] == [
        ("oidc", "/oidc/token", 200),
        ("token", "/sts/v1/token", 200),
        (
            "token",
            f"/iamcredentials/v1/projects/-/serviceAccounts/{DEFAULT_ACCOUNT}:generateAccessToken",
            200,
        ),
    ]
    assert artifact_registry(gar, credentials).get_repository(name=REPOSITORY).name == REPOSITORY


def test_a_federated_token_works_without_impersonation(gar: GarEmulator, tmp_path):
    from google.auth.transport.requests import Request

    credentials = load(gar.external_account_file(tmp_path, impersonate=None))
    credentials.refresh(Request())

    assert credentials.service_account_email is None
    assert artifact_registry(gar, credentials).get_repository(name=REPOSITORY).name == REPOSITORY


def test_a_denied_impersonation_is_a_refresh_error(gar: GarEmulator, tmp_path):
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    gar.deny("iam.serviceAccounts.getAccessToken")
    credentials = load(gar.external_account_file(tmp_path))

    with pytest.raises(RefreshError, match="PERMISSION_DENIED"):
        credentials.refresh(Request())


def test_a_wrong_request_token_gets_no_subject_token(gar: GarEmulator, tmp_path):
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    info = gar.external_account_info(tmp_path)
    info["credential_source"]["headers"]["Authorization"] = "Bearer wrong"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(info))

    with pytest.raises(RefreshError):
        load(path).refresh(Request())


@pytest.mark.parametrize("kind", ["service_account", "external_account"])
def test_application_default_credentials_find_the_file(gar, tmp_path, monkeypatch, kind):
    import google.auth
    from google.auth.transport.requests import Request

    if kind == "external_account":
        path = gar.external_account_file(tmp_path)
    else:
        path = tmp_path / "key.json"
        path.write_text(json.dumps(gar.service_account_key()))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    # As google-github-actions/auth exports it. Without a project, default() asks
    # cloudresourcemanager.googleapis.com for the pool's project: a URL no setting moves here.
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", gar.project)

    credentials, project = google.auth.default(scopes=SCOPES)
    credentials.refresh(Request())

    assert project == gar.project

    assert credentials.service_account_email == DEFAULT_ACCOUNT
    assert artifact_registry(gar, credentials).get_repository(name=REPOSITORY).name == REPOSITORY
