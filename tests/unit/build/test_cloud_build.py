"""The Cloud Build builder's rules: gcloud's bucket and object names, the docker step's
arguments, what the builder refuses, and the log tail's line splitting."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlrelease.build.cloud_build import CloudBuildRequest, check_cloud_request, step_args
from mlrelease.build.cloud_build_api import LogTail, default_bucket, staged_object_name
from mlrelease.errors import ConfigError


@pytest.mark.parametrize(
    ("project", "bucket"),
    [
        ("my-project", "my-project_cloudbuild"),
        ("example.com:my-project", "example_com_my-project_cloudbuild"),
        ("google-ml", "elgoog-ml_cloudbuild"),
    ],
)
def test_the_staging_bucket_is_named_as_gcloud_names_it(project: str, bucket: str) -> None:
    assert default_bucket(project) == bucket


def test_the_staged_object_is_source_time_uuid_tgz() -> None:
    name = staged_object_name(1764633600.25)

    assert re.fullmatch(r"source/1764633600\.250000-[0-9a-f]{32}\.tgz", name)
    assert staged_object_name(1.0) != staged_object_name(1.0)


def request(**changes: object) -> CloudBuildRequest:
    fields: dict[str, object] = {
        "context": Path("."),
        "dockerfile": "Dockerfile",
        "tags": ("h/p/r/svc:sha-1a2b3c4",),
        "buildargs": {"PYTHON_IMAGE": "python:3.11-slim"},
        "labels": {"b": "2", "a": "1"},
        "buildkit": True,
        **changes,
    }
    return CloudBuildRequest(**fields)  # type: ignore[arg-type]


def test_the_step_builds_with_the_tags_labels_and_build_args() -> None:
    assert step_args(request(cache_from=("h/p/r/svc:v1.0.0",))) == [
        "build",
        "-t",
        "h/p/r/svc:sha-1a2b3c4",
        "--label",
        "a=1",
        "--label",
        "b=2",
        "--build-arg",
        "PYTHON_IMAGE=python:3.11-slim",
        "--cache-from",
        "h/p/r/svc:v1.0.0",
        "-f",
        "Dockerfile",
        ".",
    ]


def test_the_classic_step_uses_the_cloudbuild_network_and_no_cache_when_asked() -> None:
    args = step_args(request(buildkit=False, no_cache=True))

    assert args[:4] == ["build", "--network", "cloudbuild", "--no-cache"]


@pytest.mark.parametrize(
    ("option", "named"),
    [
        ({"cache_to": ("type=inline",)}, "--cache-to type=inline"),
        ({"cache_from": ("type=gha",)}, "--cache-from type=gha"),
        ({"secrets": True}, "build secrets"),
        ({"platform": "linux/arm64"}, "--platform linux/arm64"),
    ],
)
def test_what_a_cloud_build_step_cannot_take_is_refused(option: dict, named: str) -> None:
    given = {"cache_from": (), "cache_to": (), "secrets": False, "platform": None, **option}

    with pytest.raises(ConfigError) as raised:
        check_cloud_request(**given)

    assert named in raised.value.message
    assert "--builder buildkit" in raised.value.hint


def test_an_image_as_cache_source_is_taken() -> None:
    check_cloud_request(cache_from=("h/p/r/svc:v1",), cache_to=(), secrets=False, platform=None)


class FakeBlob:
    """A log object that grows between reads, as a running build's does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.starts: list[int] = []

    def download_as_bytes(self, start: int, timeout: float) -> bytes:
        self.starts.append(start)
        return self.chunks.pop(0) if self.chunks else b""


def test_the_log_tail_reads_from_where_it_stopped_and_keeps_partial_lines() -> None:
    blob = FakeBlob([b"Step #0: one\nStep #0: tw", b"o\nthree\n"])
    storage = SimpleNamespace(bucket=lambda name: SimpleNamespace(blob=lambda path: blob))
    build = SimpleNamespace(logs_bucket="gs://b/logs", id="42")

    tail = LogTail(storage, build, timeout_s=5)

    assert tail.read() == ["Step #0: one"]
    assert tail.read() == ["Step #0: two", "three"]
    assert tail.read() == []
    assert blob.starts == [0, 24, 32]


class FakeStorage:
    """Buckets by name, and the names its project lists."""

    def __init__(self, existing: set[str], own: set[str]) -> None:
        self.existing, self.own = existing, own
        self.uploads: list[str] = []

    def lookup_bucket(self, name: str, timeout: float) -> object | None:
        return self._bucket(name) if name in self.existing else None

    def list_buckets(self, prefix: str, timeout: float) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=name) for name in self.own if name.startswith(prefix)]

    def _bucket(self, name: str) -> SimpleNamespace:
        def blob(path: str) -> SimpleNamespace:
            def upload(handle: object, content_type: str, timeout: float) -> None:
                self.uploads.append(f"{name}/{path}")

            return SimpleNamespace(name=path, generation=7, upload_from_file=upload)

        return SimpleNamespace(blob=blob)


def cloud(tmp_path: Path, storage: FakeStorage, **env: str):
    from mlrelease.build.cloud_build_api import CloudBuild
    from mlrelease.config.settings import load_settings

    settings = load_settings(tmp_path, env={"MLRELEASE_GCP_PROJECT": "p", **env})
    credentials = SimpleNamespace(identity="ci@p.iam.gserviceaccount.com", credentials=None)
    built = CloudBuild(settings, credentials)  # type: ignore[arg-type]
    built._storage = storage
    return built


def test_the_default_bucket_is_refused_when_another_project_owns_it(tmp_path: Path) -> None:
    from mlrelease.errors import PreconditionError

    storage = FakeStorage(existing={"p_cloudbuild"}, own=set())

    with pytest.raises(PreconditionError) as raised:
        cloud(tmp_path, storage).stage(io.BytesIO(b"source"))

    assert "not in project p" in raised.value.message
    assert storage.uploads == []


def test_the_projects_own_bucket_and_a_named_one_are_used(tmp_path: Path) -> None:
    own = FakeStorage(existing={"p_cloudbuild"}, own={"p_cloudbuild"})
    named = FakeStorage(existing={"team-sources"}, own=set())

    cloud(tmp_path, own).stage(io.BytesIO(b"source"))
    cloud(tmp_path, named, MLRELEASE_CLOUD_BUILD_BUCKET="team-sources").stage(io.BytesIO(b"s"))

    assert [u.partition("/")[0] for u in own.uploads + named.uploads] == [
        "p_cloudbuild",
        "team-sources",
    ]
