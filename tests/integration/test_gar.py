"""mlrelease against the GAR emulator, with the real google-auth, google-cloud-artifact-registry
and Docker engine: `auth` with each credential source and each failure, and `push`/`releases`
through the Artifact Registry API and the token-protected registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.emulator import CANARY
from tests.integration.releasing import (
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
)

pytestmark = pytest.mark.integration

UPLOAD = "artifactregistry.repositories.uploadArtifacts"
EMAIL = "ci@test-project.iam.gserviceaccount.com"


@pytest.fixture
def rel(tmp_path: Path, gar, sa_key, docker_client) -> ReleaseRepo:
    """A repository configured for the emulator's project, with v1.0.0 tagged at HEAD."""
    released = release_repo(tmp_path, **gar_settings(gar))
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    released.repo.tag("v1.0.0", annotated=True)
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def envelope(proc) -> dict:
    return json.loads(proc.stdout)


def assert_no_secret(proc, *secrets: str) -> None:
    """Nothing secret on stdout or stderr: the canary planted in keys and tokens, the key."""
    shown = proc.stdout + proc.stderr
    for secret in secrets:
        assert secret not in shown
    assert "PRIVATE KEY" not in shown
    assert "ya29." not in shown


# auth


@pytest.mark.parametrize("form", ["json", "path", "base64"])
def test_auth_with_gcp_sa_key_in_each_form(rel, sa_key, form: str) -> None:
    text = json.dumps(sa_key)
    path = rel.path.parent / "key.json"
    path.write_text(text)
    value = {"json": text, "path": str(path), "base64": base64.b64encode(text.encode()).decode()}

    result = rel.mlrelease("--json", "auth", GCP_SA_KEY=value[form])

    assert result.returncode == 0, result.stderr
    data = envelope(result)["data"]
    assert data["source"] == "GCP_SA_KEY"
    assert data["identity"] == sa_key["client_email"]
    assert data["type"] == "service_account"
    assert 0 < data["expires_in_s"] <= 3600


def test_auth_with_a_key_file_and_with_google_application_credentials(rel, sa_key) -> None:
    path = rel.path.parent / "key.json"
    path.write_text(json.dumps(sa_key))

    del rel.env["GCP_SA_KEY"]
    by_flag = rel.mlrelease("auth", "--key-file", str(path))
    by_adc = rel.mlrelease("auth", GOOGLE_APPLICATION_CREDENTIALS=str(path))

    assert by_flag.returncode == 0, by_flag.stderr
    assert by_flag.stdout.strip() == sa_key["client_email"]
    assert f"--key-file {path}: service account" in by_flag.stderr
    assert by_adc.returncode == 0, by_adc.stderr
    assert f"GOOGLE_APPLICATION_CREDENTIALS ({path}): service account" in by_adc.stderr


def test_an_empty_gcp_sa_key_is_a_configuration_error_not_a_fall_through(rel, tmp_path) -> None:
    # What GitHub passes for a secret that is not defined (forks): never silently ADC.
    adc = tmp_path / "adc.json"
    adc.write_text("{}")

    result = rel.mlrelease("auth", GCP_SA_KEY="", GOOGLE_APPLICATION_CREDENTIALS=str(adc))

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0] == "error: GCP_SA_KEY is set but empty"
    assert "forks" in result.stderr


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda base: base.mkdir() or base, "is a directory"),
        (lambda base: Path("/dev/null"), "is a device"),
    ],
    ids=["directory", "device"],
)
def test_a_key_path_that_is_no_file_says_what_it_is(rel, tmp_path, make, what) -> None:
    path = make(tmp_path / "keys")

    for env in ({"GCP_SA_KEY": str(path)}, {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}):
        rel.env.pop("GCP_SA_KEY", None)
        result = rel.mlrelease("auth", **env)

        assert result.returncode == 2, result.stderr
        assert what in result.stderr.splitlines()[0], result.stderr
        assert "does not exist" not in result.stderr


def test_keyless_credentials_yield_a_token_for_the_impersonated_account(rel, gar) -> None:
    info = gar.external_account_info(rel.path.parent)
    path = rel.path.parent / "wif.json"
    path.write_text(json.dumps(info))

    del rel.env["GCP_SA_KEY"]
    result = rel.mlrelease("--json", "auth", GOOGLE_APPLICATION_CREDENTIALS=str(path))

    assert result.returncode == 0, result.stderr
    data = envelope(result)["data"]
    assert data["type"] == "external_account"
    assert data["identity"] == EMAIL
    assert data["expires_in_s"] > 0


def test_a_revoked_key_is_exit_4_with_the_hint(rel, gar, sa_key) -> None:
    gar.revoke_key(sa_key)

    result = rel.mlrelease("auth")

    assert result.returncode == 4, result.stderr
    assert "invalid_grant" in result.stderr
    assert "gcloud iam service-accounts keys list" in result.stderr
    assert_no_secret(result, CANARY)


def test_an_unreachable_token_endpoint_is_exit_5(rel, sa_key) -> None:
    key = {**sa_key, "token_uri": "http://127.0.0.1:9/token"}

    result = rel.mlrelease("auth", GCP_SA_KEY=json.dumps(key))

    assert result.returncode == 5, result.stderr
    assert "cannot reach the token endpoint" in result.stderr


# push


def test_a_full_release_is_pushed_verified_and_listed(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")

    pushed = rel.mlrelease("--json", "push", "v1.0.0")

    assert pushed.returncode == 0, pushed.stderr
    data = envelope(pushed)["data"]
    assert data["pushed"] and data["verified"]
    assert data["digest"] == gar.tag_digest("docker", rel.image, "v1.0.0")
    assert data["credentials_source"] == "GCP_SA_KEY: service account " + EMAIL
    assert data["ref"] == f"{gar.registry_host}/{gar.project}/docker/{rel.image}:v1.0.0"

    again = rel.mlrelease("--json", "push", "v1.0.0")
    assert again.returncode == 0, again.stderr
    assert envelope(again)["data"]["pushed"] is False

    listed = rel.mlrelease("--json", "releases")
    assert listed.returncode == 0, listed.stderr
    releases = envelope(listed)["data"]["releases"]
    # The repository holds other tests' images too: only this image's releases are listed.
    (entry,) = releases
    assert entry["uri"].endswith(f"/{gar.project}/docker/{rel.image}@{data['digest']}")
    assert entry["version"] == "1.0.0"
    assert entry["compressed_size_bytes"] > 0
    assert entry["upload_time"]


def test_a_missing_repository_is_exit_3_with_the_create_command(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.remove_repository("docker")

    result = rel.mlrelease("push", "v1.0.0")

    assert result.returncode == 3, result.stderr
    assert "gcloud artifacts repositories create docker --repository-format=docker" in result.stderr
    assert_no_secret(result, CANARY)


def test_a_denied_upload_permission_is_exit_4_with_the_grant_command(
    rel, gar, docker_client
) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.deny(UPLOAD)

    result = rel.mlrelease("push", "v1.0.0")

    assert result.returncode == 4, result.stderr
    assert UPLOAD in result.stderr
    assert "--role=roles/artifactregistry.writer" in result.stderr
    assert gar.tag_digest("docker", rel.image, "v1.0.0") is None
    assert_no_secret(result, CANARY)


def test_a_forbidden_repository_is_exit_4_with_the_grant_command(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.deny("artifactregistry.repositories.get")

    result = rel.mlrelease("push", "v1.0.0")

    assert result.returncode == 4, result.stderr
    assert "is denied access to the repository docker" in result.stderr
    assert "add-iam-policy-binding docker" in result.stderr
    assert_no_secret(result, CANARY)


def test_a_wrong_key_is_exit_4_and_pushes_nothing(rel, gar, sa_key, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.revoke_key(sa_key)

    result = rel.mlrelease("push", "v1.0.0")

    assert result.returncode == 4, result.stderr
    assert gar.tag_digest("docker", rel.image, "v1.0.0") is None
    assert_no_secret(result, CANARY)


def test_a_registry_failing_twice_is_retried_to_success(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.fail_next(2, target="push", status=503)

    result = rel.mlrelease("--json", "push", "v1.0.0")

    assert result.returncode == 0, result.stderr
    data = envelope(result)["data"]
    assert data["attempts"] == 3
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == data["digest"]


def test_a_registry_that_keeps_failing_is_exit_5_and_no_tag(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")
    gar.fail_next(50, target="push", status=503)

    result = rel.mlrelease("push", "v1.0.0", "--attempts", "2")

    assert result.returncode == 5, result.stderr
    assert "failed after 2 attempts" in result.stderr
    assert "nothing had landed" in result.stderr
    gar.reset()
    assert gar.tag_digest("docker", rel.image, "v1.0.0") is None


def test_another_image_is_refused_even_forced_on_immutable_tags(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0", content="first")
    assert rel.mlrelease("push", "v1.0.0").returncode == 0
    first = gar.tag_digest("docker", rel.image, "v1.0.0")
    rel.build_image(docker_client, "v1.0.0", content="second")
    gar.add_repository("docker", immutable_tags=True)

    refused = rel.mlrelease("push", "v1.0.0")
    forced = rel.mlrelease("push", "v1.0.0", "--force")

    assert refused.returncode == 3, refused.stderr
    assert forced.returncode == 3, forced.stderr
    assert "immutable" in forced.stderr
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == first


def test_aliases_move_for_stable_versions(rel, gar, docker_client) -> None:
    rel.build_image(docker_client, "v1.0.0")

    result = rel.mlrelease("--json", "push", "v1.0.0", MLRELEASE_TAG_ALIASES="minor,major,latest")

    assert result.returncode == 0, result.stderr
    data = envelope(result)["data"]
    assert data["aliases"] == ["v1.0", "v1", "latest"]
    for alias in ("v1.0", "v1", "latest"):
        assert gar.tag_digest("docker", rel.image, alias) == data["digest"]
