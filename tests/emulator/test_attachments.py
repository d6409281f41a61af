"""Files and attachments in the emulator: the REST exchange gcloud makes, and gcloud itself."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests

from tests.emulator import GarEmulator
from tests.emulator.conftest import unique
from tests.emulator.registry_client import Pushed, RegistryClient
from tests.emulator.test_gcloud import LOCATION, Gcloud, gcloud  # noqa: F401 - the fixture

SBOM_TYPE = "application/vnd.cyclonedx+json"


@pytest.fixture
def pushed(gar: GarEmulator, registry: RegistryClient) -> tuple[str, Pushed]:
    """A repository of its own and an image in it: (the repository's resource name, image)."""
    repository = unique("attach")
    gar.add_repository(repository)
    image = registry.push_image(f"{gar.project}/{repository}/app", "v1")
    return f"projects/{gar.project}/locations/{LOCATION}/repositories/{repository}", image


def _api(gar: GarEmulator, token: str, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, gar.api_endpoint + path, headers=headers, timeout=10, **kwargs)


def _done(gar: GarEmulator, token: str, operation: dict) -> dict:
    for _ in range(50):
        if operation.get("done"):
            return operation
        time.sleep(0.05)
        operation = _api(gar, token, "GET", f"/v1/{operation['name']}").json()
    raise AssertionError(f"the operation never finished: {operation}")


def _upload(gar: GarEmulator, token: str, resource: str, data: bytes) -> dict:
    body = (
        b"--B\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n"
        b"--B\r\nContent-Type: application/json\r\n\r\n" + data + b"\r\n--B--\r\n"
    )
    answer = _api(
        gar,
        token,
        "POST",
        f"/upload/v1/{resource}/files:upload",
        params={"uploadType": "multipart", "alt": "json"},
        data=body,
        headers={"Content-Type": "multipart/related; boundary=B"},
    )
    assert answer.status_code == 200, answer.text
    return _done(gar, token, answer.json()["operation"])


def test_upload_attach_list_download(gar, credentials, pushed):
    resource, image = pushed
    token = credentials.token
    document = b'{"bomFormat": "CycloneDX"}\n'
    uploaded = _upload(gar, token, resource, document)
    file = uploaded["response"]
    digest = hashlib.sha256(document).hexdigest()
    assert file["name"] == f"{resource}/files/sha256:{digest}"
    assert file["sizeBytes"] == str(len(document))
    again = _upload(gar, token, resource, document)
    assert "already exists" in again["error"]["message"]

    target = f"{resource}/packages/app/versions/{image.digest}"
    created = _api(
        gar,
        token,
        "POST",
        f"/v1/{resource}/attachments",
        params={"attachmentId": "sbom-1"},
        json={"target": target, "type": SBOM_TYPE, "files": [file["name"]]},
    )
    assert created.status_code == 200, created.text
    attachment = _done(gar, token, created.json())["response"]
    assert attachment["name"] == f"{resource}/attachments/sbom-1"
    assert attachment["target"] == target and attachment["type"] == SBOM_TYPE

    listed = _api(
        gar, token, "GET", f"/v1/{resource}/attachments", params={"filter": f'target="{target}"'}
    ).json()
    assert [a["name"] for a in listed["attachments"]] == [attachment["name"]]
    other = f'target="{resource}/packages/app/versions/sha256:{"0" * 64}"'
    assert (
        _api(gar, token, "GET", f"/v1/{resource}/attachments", params={"filter": other}).json()
        == {}
    )

    downloaded = _api(gar, token, "GET", f"/v1/{file['name']}:download", params={"alt": "media"})
    assert downloaded.content == document


def test_refusals(gar, credentials, pushed):
    resource, image = pushed
    token = credentials.token
    file = _upload(gar, token, resource, b"x")["response"]["name"]
    path = f"/v1/{resource}/attachments"
    target = f"{resource}/packages/app/versions/{image.digest}"
    body = {"target": target, "type": SBOM_TYPE, "files": [file]}
    ok = _api(gar, token, "POST", path, params={"attachmentId": "a"}, json=body)
    assert ok.status_code == 200
    again = _api(gar, token, "POST", path, params={"attachmentId": "a"}, json=body)
    assert again.status_code == 409 and again.json()["error"]["status"] == "ALREADY_EXISTS"
    missing = {**body, "target": f"{resource}/packages/app/versions/sha256:{'1' * 64}"}
    refused = _api(gar, token, "POST", path, params={"attachmentId": "b"}, json=missing)
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert _api(gar, "not-a-token", "GET", path).status_code == 401
    gar.deny("artifactregistry.attachments.create")
    denied = _api(gar, token, "POST", path, params={"attachmentId": "c"}, json=body)
    assert denied.status_code == 403
    assert "artifactregistry.attachments.create" in denied.json()["error"]["message"]


def test_gcloud_attachments_create_list_and_download(gcloud: Gcloud, gar, pushed, tmp_path):  # noqa: F811
    resource, image = pushed
    repository = resource.rpartition("/")[2]
    document = tmp_path / "sbom.cdx.json"
    document.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6"}))
    target = f"{resource}/packages/app/versions/{image.digest}"
    gcloud.run(
        "artifacts",
        "attachments",
        "create",
        "sbom-gcloud",
        f"--repository={repository}",
        f"--location={LOCATION}",
        f"--target={target}",
        f"--attachment-type={SBOM_TYPE}",
        f"--files={document}",
    )
    listed = gcloud.json(
        "artifacts",
        "attachments",
        "list",
        f"--repository={repository}",
        f"--location={LOCATION}",
        f"--target={target}",
    )
    assert [(a["name"].rpartition("/")[2], a["type"]) for a in listed] == [
        ("sbom-gcloud", SBOM_TYPE)
    ]
    destination = tmp_path / "out"
    destination.mkdir()
    gcloud.run(
        "artifacts",
        "attachments",
        "download",
        "sbom-gcloud",
        f"--repository={repository}",
        f"--location={LOCATION}",
        f"--destination={destination}",
    )
    (downloaded,) = destination.iterdir()
    assert downloaded.read_bytes() == document.read_bytes()
    assert all(uri.startswith("http://127.0.0.1:") for uri in gcloud.uris), gcloud.uris
