"""Cloud Storage as google-cloud-storage and gcloud's log tailer see it: buckets, uploads,
ranged reads, and GCS's refusals."""

from __future__ import annotations

import os

import pytest
import requests

from tests.emulator.storage import StorageEmulator

BUCKET = "test-project_cloudbuild"


@pytest.fixture
def client(storage: StorageEmulator, credentials):
    return storage.client(credentials)


def test_a_missing_bucket_is_404_then_created_as_gcloud_does(client):
    from google.api_core.exceptions import Conflict, NotFound

    # gcloud's CreateBucketIfNotExists: get, and insert on 404 only.
    with pytest.raises(NotFound, match="The specified bucket does not exist"):
        client.get_bucket(BUCKET)
    assert client.lookup_bucket(BUCKET) is None

    client.create_bucket(BUCKET)

    assert client.get_bucket(BUCKET).name == BUCKET
    with pytest.raises(Conflict):
        client.create_bucket(BUCKET)


def test_an_upload_reads_back_whole_and_by_ranges(client):
    from google.api_core.exceptions import NotFound, RequestRangeNotSatisfiable

    blob = client.create_bucket(BUCKET).blob("source/1700000000.1-abc.tgz")
    with pytest.raises(NotFound, match="No such object"):
        blob.download_as_bytes()
    blob.upload_from_string(b"0123456789", content_type="application/gzip")

    assert blob.download_as_bytes() == b"0123456789"
    assert blob.download_as_bytes(start=4) == b"456789"
    assert blob.download_as_bytes(start=2, end=4) == b"234"
    with pytest.raises(RequestRangeNotSatisfiable):
        blob.download_as_bytes(start=10)
    blob.reload()
    assert blob.size == 10 and int(blob.generation) > 0


def test_a_large_upload_goes_resumable_through_the_front(client, storage):
    payload = os.urandom(9 * 1024 * 1024)  # over google-cloud-storage's 8 MiB multipart limit
    blob = client.create_bucket(BUCKET).blob("big.bin")

    blob.upload_from_string(payload)

    assert blob.download_as_bytes() == payload
    assert ("storage", "PUT", "/upload/storage/v1/b/test-project_cloudbuild/o", 200) in (
        storage.requests
    )


def tail(storage: StorageEmulator, token: str, name: str, cursor: int) -> requests.Response:
    """What gcloud's GCSLogTailer asks: the XML URL with `Range: bytes=CURSOR-`."""
    return requests.get(
        f"{storage.endpoint}/{BUCKET}/{name}",
        headers={"Range": f"bytes={cursor}-", "Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_a_log_tailer_sees_404_then_new_bytes_then_416(client, storage, credentials):
    blob = client.create_bucket(BUCKET).blob("log-1234.txt")

    assert tail(storage, credentials.token, blob.name, 0).status_code == 404
    blob.upload_from_string(b"starting build\n")
    first = tail(storage, credentials.token, blob.name, 0)
    assert (first.status_code, first.content) == (206, b"starting build\n")
    assert tail(storage, credentials.token, blob.name, len(first.content)).status_code == 416
    blob.upload_from_string(b"starting build\nFETCHSOURCE\n")
    grown = tail(storage, credentials.token, blob.name, len(first.content))
    assert (grown.status_code, grown.content) == (206, b"FETCHSOURCE\n")
    assert grown.headers["Content-Range"] == "bytes 15-26/27"


def test_no_token_or_a_foreign_one_is_401(storage):
    url = f"{storage.endpoint}/storage/v1/b/{BUCKET}"

    anonymous = requests.get(url, timeout=10)
    foreign = requests.get(url, headers={"Authorization": "Bearer ya29.not-issued"}, timeout=10)

    assert anonymous.status_code == foreign.status_code == 401
    assert anonymous.json()["error"]["message"].startswith(
        "Anonymous caller does not have storage.buckets.get access to the Google Cloud Storage "
        "bucket."
    )
    assert foreign.json()["error"]["errors"][0] == {
        "message": "Invalid Credentials",
        "domain": "global",
        "reason": "authError",
        "locationType": "header",
        "location": "Authorization",
    }


def test_denied_permissions_are_refused_with_gcs_messages(gar, client, storage, credentials):
    from google.api_core.exceptions import Forbidden

    bucket = client.create_bucket(BUCKET)
    bucket.blob("log-1.txt").upload_from_string(b"x")
    gar.deny("storage.objects.create")
    gar.deny("storage.objects.get")

    with pytest.raises(Forbidden) as denied:
        bucket.blob("source/a.tgz").upload_from_string(b"data")
    assert (
        "ci@test-project.iam.gserviceaccount.com does not have storage.objects.create access to "
        "the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource "
        "(or it may not exist)."
    ) in denied.value.message
    xml = tail(storage, credentials.token, "log-1.txt", 0)
    assert xml.status_code == 403
    assert "<Code>AccessDenied</Code>" in xml.text
    assert "does not have storage.objects.get access to test-project_cloudbuild/log-1.txt" in (
        xml.text
    )


def test_the_bucket_creation_permission_is_checked(gar, client):
    from google.api_core.exceptions import Forbidden

    gar.deny("storage.buckets.create")

    with pytest.raises(Forbidden, match=r"storage\.buckets\.create access to the Google Cloud"):
        client.create_bucket(BUCKET)


def test_faults_land_on_the_front(client, storage, credentials):
    client.create_bucket(BUCKET).blob("log-2.txt").upload_from_string(b"abc")
    storage.fail_next(1, status=503)

    assert tail(storage, credentials.token, "log-2.txt", 0).status_code == 503
    # google-cloud-storage retries a read on 503 by itself.
    storage.fail_next(1, status=503)
    assert client.bucket(BUCKET).blob("log-2.txt").download_as_bytes() == b"abc"


def test_data_can_live_in_a_directory_across_restarts(gar, tmp_path, credentials):
    first = StorageEmulator(gar, data_dir=tmp_path)
    try:
        first.client(credentials).create_bucket(BUCKET).blob("kept.txt").upload_from_string(b"1")
    finally:
        first.stop()
    second = StorageEmulator(gar, data_dir=tmp_path)
    try:
        blob = second.client(credentials).bucket(BUCKET).blob("kept.txt")
        assert blob.download_as_bytes() == b"1"
    finally:
        second.stop()
