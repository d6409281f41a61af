"""Image references by the Docker reference grammar, and where releases go."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrelease.config.settings import load_settings
from mlrelease.errors import UsageError
from mlrelease.refs import parse
from mlrelease.registry.target import release_repository


@pytest.mark.parametrize(
    ("text", "host", "path", "tag", "digest"),
    [
        ("ml-service", None, "ml-service", None, None),
        ("ml-service:v1.2.0", None, "ml-service", "v1.2.0", None),
        ("team/ml-service:sha-abc1234", None, "team/ml-service", "sha-abc1234", None),
        ("127.0.0.1:5000/ml-service:v1", "127.0.0.1:5000", "ml-service", "v1", None),
        ("localhost/app", "localhost", "app", None, None),
        (
            "us-central1-docker.pkg.dev/proj/docker/ml-service:v1.2.0",
            "us-central1-docker.pkg.dev",
            "proj/docker/ml-service",
            "v1.2.0",
            None,
        ),
        ("app@sha256:" + "a" * 64, None, "app", None, "sha256:" + "a" * 64),
    ],
)
def test_references_parse_by_the_grammar(text, host, path, tag, digest) -> None:
    ref = parse(text)

    assert (ref.host, ref.path, ref.tag, ref.digest) == (host, path, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    ["", "Upper", "app:", "app:-bad", ":tag", "a" * 256, "app@sha256:short", "h:99999/app"],
)
def test_what_is_no_reference_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse(text)


def test_releases_go_to_artifact_registry_or_a_plain_registry(tmp_path: Path) -> None:
    gar = load_settings(tmp_path, env={"GCP_PROJECT": "proj", "GAR_REGION": "europe-west4"})
    plain = load_settings(tmp_path, env={"MLRELEASE_REGISTRY_HOST": "127.0.0.1:5000"})
    scoped = load_settings(tmp_path, env={"GCP_PROJECT": "example.com:proj"})

    assert str(release_repository(gar).with_tag("v1.0.0")) == (
        "europe-west4-docker.pkg.dev/proj/docker/ml-service:v1.0.0"
    )
    assert str(release_repository(plain)) == "127.0.0.1:5000/ml-service"
    assert release_repository(scoped).path == "example.com/proj/docker/ml-service"
