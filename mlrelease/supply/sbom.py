"""The SBOM: a CycloneDX 1.6 JSON document of what a built image holds.

Made with cyclonedx-python-lib from what `contents` finds in the image (the engine's, or the
registry's layers for an image only the registry holds):
Python distributions (`pkg:pypi/...`), Debian packages (`pkg:deb/debian/...`) and the model
files (type `machine-learning-model`, with their sha256 and the scikit-learn version they were
trained with, as a dependency on that scikit-learn). Every document is validated against the
CycloneDX 1.6 JSON schema before it is written to `.mlrelease/sbom/<image-id hex>.cdx.json`.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlrelease.errors import PreconditionError, WorkFailed
from mlrelease.results.supply import SbomComponent, SbomResult
from mlrelease.supply.contents import ImageContents, read_image_contents

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.registry.v2 import Manifest, RegistryClient

MEDIA_TYPE = "application/vnd.cyclonedx+json"
SPEC_VERSION = "1.6"
SKLEARN_PROPERTY = "mlrelease:model:sklearn_version"


def pypi_purl(name: str, version: str) -> str:
    """The purl of a PyPI distribution: the name normalised as PEP 503 (and the purl spec) say."""
    from packageurl import PackageURL

    normalised = re.sub(r"[-_.]+", "-", name).lower()
    return str(PackageURL(type="pypi", name=normalised, version=version))


def deb_purl(name: str, version: str) -> str:
    """The purl of a Debian package."""
    from packageurl import PackageURL

    return str(PackageURL(type="deb", namespace="debian", name=name, version=version))


def sbom_path(settings: Settings, image_id: str) -> Path:
    """Where the SBOM of a local image is kept, beside the build history."""
    return settings.root / ".mlrelease" / "sbom" / f"{image_id.removeprefix('sha256:')}.cdx.json"


def model_paths_in_context(settings: Settings) -> tuple[str, ...]:
    """The configured model files, relative to the build context (as the Dockerfile sees them)."""
    paths = settings.model_paths or ((settings.model_path,) if settings.model_path else ())
    context = settings.path("context")
    return tuple(Path(os.path.relpath(settings.root / p, context)).as_posix() for p in paths)


IMAGE_SIZE_PROPERTY = "mlrelease:image:size_bytes"  # uncompressed, as the engine reports it


def image_size(document: dict[str, Any]) -> str | None:
    """The uncompressed image size an SBOM records, None when it records none."""
    component = (document.get("metadata") or {}).get("component") or {}
    for item in component.get("properties") or []:
        if item.get("name") == IMAGE_SIZE_PROPERTY:
            return str(item.get("value"))
    return None


def sbom_for_image(
    client: docker.DockerClient, image_id: str, settings: Settings, *, name: str | None = None
) -> SbomResult:
    """Read the local image `image_id`, write its validated SBOM beside the build and
    describe it; `name` (default: the configured image) names the image in the document."""
    contents = read_image_contents(client, image_id, model_paths_in_context(settings))
    size = int(client.images.get(image_id).attrs.get("Size") or 0) or None
    return _keep(settings, contents, name or settings.image, image_id, size)


def sbom_for_registry_image(
    registry: RegistryClient, path: str, manifest: Manifest, settings: Settings, *, name: str
) -> SbomResult:
    """The same for an image only the registry holds (Cloud Build pushed it): its layers are
    streamed from the registry and read in order, nothing is pulled into an engine."""
    import json as json_text

    from mlrelease.supply.contents import read_layers

    if manifest.config_digest is None:
        raise PreconditionError(f"{name}@{manifest.digest} is an index, not a single image")
    layers = json_text.loads(manifest.body or b"{}").get("layers") or []
    unreadable = [layer["mediaType"] for layer in layers if "zstd" in layer.get("mediaType", "")]
    if unreadable:
        raise PreconditionError(
            f"{name}@{manifest.digest} has {unreadable[0]} layers, which cannot be read here",
            hint="build with gzip layers (the default of docker and Cloud Build)",
        )

    def streams() -> Iterator[IO[bytes]]:
        for layer in layers:
            with registry.open_blob(path, layer["digest"]) as response:
                yield response.raw

    contents = read_layers(streams(), model_paths_in_context(settings))
    return _keep(settings, contents, name, manifest.config_digest, None)


def _keep(
    settings: Settings, contents: ImageContents, name: str, image_id: str, size: int | None
) -> SbomResult:
    """Write the SBOM of `contents` beside the build (in .mlrelease/) and describe it."""
    text = make_document(contents, name, image_id, size_bytes=size)
    path = sbom_path(settings, image_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = path.parent.parent  # .mlrelease: local state, kept out of git as the history is
    if not (state / ".gitignore").exists():
        (state / ".gitignore").write_text("# mlrelease's local state\n*\n", encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    warnings = tuple(
        f"the model file {missing} is not in the image" for missing in contents.missing_models
    )
    return describe(json.loads(text), image_id, str(path), warnings=warnings)


def make_document(
    contents: ImageContents, image_name: str, image_id: str, *, size_bytes: int | None = None
) -> str:
    """The CycloneDX 1.6 JSON text for `contents`, validated against the schema; the image's
    uncompressed size, when known, as a property of the image component."""
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    from mlrelease import __version__

    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"mlrelease:sbom:{image_id}"))
    image = Component(
        type=ComponentType.CONTAINER,
        name=image_name,
        version=image_id,
        bom_ref="image",
        properties=[Property(name=IMAGE_SIZE_PROPERTY, value=str(size_bytes))]
        if size_bytes
        else None,
    )
    bom.metadata.component = image
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="mlrelease", version=__version__)
    )
    licences = LicenseFactory()
    parts: list[Component] = []
    by_name: dict[str, Component] = {}
    for dist in contents.distributions:
        purl = pypi_purl(dist.name, dist.version)
        component = Component(
            type=ComponentType.LIBRARY,
            name=dist.name,
            version=dist.version,
            purl=PackageURL.from_string(purl),
            bom_ref=purl,
            licenses=[licences.make_from_string(dist.licence)] if dist.licence else None,
            properties=[Property(name="mlrelease:location", value=dist.location)],
        )
        by_name.setdefault(re.sub(r"[-_.]+", "-", dist.name).lower(), component)
        parts.append(component)
    for deb in contents.debian_packages:
        purl = deb_purl(deb.name, deb.version)
        if any(str(part.bom_ref) == purl for part in parts):
            continue  # one package for several architectures: listed once
        properties = [Property(name="mlrelease:deb:architecture", value=deb.architecture)]
        parts.append(
            Component(
                type=ComponentType.LIBRARY,
                name=deb.name,
                version=deb.version,
                purl=PackageURL.from_string(purl),
                bom_ref=purl,
                properties=properties if deb.architecture else None,
            )
        )
    for model in contents.models:
        component = Component(
            type=ComponentType.MACHINE_LEARNING_MODEL,
            name=model.path,
            bom_ref=f"model:{model.path}",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=model.sha256)],
            properties=[
                Property(name="mlrelease:size_bytes", value=str(model.size_bytes)),
                *(
                    [Property(name=SKLEARN_PROPERTY, value=model.sklearn_version)]
                    if model.sklearn_version
                    else []
                ),
            ],
        )
        parts.append(component)
        sklearn = by_name.get("scikit-learn")
        if sklearn is not None and model.sklearn_version == sklearn.version:
            bom.register_dependency(component, [sklearn])
    for part in parts:
        bom.components.add(part)
    bom.register_dependency(image, parts)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    validate(text)
    return text


def validate(text: str) -> None:
    """WorkFailed unless `text` is a valid CycloneDX 1.6 JSON document (the strict schema)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise WorkFailed(
            f"the SBOM is not valid CycloneDX 1.6: {error}",
            hint="this is a bug in mlrelease's SBOM; rerun with MLRELEASE_DEBUG=1 and report it",
        )


def describe(
    document: dict[str, Any], image_id: str, path: str | None, *, warnings: tuple[str, ...] = ()
) -> SbomResult:
    """The result for a CycloneDX document (written here, stored or fetched)."""
    return SbomResult(
        image=str(document.get("metadata", {}).get("component", {}).get("name", "")),
        image_id=image_id,
        path=path,
        spec_version=str(document.get("specVersion", "")),
        components=tuple(components_of(document)),
        warnings=warnings,
    )


def components_of(document: dict[str, Any]) -> list[SbomComponent]:
    """The packages and models a CycloneDX document lists."""
    found = []
    for item in document.get("components", []):
        purl = item.get("purl")
        kind = "model" if item.get("type") == "machine-learning-model" else "package"
        if purl:
            kind = purl.split(":", 1)[1].split("/", 1)[0]
        licences = [
            entry.get("expression")
            or entry.get("license", {}).get("id")
            or entry.get("license", {}).get("name")
            for entry in item.get("licenses", [])
        ]
        sha256 = next(
            (h["content"] for h in item.get("hashes", []) if h.get("alg") == "SHA-256"), None
        )
        properties = {p.get("name"): p.get("value") for p in item.get("properties", [])}
        found.append(
            SbomComponent(
                kind=kind,
                name=str(item.get("name", "")),
                version=item.get("version"),
                purl=purl,
                licence=", ".join(str(x) for x in licences if x) or None,
                sha256=sha256,
                sklearn_version=properties.get(SKLEARN_PROPERTY),
            )
        )
    return found


def show_sbom(settings: Settings, ref: str | None, *, refresh: bool = False) -> SbomResult:
    """The SBOM of a local image (default: HEAD's build), read from the store or made now."""
    from docker.errors import ImageNotFound

    from mlrelease.build.image import default_image
    from mlrelease.engine import docker_client

    name = ref or default_image(settings)
    client = docker_client()
    try:
        image_id = client.images.get(name).id
    except ImageNotFound:
        raise PreconditionError(
            f"there is no image {name} in the engine",
            hint="build it with `mlrelease build`, or name an image: `mlrelease sbom IMAGE`",
        ) from None
    path = sbom_path(settings, image_id)
    if path.is_file() and not refresh:
        return describe(json.loads(path.read_text()), image_id, str(path))
    repository, colon, tag = name.rpartition(":")
    named = repository if colon and "/" not in tag else name
    return sbom_for_image(client, image_id, settings, name=named)
