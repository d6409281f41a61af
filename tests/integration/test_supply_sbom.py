"""The SBOM of this repository's service image, read from the built image itself."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from mlrelease.build.classic import build_image

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def pinned_requirements() -> dict[str, str]:
    """requirements.txt as {normalised name: version}."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return pins


@pytest.fixture(scope="module")
def service_image(docker_client, base_image, service_context, image_namespace) -> str:
    result = build_image(
        context=service_context,
        tags=[f"{image_namespace}/service:sbom"],
        buildargs={"PYTHON_IMAGE": base_image},
        network_mode="host",
        on_log=lambda line: None,
        client=docker_client,
    )
    return result.image_id


def test_the_service_sbom_lists_its_pins_and_its_model(
    docker_client, service_image, service_context
):
    from mlrelease.config.settings import load_settings
    from mlrelease.supply.sbom import sbom_for_image, sbom_path, validate

    settings = load_settings(service_context, env={})
    result = sbom_for_image(docker_client, service_image, settings)

    path = sbom_path(settings, service_image)
    assert result.path == str(path)
    assert path.name == f"{service_image.removeprefix('sha256:')}.cdx.json"
    text = path.read_text()
    validate(text)
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["version"] == service_image

    pins = pinned_requirements()
    listed = {c.purl: c for c in result.components if c.kind == "pypi"}
    for name in ("scikit-learn", "numpy", "scipy", "fastapi", "uvicorn"):
        purl = f"pkg:pypi/{name}@{pins[name]}"
        assert purl in listed, sorted(listed)
    assert any(c.kind == "deb" and c.purl.startswith("pkg:deb/debian/") for c in result.components)

    model = service_context / "service/model/model.joblib"
    trained = json.loads((service_context / "service/model/model.json").read_text())
    (found,) = [c for c in result.components if c.kind == "model"]
    assert found.name == "/app/service/model/model.joblib"
    assert found.sha256 == hashlib.sha256(model.read_bytes()).hexdigest() == trained["sha256"]
    assert found.sklearn_version == trained["sklearn_version"] == pins["scikit-learn"]
    # The model depends on the scikit-learn it was trained with.
    model_deps = next(d for d in document["dependencies"] if d["ref"] == f"model:{found.name}")
    assert model_deps["dependsOn"] == [f"pkg:pypi/scikit-learn@{pins['scikit-learn']}"]
