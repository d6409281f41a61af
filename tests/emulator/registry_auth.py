"""The registry token service (the realm GAR names in its challenges): Basic credentials in,
a registry JWT out, with GAR's refusals.

Actions map to permissions: pull to downloadArtifacts, push to uploadArtifacts, delete to
deleteArtifacts. A push that mounts a blob from another repository also asks for pull on that
one (`scope=repository:SRC:pull`): granted when the caller may read it, left out of the token
otherwise (the registry then refuses the mount, and the engine uploads the blob instead)."""

from __future__ import annotations

import base64
import binascii
import json

from tests.emulator.distribution import RegistrySigner
from tests.emulator.http import Request, Response, json_response
from tests.emulator.keys import load_private_key, same_key
from tests.emulator.state import State, now, rfc3339

PUSH_PERMISSION = "artifactregistry.repositories.uploadArtifacts"
PULL_PERMISSION = "artifactregistry.repositories.downloadArtifacts"
DELETE_PERMISSION = "artifactregistry.repositories.deleteArtifacts"
PERMISSIONS = {"push": PUSH_PERMISSION, "pull": PULL_PERMISSION, "delete": DELETE_PERMISSION}


def registry_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """`{"errors": [{"code", "message"}]}`, the distribution API's error body."""
    return json_response(status, {"errors": [{"code": code, "message": message}]}, headers)


class RegistryTokenService:
    def __init__(self, state: State, signer: RegistrySigner) -> None:
        self.state = state
        self.signer = signer

    def handle(self, request: Request) -> Response:
        identity = self._authenticate(request.headers.get("authorization", ""))
        if identity is None:
            return registry_error(
                401,
                "UNAUTHORIZED",
                "authentication failed: the password for the user is not a valid access token "
                "or service account key",
            )
        access = []
        scopes = request.query.get("scope", [])
        pushing = any(_actions(scope) - {"pull"} for scope in scopes)
        for scope in scopes:
            granted = self._grant(scope)
            if isinstance(granted, Response):
                if pushing and _actions(scope) == {"pull"}:
                    continue  # a mount's source: the push goes on without it
                return granted
            access.append(granted)
        token, token_id = self.signer.token(identity, access)
        self.state.add_registry_token(token_id)
        return json_response(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": 3600,
                "issued_at": rfc3339(now()),
            },
        )

    def _authenticate(self, header: str) -> str | None:
        """The identity behind `oauth2accesstoken` + token, or `_json_key`(`_base64`) + key."""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
            if username == "oauth2accesstoken":
                return self.state.identity_of(password)
            if username == "_json_key_base64":
                username, password = "_json_key", base64.b64decode(password).decode()
            if username == "_json_key":
                return self._key_identity(json.loads(password))
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
            return None
        return None

    def _key_identity(self, key: dict) -> str | None:
        registered = self.state.key(key["private_key_id"])
        if registered is None or registered[0] != key["client_email"]:
            return None
        private_key = load_private_key(key["private_key"])
        return registered[0] if same_key(private_key.public_key(), registered[1]) else None

    def _grant(self, scope: str) -> dict | Response:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        wanted = [a for a in actions.split(",") if a in PERMISSIONS]
        if kind != "repository":
            return {"type": kind, "name": name, "actions": []}
        project, _, rest = name.partition("/")
        repository = rest.partition("/")[0]
        resource = f"projects/{project}/locations/{self.state.location}/repositories/{repository}"
        for action in ("push", "pull", "delete"):
            permission = PERMISSIONS[action]
            if action in wanted and (
                permission in self.state.denied or project != self.state.project
            ):
                message = f'Permission "{permission}" denied on resource "{resource}"'
                return registry_error(403, "DENIED", f"{message} (or it may not exist)")
        if repository not in self.state.repositories:
            return registry_error(404, "NAME_UNKNOWN", f'Repository "{repository}" not found')
        return {"type": "repository", "name": name, "actions": wanted}


def _actions(scope: str) -> set[str]:
    return {a for a in scope.rpartition(":")[2].split(",") if a}
