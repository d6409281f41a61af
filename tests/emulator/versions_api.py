"""packages and packages.versions: list, get, delete, read from and done to the real registry.

A package is an image name holding at least one manifest; a version is a stored manifest.
Deletes answer a long-running operation, already done. Deleting a version DELETEs its manifest
from the registry (distribution removes the tags on it too); a tagged version is refused
unless `force`, and never deleted with its tags where tags are immutable."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.emulator import google_errors, immutable_tags
from tests.emulator.distribution import Distribution
from tests.emulator.http import Response, json_response
from tests.emulator.inventory import Inventory, StoredImage
from tests.emulator.listing import listed
from tests.emulator.operations import Operations
from tests.emulator.registry_storage import valid_digest
from tests.emulator.resources import Call, package_json, version_json
from tests.emulator.state import State

ApiRoute = tuple[str, re.Pattern[str], Callable[[Call], Response], str]
# `view` as gcloud sends it (a name) or the client library (a number, enum-encoding=int).
_FULL = ("FULL", "2")


class VersionsApi:
    def __init__(
        self, state: State, registry: Distribution, inventory: Inventory, operations: Operations
    ) -> None:
        self.state = state
        self.registry = registry
        self.inventory = inventory
        self.operations = operations

    def routes(self, repository: str, package: str) -> list[ApiRoute]:
        """(method, path, handler, permission) under the repository and package patterns."""
        packages = re.compile(repository + "/packages$")
        one_package = re.compile(package + "$")
        versions = re.compile(package + "/versions$")
        version = re.compile(package + "/versions/(?P<version>[^/]+)$")
        return [
            ("GET", packages, self.list_packages, "packages.list"),
            ("GET", one_package, self.get_package, "packages.get"),
            ("DELETE", one_package, self.delete_package, "packages.delete"),
            ("GET", versions, self.list_versions, "versions.list"),
            ("GET", version, self.get_version, "versions.get"),
            ("DELETE", version, self.delete_version, "versions.delete"),
        ]

    def list_packages(self, call: Call) -> Response:
        packages = []
        for name in self.inventory.package_names(call.prefix):
            if versions := self.inventory.versions(name, call.prefix):
                packages.append(package_json(call.resource, versions[0].image, versions))
        return listed(call.request, packages, "packages", ("name", "annotations"))

    def get_package(self, call: Call) -> Response:
        versions = self.inventory.versions(call.registry_name, call.prefix)
        if not versions:
            return google_errors.not_found()
        return json_response(200, package_json(call.resource, call.ids["package"], versions))

    def delete_package(self, call: Call) -> Response:
        name = call.registry_name
        with self.state.tag_lock:
            versions = self.inventory.versions(name, call.prefix)
            if not versions:
                return google_errors.not_found()
            tagged = [tag for version in versions for tag in version.tags]
            if tagged and call.repository.immutable_tags:
                return google_errors.failed_precondition(immutable_tags.cannot_delete(tagged[0]))
            for version in versions:
                self._delete(name, version)
            self.inventory.storage.forget_repository(name)
        return self.operations.completed(call.ids["project"], call.ids["location"])

    def list_versions(self, call: Call) -> Response:
        versions = self.inventory.versions(call.registry_name, call.prefix)
        if not versions:
            return google_errors.not_found()  # gcloud then looks for nested packages
        full = (call.request.arg("view") or "").upper() in _FULL
        items = [version_json(call.resource, version, full) for version in versions]
        return listed(call.request, items, "versions", ("name", "annotations"))

    def get_version(self, call: Call) -> Response:
        version = self._version(call)
        if version is None:
            return google_errors.not_found()
        full = (call.request.arg("view") or "").upper() in _FULL
        return json_response(200, version_json(call.resource, version, full))

    def delete_version(self, call: Call) -> Response:
        force = (call.request.arg("force") or "").lower() in ("true", "1")
        with self.state.tag_lock:
            version = self._version(call)
            if version is None:
                return google_errors.not_found()
            if version.tags and call.repository.immutable_tags:
                return google_errors.failed_precondition(
                    immutable_tags.cannot_delete(version.tags[0])
                )
            if version.tags and not force:
                return google_errors.failed_precondition(
                    f"Version {version.digest} is tagged ({', '.join(version.tags)}); delete "
                    "its tags first, or delete it with force to delete them with it."
                )
            self._delete(call.registry_name, version)
            if not self.inventory.storage.revisions(call.registry_name):
                self.inventory.storage.forget_repository(call.registry_name)
        return self.operations.completed(call.ids["project"], call.ids["location"])

    def _version(self, call: Call) -> StoredImage | None:
        digest = call.ids["version"]
        if not valid_digest(digest):
            return None
        return self.inventory.version(call.registry_name, call.prefix, digest)

    def _delete(self, name: str, version: StoredImage) -> None:
        self.registry.delete_manifest(name, version.digest)
        self.inventory.forget(name, version.digest)
