"""Where `promote` copies a release, decided before any request: a GAR repository by name (and
project, region), or HOST/PATH; and what an image or an index names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrelease.config.settings import load_settings
from mlrelease.errors import ConfigError, UsageError
from mlrelease.refs import ImageRef
from mlrelease.registry.blobs import blobs_of, children, is_index
from mlrelease.registry.promote import destination_target
from mlrelease.registry.target import Target
from mlrelease.registry.v2 import Manifest, RegistryClient


def plain_source(tmp_path: Path, **table: str):
    lines = "".join(f'{k} = "{v}"\n' for k, v in {"image": "app", **table}.items())
    (tmp_path / "pyproject.toml").write_text(f"[tool.mlrelease]\n{lines}")
    settings = load_settings(tmp_path, env={})
    return settings, Target(ImageRef("127.0.0.1:5000", "app"), RegistryClient("127.0.0.1:5000"))


def test_a_plain_destination_is_host_and_path(tmp_path) -> None:
    settings, source = plain_source(tmp_path, registry_host="127.0.0.1:5000")
    target = destination_target(settings, source, "127.0.0.1:5001/stable/app", None, None)
    assert (str(target.repository), target.gar) == ("127.0.0.1:5001/stable/app", None)


def test_the_promote_to_setting_is_the_default(tmp_path) -> None:
    settings, source = plain_source(
        tmp_path, registry_host="127.0.0.1:5000", promote_to="127.0.0.1:5002/app"
    )
    assert str(destination_target(settings, source, None, None, None).repository) == (
        "127.0.0.1:5002/app"
    )


def test_refusals(tmp_path) -> None:
    settings, source = plain_source(tmp_path, registry_host="127.0.0.1:5000")
    with pytest.raises(ConfigError, match="needs a destination"):
        destination_target(settings, source, None, None, None)
    with pytest.raises(UsageError, match="plain registry"):
        destination_target(settings, source, "prod", None, None)
    with pytest.raises(UsageError, match="not HOST/PATH"):
        destination_target(settings, source, "127.0.0.1:5001/app:v1", None, None)
    with pytest.raises(UsageError, match="takes no"):
        destination_target(settings, source, "127.0.0.1:5001/app", "p", None)


def test_an_index_names_its_children_and_an_image_its_blobs() -> None:
    image = {
        "config": {"digest": "sha256:c", "size": 3},
        "layers": [{"digest": "sha256:l", "size": 5}],
    }
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"digest": "sha256:i", "size": 9}],
    }
    as_image = Manifest("sha256:x", "sha256:c", 8, "", json.dumps(image).encode())
    as_index = Manifest("sha256:y", None, 0, index["mediaType"], json.dumps(index).encode())
    assert not is_index(as_image) and is_index(as_index)
    assert [(b.digest, b.size) for b in blobs_of(as_image)] == [("sha256:c", 3), ("sha256:l", 5)]
    assert [c.digest for c in children(as_index)] == ["sha256:i"]
