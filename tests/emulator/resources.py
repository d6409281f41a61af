"""Artifact Registry resources as the REST API writes them: names (package IDs escape "/" as
%2F), JSON field names, int64 as strings, timestamps in RFC 3339, and fields left out when they
hold their default, as proto3 JSON does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from tests.emulator.http import Request
from tests.emulator.inventory import StoredImage
from tests.emulator.state import Repository, rfc3339

SERVICE = "artifactregistry.googleapis.com"


@dataclass(frozen=True)
class Call:
    """One API request, routed: who it is for and what it names (path IDs unescaped)."""

    request: Request
    repository: Repository
    resource: str  # projects/P/locations/L/repositories/R
    ids: dict[str, str]

    @property
    def prefix(self) -> str:
        """Registry names under this repository start with it: `P/R/`."""
        return f"{self.ids['project']}/{self.repository.name}/"

    @property
    def registry_name(self) -> str:
        """The registry name of the package the call names: `P/R/IMG`."""
        return self.prefix + self.ids["package"]

    @property
    def int_enums(self) -> bool:
        """The client asked for enums as numbers (`$alt=json;enum-encoding=int`)."""
        return "enum-encoding=int" in (self.request.arg("$alt") or "")


def package_id(image: str) -> str:
    return quote(image, safe="")


def package_name(resource: str, image: str) -> str:
    return f"{resource}/packages/{package_id(image)}"


def version_name(resource: str, image: str, digest: str) -> str:
    return f"{package_name(resource, image)}/versions/{digest}"


def docker_image_name(resource: str, image: str, digest: str) -> str:
    return f"{resource}/dockerImages/{package_id(image)}@{digest}"


def parse_version_name(name: str, resource: str) -> tuple[str, str] | None:
    """(image, digest) of `RESOURCE/packages/PKG/versions/V`, PKG unescaped; None otherwise."""
    rest = name.removeprefix(f"{resource}/packages/")
    package, marker, version = rest.partition("/versions/")
    if rest == name or not marker or not package or not version or "/" in version:
        return None
    return unquote(package), unquote(version)


def tag_json(resource: str, image: str, tag: str, digest: str) -> dict[str, str]:
    return {
        "name": f"{package_name(resource, image)}/tags/{tag}",
        "version": version_name(resource, image, digest),
    }


def docker_image_json(resource: str, registry_domain: str, image: StoredImage) -> dict[str, Any]:
    project, _, rest = resource.removeprefix("projects/").partition("/locations/")
    repository = rest.rpartition("/repositories/")[2]
    body: dict[str, Any] = {
        "name": docker_image_name(resource, image.image, image.digest),
        "uri": f"{registry_domain}/{project}/{repository}/{image.image}@{image.digest}",
        "tags": image.tags,
        "imageSizeBytes": str(image.size_bytes),
        "uploadTime": rfc3339(image.uploaded),
        "mediaType": image.media_type,
        "updateTime": rfc3339(image.updated),
    }
    if image.build_time:
        body["buildTime"] = image.build_time
    if not image.tags:
        del body["tags"]
    return body


def version_json(resource: str, image: StoredImage, full: bool) -> dict[str, Any]:
    """A version; `full` (view FULL) adds its related tags. The docker image's fields come back
    as untyped metadata, all strings, as gcloud reads them (`value.string_value`)."""
    metadata = {
        "imageSizeBytes": str(image.size_bytes),
        "mediaType": image.media_type,
        "name": docker_image_name(resource, image.image, image.digest),
    }
    if image.build_time:
        metadata["buildTime"] = image.build_time
    body: dict[str, Any] = {
        "name": version_name(resource, image.image, image.digest),
        "createTime": rfc3339(image.uploaded),
        "updateTime": rfc3339(image.updated),
        "metadata": metadata,
    }
    if full and image.tags:
        body["relatedTags"] = [
            tag_json(resource, image.image, tag, image.digest) for tag in image.tags[:100]
        ]
    return body


def package_json(resource: str, image: str, versions: list[StoredImage]) -> dict[str, Any]:
    return {
        "name": package_name(resource, image),
        "createTime": rfc3339(min(v.uploaded for v in versions)),
        "updateTime": rfc3339(max(v.updated for v in versions)),
    }
