"""packages.tags: list, get, create, patch, delete, each done to the real registry.

Creating a tag PUTs its version's manifest, byte for byte, under the tag; moving one PUTs the
new version's; deleting one removes it from the registry's storage (distribution 2.8 has no
tag delete). Creation refuses a tag that exists (409 ALREADY_EXISTS), which is why gcloud's
`docker tags add` deletes an existing tag before creating it again."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.emulator import google_errors, immutable_tags
from tests.emulator.distribution import Distribution
from tests.emulator.http import Response, json_response
from tests.emulator.inventory import Inventory
from tests.emulator.listing import listed
from tests.emulator.registry_storage import valid_digest, valid_tag
from tests.emulator.resources import Call, package_name, parse_version_name, tag_json
from tests.emulator.state import State

ApiRoute = tuple[str, re.Pattern[str], Callable[[Call], Response], str]


class TagsApi:
    def __init__(self, state: State, registry: Distribution, inventory: Inventory) -> None:
        self.state = state
        self.registry = registry
        self.inventory = inventory

    def routes(self, package: str) -> list[ApiRoute]:
        """(method, path, handler, permission) under the package path pattern `package`."""
        tags = re.compile(package + "/tags$")
        tag = re.compile(package + "/tags/(?P<tag>[^/]+)$")
        return [
            ("GET", tags, self.list_tags, "tags.list"),
            ("POST", tags, self.create_tag, "tags.create"),
            ("GET", tag, self.get_tag, "tags.get"),
            ("PATCH", tag, self.update_tag, "tags.update"),
            ("DELETE", tag, self.delete_tag, "tags.delete"),
        ]

    def list_tags(self, call: Call) -> Response:
        name = call.registry_name
        tags = [
            tag_json(call.resource, call.ids["package"], tag, digest)
            for tag in self.registry.tags(name)
            if (digest := self.registry.digest(name, tag))
        ]
        return listed(call.request, tags, "tags", ("name", "version"))

    def get_tag(self, call: Call) -> Response:
        digest = self.registry.digest(call.registry_name, call.ids["tag"])
        if digest is None:
            return google_errors.not_found()
        return json_response(200, self._tag(call, call.ids["tag"], digest))

    def create_tag(self, call: Call) -> Response:
        body = call.request.json() or {}
        tag = call.request.arg("tagId") or str(body.get("name", "")).rpartition("/tags/")[2]
        if not valid_tag(tag):
            return google_errors.invalid_argument(f'Invalid tag ID "{tag}".', "tag_id")
        digest = self._version_digest(call, body)
        if isinstance(digest, Response):
            return digest
        with self.state.tag_lock:
            if self.registry.digest(call.registry_name, tag) is not None:
                name = f"{package_name(call.resource, call.ids['package'])}/tags/{tag}"
                return google_errors.already_exists(f'Tag "{name}" already exists.')
            failed = self._point(call, tag, digest)
        return failed or json_response(200, self._tag(call, tag, digest))

    def update_tag(self, call: Call) -> Response:
        """Points an existing tag at the body's version (a missing tag is NOT_FOUND, as
        gcloud's `artifacts tags update` documents); an updateMask may name `version` only."""
        body = call.request.json() or {}
        tag = call.ids["tag"]
        mask = [f.strip() for f in (call.request.arg("updateMask") or "").split(",") if f.strip()]
        if any(field != "version" for field in mask):
            return google_errors.invalid_argument(
                f'Invalid update_mask: "{",".join(mask)}"; only "version" can be updated.',
                "update_mask",
            )
        with self.state.tag_lock:
            current = self.registry.digest(call.registry_name, tag)
            if current is None:
                return google_errors.not_found()
            if not body.get("version"):  # nothing to change
                return json_response(200, self._tag(call, tag, current))
            digest = self._version_digest(call, body)
            if isinstance(digest, Response):
                return digest
            if current != digest:
                if call.repository.immutable_tags:
                    return google_errors.failed_precondition(immutable_tags.cannot_update(tag))
                if failed := self._point(call, tag, digest):
                    return failed
        return json_response(200, self._tag(call, tag, digest))

    def delete_tag(self, call: Call) -> Response:
        tag = call.ids["tag"]
        with self.state.tag_lock:
            if self.registry.digest(call.registry_name, tag) is None:
                return google_errors.not_found()
            if call.repository.immutable_tags:
                return google_errors.failed_precondition(immutable_tags.cannot_delete(tag))
            self.inventory.storage.delete_tag(call.registry_name, tag)
        return json_response(200, {})

    def _tag(self, call: Call, tag: str, digest: str) -> dict[str, str]:
        return tag_json(call.resource, call.ids["package"], tag, digest)

    def _version_digest(self, call: Call, body: dict) -> str | Response:
        """The digest the body's `version` names, which must be this package's."""
        version = str(body.get("version") or "")
        parsed = parse_version_name(version, call.resource)
        if parsed is None or parsed[0] != call.ids["package"]:
            return google_errors.invalid_argument(
                f'Invalid version name "{version}": it must be a version of package '
                f'"{package_name(call.resource, call.ids["package"])}".',
                "tag.version",
            )
        return parsed[1]

    def _point(self, call: Call, tag: str, digest: str) -> Response | None:
        """Make `tag` point at `digest` in the registry; a 404 when there is no such version."""
        manifest = None
        if valid_digest(digest):
            manifest = self.registry.raw_manifest(call.registry_name, digest)
        if manifest is None:
            return google_errors.not_found()
        self.registry.put_manifest(call.registry_name, tag, manifest)
        return None
