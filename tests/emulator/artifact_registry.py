"""Artifact Registry REST API v1: routing, callers and IAM, and the repository's own methods
(get, patch, dockerImages, testIamPermissions). Packages, versions and tags are in their own
modules; all of them read what the distribution registry really stores under `P/R/IMG`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.emulator import google_errors
from tests.emulator.cleanup_policies import policies_json, update_repository
from tests.emulator.distribution import Distribution
from tests.emulator.http import Request, Response, json_response
from tests.emulator.inventory import Inventory
from tests.emulator.listing import page
from tests.emulator.operations import OPERATION_PATH, Operations
from tests.emulator.registry_storage import RegistryStorage, valid_name
from tests.emulator.resources import SERVICE, Call, docker_image_json
from tests.emulator.state import State, rfc3339
from tests.emulator.tags_api import TagsApi
from tests.emulator.versions_api import VersionsApi

FORMATS = {"DOCKER": 1, "MAVEN": 2, "NPM": 3, "APT": 5, "YUM": 6, "PYTHON": 8, "GO": 10}
STANDARD_REPOSITORY = 1

_REPO = (
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/repositories/(?P<repo>[^/:]+)"
)
_PACKAGE = _REPO + "/packages/(?P<package>[^/]+)"
# Path IDs that may hold "/", escaped as %2F: the client's transcoder escapes that "%" again.
_ESCAPED_IDS = ("package", "image")


class ArtifactRegistryApi:
    def __init__(
        self, state: State, registry: Distribution, storage: RegistryStorage, registry_domain: str
    ) -> None:
        self.state = state
        self.registry = registry
        self.registry_domain = registry_domain  # LOCATION-docker.pkg.dev, for image URIs
        self.inventory = Inventory(registry, storage)
        self.operations = Operations()
        tags = TagsApi(state, registry, self.inventory)
        versions = VersionsApi(state, registry, self.inventory, self.operations)
        # (method, path, handler, the permission it needs)
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Call], Response], str]] = [
            ("GET", re.compile(_REPO + "$"), self.get_repository, "repositories.get"),
            ("PATCH", re.compile(_REPO + "$"), self.update_repository, "repositories.update"),
            ("GET", re.compile(_REPO + "/dockerImages$"), self.list_images, "dockerimages.list"),
            (
                "GET",
                re.compile(_REPO + "/dockerImages/(?P<image>[^/]+)$"),
                self.get_image,
                "dockerimages.get",
            ),
            ("POST", re.compile(_REPO + ":testIamPermissions$"), self.test_permissions, ""),
            *tags.routes(_PACKAGE),
            *versions.routes(_REPO, _PACKAGE),
        ]
        self._operation = re.compile(OPERATION_PATH)

    def handle(self, request: Request) -> Response:
        if (operation := self._operation.match(request.path)) and request.method == "GET":
            return self._location_call(request, operation)
        routed = self._route(request)
        if routed is None:
            return google_errors.not_found()
        handler, permission, match = routed
        if self._caller(request) is None:
            return google_errors.unauthenticated()
        # Package and image IDs escape "/" as %2F, and the client's transcoder escapes that "%"
        # again (team%252Fapp): decode the URL, then the ID, to get the image name (team/app).
        ids = {
            k: unquote(unquote(v)) if k in _ESCAPED_IDS else unquote(v)
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
        call = Call(request, repository, resource, ids)
        if "package" in ids and not valid_name(call.registry_name):
            return google_errors.not_found()  # no image can have this name
        return handler(call)

    def _location_call(self, request: Request, match: re.Match[str]) -> Response:
        """operations.get: any caller may poll an operation of the project it can reach."""
        if self._caller(request) is None:
            return google_errors.unauthenticated()
        ids = {k: unquote(v) for k, v in match.groupdict().items()}
        if ids["project"] != self.state.project:
            resource = f"projects/{ids['project']}/locations/{ids['location']}"
            return google_errors.permission_denied(
                "artifactregistry.repositories.get", resource, SERVICE
            )
        return self.operations.get(request, ids)

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
        return self.state.caller(request.bearer() or "")

    def get_repository(self, call: Call) -> Response:
        return json_response(200, self._repository_json(call))

    def update_repository(self, call: Call) -> Response:
        refused = update_repository(call)
        return refused or json_response(200, self._repository_json(call))

    def _repository_json(self, call: Call) -> dict[str, Any]:
        ints = call.int_enums
        repository = call.repository
        body: dict[str, Any] = {
            "name": call.resource,
            "format": FORMATS.get(repository.format, 0) if ints else repository.format,
            "mode": STANDARD_REPOSITORY if ints else "STANDARD_REPOSITORY",
            "createTime": rfc3339(repository.created),
            "updateTime": rfc3339(repository.updated),
            "dockerConfig": {"immutableTags": repository.immutable_tags},
            "sizeBytes": str(sum(image.size_bytes for image in self.inventory.images(call.prefix))),
        }
        if repository.description:
            body["description"] = repository.description
        if repository.labels:
            body["labels"] = repository.labels
        if repository.cleanup_policies:
            body["cleanupPolicies"] = policies_json(repository.cleanup_policies, ints)
        if repository.cleanup_policy_dry_run:
            body["cleanupPolicyDryRun"] = True
        return body

    def list_images(self, call: Call) -> Response:
        images = [
            docker_image_json(call.resource, self.registry_domain, image)
            for image in self.inventory.images(call.prefix)
        ]
        return page(call.request, images, "dockerImages")

    def get_image(self, call: Call) -> Response:
        image_name, _, digest = call.ids["image"].partition("@")
        if valid_name(call.prefix + image_name):
            for image in self.inventory.versions(call.prefix + image_name, call.prefix):
                if image.digest == digest:
                    return json_response(
                        200, docker_image_json(call.resource, self.registry_domain, image)
                    )
        return google_errors.not_found()

    def test_permissions(self, call: Call) -> Response:
        asked = (call.request.json() or {}).get("permissions") or []
        granted = [p for p in asked if self._granted(p, call.ids["project"])]
        return json_response(200, {"permissions": granted} if granted else {})
