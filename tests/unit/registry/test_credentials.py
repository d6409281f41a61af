"""Finding Google credentials: the order of sources, the three forms of GCP_SA_KEY, and every
way a key can be broken, each with its exit code and a message that names the problem."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import Result

from mlrelease.config.settings import load_settings
from mlrelease.credentials import resolve_credentials
from mlrelease.errors import AuthError, ConfigError

Run = Callable[..., Result]
EMAIL = "ci@test-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def sa_key(private_key: str) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": "http://127.0.0.1:9/token",
    }


def _resolve(tmp_path: Path, env: dict[str, str], key_file: Path | None = None):
    settings = load_settings(tmp_path, env=env)
    return resolve_credentials(settings, key_file=key_file, env=env)


@pytest.mark.parametrize("form", ["json", "path", "base64", "base64url"])
def test_gcp_sa_key_is_read_in_each_form(tmp_path: Path, sa_key: dict[str, str], form: str) -> None:
    text = json.dumps(sa_key)
    key_path = tmp_path / "key.json"
    key_path.write_text(text)
    value = {
        "json": text,
        "path": str(key_path),
        "base64": base64.b64encode(text.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(text.encode()).decode().rstrip("="),
    }[form]

    creds = _resolve(tmp_path, {"GCP_SA_KEY": value})

    assert (creds.source, creds.kind, creds.identity) == ("GCP_SA_KEY", "service_account", EMAIL)
    assert creds.project == "test-project"
    assert creds.describe() == f"GCP_SA_KEY: service account {EMAIL}"


def test_a_key_file_flag_wins_over_gcp_sa_key_and_adc(
    tmp_path: Path, sa_key: dict[str, str]
) -> None:
    flagged = tmp_path / "flagged.json"
    flagged.write_text(json.dumps({**sa_key, "client_email": "flag@p.iam.gserviceaccount.com"}))
    adc = tmp_path / "adc.json"
    adc.write_text(json.dumps({**sa_key, "client_email": "adc@p.iam.gserviceaccount.com"}))
    env = {"GCP_SA_KEY": json.dumps(sa_key), "GOOGLE_APPLICATION_CREDENTIALS": str(adc)}

    assert _resolve(tmp_path, env, key_file=flagged).identity == "flag@p.iam.gserviceaccount.com"
    assert _resolve(tmp_path, env).identity == EMAIL
    del env["GCP_SA_KEY"]
    from_adc = _resolve(tmp_path, env)
    assert from_adc.identity == "adc@p.iam.gserviceaccount.com"
    assert from_adc.source == f"GOOGLE_APPLICATION_CREDENTIALS ({adc})"


def _broken(sa_key: dict[str, str], case: str) -> str:
    if case == "not json":
        return "{not json"
    if case == "missing fields":
        return json.dumps(
            {k: v for k, v in sa_key.items() if k not in ("client_email", "token_uri")}
        )
    if case == "double-escaped newlines":
        return json.dumps({**sa_key, "private_key": sa_key["private_key"].replace("\n", "\\n")})
    if case == "not a PEM":
        return json.dumps({**sa_key, "private_key": "MIIEvQIBADANBg"})
    if case == "unreadable PEM":
        body = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        return json.dumps({**sa_key, "private_key": body})
    if case == "wrong type":
        return json.dumps({**sa_key, "type": "authorized_user"})
    if case == "a list":
        return "[1, 2]"
    if case == "garbage":
        return "this is not a key"
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "names"),
    [
        ("not json", "not valid JSON"),
        ("missing fields", "lack the fields client_email, token_uri"),
        ("double-escaped newlines", "literal \\n sequences"),
        ("not a PEM", "not a PEM private key"),
        ("unreadable PEM", "cannot be read as an RSA private key"),
        ("wrong type", "type 'authorized_user', not a service-account key"),
        ("a list", "not a JSON object"),
        ("garbage", "neither key JSON, nor the path of a key file, nor base64"),
    ],
)
def test_a_broken_gcp_sa_key_is_exit_2_naming_the_problem(
    run: Run, monkeypatch: pytest.MonkeyPatch, sa_key: dict[str, str], case: str, names: str
) -> None:
    monkeypatch.setenv("GCP_SA_KEY", _broken(sa_key, case))

    result = run("--json", "auth")

    assert result.exit_code == 2, result.output
    (error,) = json.loads(result.stdout)["errors"]
    assert names in error["message"]
    assert "GCP_SA_KEY" in error["message"]
    assert "PRIVATE KEY" not in result.stdout + result.stderr
    assert sa_key["private_key"].splitlines()[1] not in result.stdout + result.stderr


def test_a_key_file_that_does_not_exist_is_exit_2(run: Run, tmp_path: Path) -> None:
    result = run("auth", "--key-file", str(tmp_path / "missing.json"))

    assert result.exit_code == 2, result.output
    assert "does not exist" in result.stderr


def test_an_unknown_credential_type_in_a_key_file_is_exit_2(
    run: Run, tmp_path: Path, sa_key: dict[str, str]
) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({**sa_key, "type": "gdch_service_account"}))

    result = run("auth", "--key-file", str(path))

    assert result.exit_code == 2, result.output
    assert "type 'gdch_service_account'; expected one of service_account" in result.stderr


def test_no_credentials_at_all_is_exit_4_with_the_ways_to_provide_them(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("auth")

    assert result.exit_code == 4, result.output
    assert "no Google credentials found" in result.stderr
    assert "GCP_SA_KEY" in result.stderr


def test_an_external_account_file_names_the_impersonated_account(tmp_path: Path) -> None:
    subject = tmp_path / "subject-token"
    subject.write_text("a.b.c")
    info = {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/"
        "providers/gh",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "http://127.0.0.1:9/v1/token",
        "service_account_impersonation_url": "http://127.0.0.1:9/v1/projects/-/serviceAccounts/"
        f"{EMAIL}:generateAccessToken",
        "credential_source": {"file": str(subject)},
    }
    path = tmp_path / "wif.json"
    path.write_text(json.dumps(info))

    creds = _resolve(tmp_path, {"GOOGLE_APPLICATION_CREDENTIALS": str(path)})

    assert (creds.kind, creds.identity) == ("external_account", EMAIL)
    assert creds.describe().endswith(f"workload identity federation as {EMAIL}")


def test_resolution_errors_are_mlrelease_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        _resolve(tmp_path, {"GCP_SA_KEY": "{}"})
    with pytest.raises(AuthError):
        _resolve(tmp_path, {})
