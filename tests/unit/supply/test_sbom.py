"""The CycloneDX document: valid 1.6 JSON, purls, the model and what it needs."""

from __future__ import annotations

import json

import pytest

from mlrelease.errors import WorkFailed
from mlrelease.supply.contents import DebianPackage, Distribution, ImageContents, ModelFile
from mlrelease.supply.sbom import components_of, make_document, pypi_purl, validate

CONTENTS = ImageContents(
    distributions=(
        Distribution("scikit-learn", "1.9.1", "BSD-3-Clause", "a/METADATA"),
        Distribution("typing_extensions", "4.16.0", "PSF-2.0", "b/METADATA"),
        Distribution("weird", "1.0", "Some Licence, Version 2", "c/METADATA"),
    ),
    debian_packages=(DebianPackage("libc6", "2.36-9+deb12u10", "amd64"),),
    models=(ModelFile("/app/model.joblib", "ab" * 32, 10, "1.9.1"),),
    missing_models=(),
)


def test_the_document_is_valid_cyclonedx_1_6() -> None:
    text = make_document(CONTENTS, "ml-service", "sha256:" + "c" * 64)
    validate(text)
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX"
    assert document["specVersion"] == "1.6"
    assert document["serialNumber"].startswith("urn:uuid:")
    assert document["metadata"]["component"]["type"] == "container"


def test_components_have_purls_licences_and_the_model_its_sklearn() -> None:
    document = json.loads(make_document(CONTENTS, "ml-service", "sha256:" + "c" * 64))
    by_purl = {c["purl"]: c for c in document["components"] if "purl" in c}
    assert "pkg:pypi/typing-extensions@4.16.0" in by_purl
    assert by_purl["pkg:pypi/scikit-learn@1.9.1"]["licenses"] == [
        {"license": {"id": "BSD-3-Clause"}}
    ]
    assert "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10" in by_purl
    (model,) = [c for c in document["components"] if c["type"] == "machine-learning-model"]
    assert model["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    depends = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert depends["model:/app/model.joblib"] == ["pkg:pypi/scikit-learn@1.9.1"]
    assert len(depends["image"]) == 5
    kinds = sorted(c.kind for c in components_of(document))
    assert kinds == ["deb", "model", "pypi", "pypi", "pypi"]


def test_one_image_always_gets_the_same_serial_number() -> None:
    first = json.loads(make_document(CONTENTS, "a", "sha256:" + "d" * 64))
    second = json.loads(make_document(CONTENTS, "a", "sha256:" + "d" * 64))
    assert first["serialNumber"] == second["serialNumber"]


def test_an_invalid_document_is_refused() -> None:
    with pytest.raises(WorkFailed, match=r"not valid CycloneDX 1\.6"):
        validate(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": "x"}))


def test_pypi_purls_are_normalised() -> None:
    assert pypi_purl("Foo.Bar_baz", "1.0+local") == "pkg:pypi/foo-bar-baz@1.0%2Blocal"


def test_the_image_size_is_recorded_when_known() -> None:
    from mlrelease.supply.sbom import image_size

    sized = json.loads(make_document(CONTENTS, "a", "sha256:" + "e" * 64, size_bytes=123456))
    unsized = json.loads(make_document(CONTENTS, "a", "sha256:" + "e" * 64))

    assert image_size(sized) == "123456"
    assert image_size(unsized) is None
