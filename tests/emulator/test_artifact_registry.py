"""The Artifact Registry REST API, as google-cloud-artifact-registry sees it."""

from __future__ import annotations

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY

UPLOAD = "artifactregistry.repositories.uploadArtifacts"
DOWNLOAD = "artifactregistry.repositories.downloadArtifacts"


def test_get_repository(client):
    from google.cloud.artifactregistry_v1 import Repository

    repository = client.get_repository(name=REPOSITORY)

    assert repository.name == REPOSITORY
    assert repository.format_ == Repository.Format.DOCKER
    assert repository.mode == Repository.Mode.STANDARD_REPOSITORY
    assert not repository.docker_config.immutable_tags


def test_get_repository_with_immutable_tags(gar: GarEmulator, client):
    gar.add_repository("releases", immutable_tags=True)

    repository = client.get_repository(name=REPOSITORY.replace("/docker", "/releases"))

    assert repository.docker_config.immutable_tags


def test_the_format_comes_back_as_an_int_when_asked(gar: GarEmulator, credentials):
    import requests

    response = requests.get(
        f"{gar.api_endpoint}/v1/{REPOSITORY}",
        params={"$alt": "json;enum-encoding=int"},
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )

    assert response.json()["format"] == 1
    assert isinstance(response.json()["sizeBytes"], str)


def test_a_missing_repository_is_not_found(gar: GarEmulator, client):
    from google.api_core.exceptions import NotFound

    gar.remove_repository("docker")

    with pytest.raises(NotFound) as raised:
        client.get_repository(name=REPOSITORY)

    assert raised.value.code == 404


def test_a_denied_permission_is_forbidden_with_a_reason(gar: GarEmulator, client):
    from google.api_core.exceptions import Forbidden

    gar.deny("artifactregistry.repositories.get")

    with pytest.raises(Forbidden) as raised:
        client.get_repository(name=REPOSITORY)

    assert raised.value.reason == "IAM_PERMISSION_DENIED"
    assert "artifactregistry.repositories.get" in raised.value.message


def test_another_project_is_forbidden(client):
    from google.api_core.exceptions import Forbidden

    with pytest.raises(Forbidden):
        client.get_repository(name=REPOSITORY.replace("test-project", "other-project"))


def test_permissions_granted(client):
    response = client.test_iam_permissions(
        request={"resource": REPOSITORY, "permissions": [UPLOAD, DOWNLOAD]}
    )

    assert list(response.permissions) == [UPLOAD, DOWNLOAD]


def test_permissions_denied(gar: GarEmulator, client):
    gar.deny(UPLOAD)

    response = client.test_iam_permissions(
        request={"resource": REPOSITORY, "permissions": [UPLOAD, DOWNLOAD]}
    )

    assert list(response.permissions) == [DOWNLOAD]


def test_a_missing_tag_is_not_found(client):
    from google.api_core.exceptions import NotFound

    with pytest.raises(NotFound):
        client.get_tag(name=f"{REPOSITORY}/packages/never-pushed/tags/v1")


def test_a_revoked_token_is_unauthenticated(gar: GarEmulator, credentials):
    import requests

    gar.revoke_tokens()
    response = requests.get(
        f"{gar.api_endpoint}/v1/{REPOSITORY}",
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_the_client_refreshes_its_token_after_a_401(gar: GarEmulator, client):
    gar.revoke_tokens()
    before = len(gar.requests)

    assert client.get_repository(name=REPOSITORY).name == REPOSITORY
    assert [(r[0], r[3]) for r in gar.requests[before:]] == [
        ("api", 401),
        ("token", 200),
        ("api", 200),
    ]


def test_the_default_client_sends_a_self_signed_jwt(gar: GarEmulator, sa_key):
    from google.cloud.artifactregistry_v1 import ArtifactRegistryClient
    from google.oauth2 import service_account

    from tests.emulator.conftest import SCOPES

    credentials = service_account.Credentials.from_service_account_info(sa_key, scopes=SCOPES)
    client = ArtifactRegistryClient(
        credentials=credentials, transport="rest", client_options={"api_endpoint": gar.api_endpoint}
    )

    assert client.get_repository(name=REPOSITORY).name == REPOSITORY
    assert [r[0] for r in gar.requests] == ["api"]  # no call to the token endpoint


def test_a_revoked_keys_self_signed_jwt_is_unauthenticated(gar: GarEmulator, sa_key):
    from google.api_core.exceptions import Unauthorized
    from google.cloud.artifactregistry_v1 import ArtifactRegistryClient
    from google.oauth2 import service_account

    from tests.emulator.conftest import SCOPES

    gar.revoke_key(sa_key)
    credentials = service_account.Credentials.from_service_account_info(sa_key, scopes=SCOPES)
    client = ArtifactRegistryClient(
        credentials=credentials, transport="rest", client_options={"api_endpoint": gar.api_endpoint}
    )

    with pytest.raises(Unauthorized):
        client.get_repository(name=REPOSITORY)


@pytest.mark.parametrize(
    ("status", "error"), [(503, "ServiceUnavailable"), (500, "InternalServerError")]
)
def test_injected_api_failures_surface_as_server_errors(gar: GarEmulator, client, status, error):
    from google.api_core import exceptions

    gar.fail_next(1, target="api", status=status)

    with pytest.raises(getattr(exceptions, error)):
        client.get_repository(name=REPOSITORY, retry=None)
    assert client.get_repository(name=REPOSITORY).name == REPOSITORY
    assert [r[3] for r in gar.requests if r[0] == "api"] == [status, 200]


def test_the_client_does_not_retry_an_unavailable_api_by_itself(gar: GarEmulator, client):
    from google.api_core.exceptions import ServiceUnavailable

    gar.fail_next(1, target="api")

    with pytest.raises(ServiceUnavailable):
        client.get_repository(name=REPOSITORY)
    assert [r[3] for r in gar.requests if r[0] == "api"] == [503]


def test_a_dropped_api_request_is_a_connection_error(gar: GarEmulator, client):
    import requests

    gar.fail_next(1, target="api", drop=True)

    with pytest.raises(requests.exceptions.ConnectionError):
        client.get_repository(name=REPOSITORY, retry=None)
