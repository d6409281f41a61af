"""Artifact Registry REST API v1: repositories, docker images, tags, testIamPermissions.

Images and tags come from what the distribution registry really stores under `P/R/IMG`."""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from tests.emulator import google_errors
from tests.emulator.distribution import Distribution
from tests.emulator.http import Request, Response, json_response
from tests.emulator.keys import InvalidToken, jwt_header, verify_jwt
from tests.emulator.state import Repository, State, now, rfc3339

SERVICE = "artifactregistry.googleapis.com"
FORMATS = {"DOCKER": 1, "MAVEN": 2, "NPM": 3, "APT": 5, "YUM": 6, "PYTHON": 8, "GO": 10}
STANDARD_REPOSITORY = 1
DEFAULT_PAGE_SIZE = 100

_REPO = (
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/repositories/(?P<repo>[^/:]+)"
)
_PACKAGE = _REPO + "/packages/(?P<package>[^/]+)"


@dataclass(frozen=True)
class Call:
    """One API request, routed: who it is for and what it names (path IDs unescaped)."""

    request: Request
    repository: Repository
    resource: str  # projects/P/locations/L/repositories/R
    ids: dict[str, str]


@dataclass(frozen=True)
class StoredImage:
    image: str  # IMG in P/R/IMG, may contain "/"
    digest: str
    tags: list[str]
    size_bytes: int
    media_type: str
    uploaded: datetime.datetime


class ArtifactRegistryApi:
    def __init__(self, state: State, registry: Distribution, registry_domain: str) -> None:
        self.state = state
        self.registry = registry
        self.registry_domain = registry_domain  # LOCATION-docker.pkg.dev, for image URIs
        # (method, path, handler, the permission it needs)
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Call], Response], str]] = [
            ("GET", re.compile(_REPO + "$"), self.get_repository, "repositories.get"),
            ("GET", re.compile(_REPO + "/dockerImages$"), self.list_images, "dockerimages.list"),
            (
                "GET",
                re.compile(_REPO + "/dockerImages/(?P<image>[^/]+)$"),
                self.get_image,
                "dockerimages.get",
            ),
            ("GET", re.compile(_PACKAGE + "/tags$"), self.list_tags, "tags.list"),
            ("GET", re.compile(_PACKAGE + "/tags/(?P<tag>[^/]+)$"), self.get_tag, "tags.get"),
            ("POST", re.compile(_REPO + ":testIamPermissions$"), self.test_permissions, ""),
        ]

    def handle(self, request: Request) -> Response:
        routed = self._route(request)
        if routed is None:
            return google_errors.not_found()
        handler, permission, match = routed
        if self._caller(request) is None:
            return google_errors.unauthenticated()
        # Package and image IDs escape "/" as %2F, and the client's transcoder escapes that "%"
        # again (team%252Fapp): decode the URL, then the ID, to get the image name (team/app).
        ids = {
            k: unquote(unquote(v)) if k in ("package", "image") else unquote(v)
            for k, v in match.groupdict().items()
        }
        resource = (
            f"projects/{ids['project']}/locations/{ids['location']}/repositories/{ids['repo']}"
        )
        if permission and not self._granted(f"artifactregistry.{permission}", ids["project"]):
            return google_errors.permission_denied(
                f"artifactregistry.{permission}", resource, SERVICE
            )
        repository = self.state.repositories.get(ids["repo"])
        if repository is None or ids["location"] != self.state.location:
            return google_errors.not_found()
        return handler(Call(request, repository, resource, ids))

    def _route(
        self, request: Request
    ) -> tuple[Callable[[Call], Response], str, re.Match[str]] | None:
        for method, pattern, handler, permission in self._routes:
            match = pattern.match(request.path)
            if match and request.method == method:
                return handler, permission, match
        return None

    def _granted(self, permission: str, project: str) -> bool:
        return permission not in self.state.denied and project == self.state.project

    def _caller(self, request: Request) -> str | None:
        """Who sent the request: the holder of an access token or of a key (self-signed JWT)."""
        token = request.bearer() or ""
        identity = self.state.identity_of(token)
        if identity is not None or token.count(".") != 2:
            return identity
        try:
            registered = self.state.key(str(jwt_header(token).get("kid", "")))
            if registered is None:
                return None
            email, public_key = registered
            claims = verify_jwt(token, public_key)
        except InvalidToken:
            return None
        return email if claims.get("iss") == email == claims.get("sub") else None

    def get_repository(self, call: Call) -> Response:
        ints = "enum-encoding=int" in (call.request.arg("$alt") or "")
        repository = call.repository
        created = rfc3339(repository.created)
        return json_response(
            200,
            {
                "name": call.resource,
                "format": FORMATS.get(repository.format, 0) if ints else repository.format,
                "mode": STANDARD_REPOSITORY if ints else "STANDARD_REPOSITORY",
                "description": "",
                "createTime": created,
                "updateTime": created,
                "dockerConfig": {"immutableTags": repository.immutable_tags},
                "sizeBytes": str(sum(image.size_bytes for image in self._images(call))),
            },
        )

    def list_images(self, call: Call) -> Response:
        images = [self._docker_image(call, image) for image in self._images(call)]
        return self._page(call.request, images, "dockerImages")

    def get_image(self, call: Call) -> Response:
        image_name, _, digest = call.ids["image"].partition("@")
        for image in self._images(call):
            if (image.image, image.digest) == (image_name, digest):
                return json_response(200, self._docker_image(call, image))
        return google_errors.not_found()

    def list_tags(self, call: Call) -> Response:
        name = self._registry_name(call)
        tags = [
            self._tag(call, tag, self.registry.digest(name, tag) or "")
            for tag in self.registry.tags(name)
        ]
        return self._page(call.request, tags, "tags")

    def get_tag(self, call: Call) -> Response:
        digest = self.registry.digest(self._registry_name(call), call.ids["tag"])
        if digest is None:
            return google_errors.not_found()
        return json_response(200, self._tag(call, call.ids["tag"], digest))

    def test_permissions(self, call: Call) -> Response:
        asked = (call.request.json() or {}).get("permissions") or []
        granted = [p for p in asked if self._granted(p, call.ids["project"])]
        return json_response(200, {"permissions": granted} if granted else {})

    def _registry_name(self, call: Call) -> str:
        return f"{call.ids['project']}/{call.repository.name}/{call.ids['package']}"

    def _images(self, call: Call) -> list[StoredImage]:
        """Every manifest stored under `P/R/`: tagged ones, and untagged ones pushed here."""
        prefix = f"{call.ids['project']}/{call.repository.name}/"
        images = []
        for name in sorted(n for n in self.registry.catalog() if n.startswith(prefix)):
            uploaded = self.state.uploads.get(name, {})
            by_digest: dict[str, list[str]] = {digest: [] for digest in uploaded}
            for tag in self.registry.tags(name):
                digest = self.registry.digest(name, tag)
                if digest:
                    by_digest.setdefault(digest, []).append(tag)
            for digest, tags in sorted(by_digest.items()):
                manifest = self.registry.manifest(name, digest)
                if manifest is not None:
                    images.append(
                        StoredImage(
                            image=name.removeprefix(prefix),
                            digest=digest,
                            tags=tags,
                            size_bytes=manifest.size_bytes,
                            media_type=manifest.media_type,
                            uploaded=self.state.upload_time(name, digest) or now(),
                        )
                    )
        return images

    def _docker_image(self, call: Call, image: StoredImage) -> dict[str, Any]:
        path = f"{call.ids['project']}/{call.ids['repo']}/{image.image}"
        return {
            "name": f"{call.resource}/dockerImages/{quote(image.image, safe='')}@{image.digest}",
            "uri": f"{self.registry_domain}/{path}@{image.digest}",
            "tags": image.tags,
            "imageSizeBytes": str(image.size_bytes),
            "uploadTime": rfc3339(image.uploaded),
            "mediaType": image.media_type,
            "updateTime": rfc3339(image.uploaded),
        }

    def _tag(self, call: Call, tag: str, digest: str) -> dict[str, str]:
        package = f"{call.resource}/packages/{quote(call.ids['package'], safe='')}"
        return {"name": f"{package}/tags/{tag}", "version": f"{package}/versions/{digest}"}

    def _page(self, request: Request, items: list, field: str) -> Response:
        """One page of items; pageToken is opaque to clients (here: the offset, base64)."""
        try:
            start = int(base64.urlsafe_b64decode(request.arg("pageToken") or "MA==").decode())
            size = int(request.arg("pageSize") or 0) or DEFAULT_PAGE_SIZE
        except ValueError:
            return google_errors.api_error(400, "Invalid page token or page size.")
        page: dict[str, Any] = {field: items[start : start + size]} if items[start:] else {}
        if start + size < len(items):
            page["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return json_response(200, page)
