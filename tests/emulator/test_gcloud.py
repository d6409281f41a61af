"""Google's own gcloud CLI against the emulator: what it shows is what the registry holds and what
the client library sees. Every request it makes is logged (`--log-http`) and must go to
127.0.0.1. gcloud's configuration lives in a throwaway CLOUDSDK_CONFIG directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import unique
from tests.emulator.fixtures import unavailable
from tests.emulator.registry_client import Pushed, RegistryClient

LOCATION = "us-central1"
_DUMP = re.compile(r"={23}\n==== request start ====.*?---- response end ----\n-{22}\n?", re.S)


@dataclass
class Gcloud:
    env: dict[str, str]
    uris: list[str]  # every request gcloud made, as --log-http shows it

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["gcloud", *args, "--log-http"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.uris.extend(re.findall(r"^uri: (\S+)$", done.stderr, re.M))
        # The request dumps hold tokens: keep them out of what a failure shows.
        done.stderr = _DUMP.sub("", done.stderr)
        if ok:
            assert done.returncode == 0, f"gcloud {' '.join(args)}: {done.stderr}"
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--format=json").stdout)


@pytest.fixture(scope="module")
def gcloud(gar: GarEmulator, tmp_path_factory: pytest.TempPathFactory) -> Gcloud:
    """gcloud configured for the emulator, logged in with a service-account key."""
    if shutil.which("gcloud") is None:
        unavailable("gcloud (the Google Cloud SDK) is not installed")
    workdir = tmp_path_factory.mktemp("gcloud")
    key_file = workdir / "key.json"
    key_file.write_text(json.dumps(gar.service_account_key()))
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": str(workdir / "config"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    }
    cli = Gcloud(env, [])
    for prop, value in [
        ("auth/token_host", gar.token_uri),
        ("api_endpoint_overrides/artifactregistry", gar.api_endpoint + "/"),
        ("core/project", gar.project),
        ("core/disable_usage_reporting", "true"),
        ("component_manager/disable_update_check", "true"),
        ("survey/disable_prompts", "true"),
    ]:
        cli.run("config", "set", prop, value)
    cli.run("auth", "activate-service-account", "--key-file", str(key_file))
    key_file.unlink()  # gcloud keeps its own copy in CLOUDSDK_CONFIG
    return cli


@dataclass(frozen=True)
class Seeded:
    repository: str  # the repository's ID
    host_path: str  # LOCATION-docker.pkg.dev/P/R, as gcloud names it
    app: Pushed  # app:v1
    untagged: Pushed  # app@digest
    nested: Pushed  # team/svc:latest


@pytest.fixture
def seeded(gar: GarEmulator, registry: RegistryClient) -> Seeded:
    """A repository of its own with app:v1, an untagged app version, and team/svc:latest."""
    repository = unique("gcloud")
    gar.add_repository(repository)
    prefix = f"{gar.project}/{repository}"
    return Seeded(
        repository,
        f"{LOCATION}-docker.pkg.dev/{prefix}",
        registry.push_image(f"{prefix}/app", "v1"),
        registry.push_image(f"{prefix}/app", None),
        registry.push_image(f"{prefix}/team/svc", "latest"),
    )


def resource(seeded: Seeded) -> str:
    return f"projects/test-project/locations/{LOCATION}/repositories/{seeded.repository}"


def test_repositories_describe(gcloud: Gcloud, seeded: Seeded, client):
    described = gcloud.json(
        "artifacts", "repositories", "describe", seeded.repository, f"--location={LOCATION}"
    )

    expected = client.get_repository(name=resource(seeded))
    assert described["name"] == expected.name == resource(seeded)
    assert described["format"] == "DOCKER"
    assert described["mode"] == "STANDARD_REPOSITORY"
    assert described["dockerConfig"] == {"immutableTags": False}


def test_docker_images_list(gcloud: Gcloud, seeded: Seeded, client):
    listed = gcloud.json(
        "artifacts", "docker", "images", "list", seeded.host_path, "--include-tags"
    )

    seen = {(i["package"], i["version"], tuple(i["tags"])) for i in listed}
    assert seen == {
        (f"{seeded.host_path}/app", seeded.app.digest, ("v1",)),
        (f"{seeded.host_path}/app", seeded.untagged.digest, ()),
        (f"{seeded.host_path}/team/svc", seeded.nested.digest, ("latest",)),
    }
    by_library = {
        (i.uri.rsplit("@", 1)[1], tuple(i.tags))
        for i in client.list_docker_images(parent=resource(seeded))
    }
    assert by_library == {(version, tags) for _, version, tags in seen}
    sizes = {i["version"]: i["metadata"]["imageSizeBytes"] for i in listed}
    assert sizes[seeded.app.digest] == str(
        next(
            i.image_size_bytes
            for i in client.list_docker_images(parent=resource(seeded))
            if i.uri.endswith(seeded.app.digest)
        )
    )


def test_docker_images_list_of_a_path_finds_nested_images(gcloud: Gcloud, seeded: Seeded):
    listed = gcloud.json(
        "artifacts", "docker", "images", "list", f"{seeded.host_path}/team", "--include-tags"
    )

    assert [(i["package"], i["version"]) for i in listed] == [
        (f"{seeded.host_path}/team/svc", seeded.nested.digest)
    ]


def test_docker_tags_list(gcloud: Gcloud, seeded: Seeded, registry: RegistryClient):
    listed = gcloud.json("artifacts", "docker", "tags", "list", f"{seeded.host_path}/app")

    assert [(t["tag"].rsplit("/", 1)[1], t["version"].rsplit("/", 1)[1]) for t in listed] == [
        ("v1", seeded.app.digest)
    ]
    assert registry.tags(seeded.app.name) == ["v1"]


def test_docker_tags_add_creates_a_tag(gcloud: Gcloud, seeded: Seeded, gar: GarEmulator):
    app = f"{seeded.host_path}/app"

    gcloud.run("artifacts", "docker", "tags", "add", f"{app}:v1", f"{app}:v1.0.0")

    assert gar.tag_digest(seeded.repository, "app", "v1.0.0") == seeded.app.digest


def test_docker_tags_add_moves_an_existing_tag(gcloud: Gcloud, seeded: Seeded, gar: GarEmulator):
    app = f"{seeded.host_path}/app"
    before = len(gar.requests)

    gcloud.run("artifacts", "docker", "tags", "add", f"{app}@{seeded.untagged.digest}", f"{app}:v1")

    assert gar.tag_digest(seeded.repository, "app", "v1") == seeded.untagged.digest
    tag_path = f"/v1/{resource(seeded)}/packages/app/tags"
    calls = [(r[1], r[2], r[3]) for r in gar.requests[before:] if r[2].startswith(tag_path)]
    assert calls == [
        ("GET", f"{tag_path}/v1", 200),
        ("DELETE", f"{tag_path}/v1", 200),
        ("POST", tag_path, 200),
    ]


def test_docker_tags_add_fails_on_an_immutable_tag(gcloud: Gcloud, registry: RegistryClient, gar):
    gar.add_repository("releases", immutable_tags=True)
    name = f"test-project/releases/{unique('gcloud')}"
    first = registry.push_image(name, "v1")
    other = registry.push_image(name, None)
    image = f"{LOCATION}-docker.pkg.dev/{name}"

    refused = gcloud.run(
        "artifacts", "docker", "tags", "add", f"{image}@{other.digest}", f"{image}:v1", ok=False
    )

    assert refused.returncode == 1
    assert "cannot delete tag v1. The repository has enabled tag immutability" in refused.stderr
    assert gar.tag_digest("releases", name.rsplit("/", 1)[1], "v1") == first.digest


def test_docker_tags_delete(gcloud: Gcloud, seeded: Seeded, registry: RegistryClient):
    gcloud.run("artifacts", "docker", "tags", "delete", f"{seeded.host_path}/app:v1")

    assert registry.tags(seeded.app.name) == []
    assert registry.head_manifest(seeded.app.name, seeded.app.digest).status_code == 200


def test_packages_list(gcloud: Gcloud, seeded: Seeded, client):
    listed = gcloud.json(
        "artifacts",
        "packages",
        "list",
        f"--repository={seeded.repository}",
        f"--location={LOCATION}",
    )

    assert [p["name"] for p in listed] == ["app", "team/svc"]
    by_library = client.list_packages(parent=resource(seeded))
    assert [p.name.rsplit("/", 1)[1] for p in by_library] == ["app", "team%2Fsvc"]


def test_versions_list(gcloud: Gcloud, seeded: Seeded, client):
    listed = gcloud.json(
        "artifacts",
        "versions",
        "list",
        "--package=app",
        f"--repository={seeded.repository}",
        f"--location={LOCATION}",
    )

    assert {v["name"].rsplit("/", 1)[1] for v in listed} == {
        seeded.app.digest,
        seeded.untagged.digest,
    }
    by_library = client.list_versions(parent=f"{resource(seeded)}/packages/app")
    assert {v["name"] for v in listed} == {v.name for v in by_library}
    assert all(v["metadata"]["mediaType"] for v in listed)


def test_docker_images_delete_waits_on_the_operation(
    gcloud: Gcloud, seeded: Seeded, gar: GarEmulator, registry: RegistryClient
):
    app = f"{seeded.host_path}/app"
    registry.put_manifest(seeded.app.name, "latest", seeded.app.manifest).raise_for_status()

    # With a tag beside the one named, gcloud wants --delete-tags.
    tagged = gcloud.run("artifacts", "docker", "images", "delete", f"{app}:v1", ok=False)
    deleted = gcloud.run("artifacts", "docker", "images", "delete", f"{app}:v1", "--delete-tags")

    assert "because it is tagged" in tagged.stderr
    assert "Waiting for operation [projects/test-project/locations/us-central1/operations/" in (
        deleted.stderr
    )
    assert registry.head_manifest(seeded.app.name, seeded.app.digest).status_code == 404
    assert registry.tags(seeded.app.name) == []
    polled = [r for r in gar.requests if "/operations/" in r[2]]
    assert polled and polled[-1][1:] == ("GET", polled[-1][2], 200)


def test_gcloud_only_ever_called_the_emulator(gcloud: Gcloud, gar: GarEmulator):
    """Runs after the others in this module (pytest keeps file order)."""
    assert gcloud.uris, "gcloud made no request the log shows"
    foreign = [uri for uri in gcloud.uris if not uri.startswith("http://127.0.0.1:")]
    assert foreign == []


def test_the_config_directory_is_throwaway(gcloud: Gcloud):
    config = Path(gcloud.env["CLOUDSDK_CONFIG"])

    assert config.is_dir()
    assert config != Path.home() / ".config" / "gcloud"
