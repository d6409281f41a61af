"""Results of auth, push, releases and release: credentials, what landed where, versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuthResult:
    """Credentials that were found and refreshed (`mlrelease auth`); never the secret."""

    source: str  # where they came from: "GCP_SA_KEY", "--key-file key.json", ...
    identity: str | None  # the service account's email, when there is one
    kind: str  # service_account, external_account, authorized_user, ...
    project: str | None
    expires_in_s: int | None  # the fresh token's remaining lifetime
    description: str  # "GCP_SA_KEY: service account ci@p.iam.gserviceaccount.com"

    def to_data(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "identity": self.identity,
            "type": self.kind,
            "project": self.project,
            "expires_in_s": self.expires_in_s,
        }


@dataclass(frozen=True)
class PushResult:
    """A release pushed (or found already there, or, with `dry_run`, only planned) and verified."""

    ref: str  # HOST/PATH:vX.Y.Z
    uri: str  # HOST/PATH
    digest: str | None  # the manifest digest in the registry; None in a dry run of a new push
    pushed: bool  # False: nothing was sent (already there, or a dry run)
    verified: bool  # the tag resolved, through the API, to `digest`
    dry_run: bool
    local_image: str  # the local image pushed, e.g. ml-service:v1.2.0
    compressed_size_bytes: int | None
    aliases: tuple[str, ...]  # alias tags moved (or, in a dry run, to be moved)
    attempts: int  # push attempts used (0: none needed)
    credentials_source: str | None  # None on a plain registry
    target: str  # "artifact-registry" or "registry"
    warnings: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "uri": self.uri,
            "digest": self.digest,
            "pushed": self.pushed,
            "verified": self.verified,
            "dry_run": self.dry_run,
            "local_image": self.local_image,
            "compressed_size_bytes": self.compressed_size_bytes,
            "aliases": list(self.aliases),
            "attempts": self.attempts,
            "credentials_source": self.credentials_source,
            "target": self.target,
        }

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions."""
        tag = self.ref.rpartition(":")[2]
        outputs = {
            "image": f"{self.uri}@{self.digest}" if self.digest else self.ref,
            "tags": ",".join([tag, *self.aliases]),
            "digest": self.digest or "",
        }
        if self.compressed_size_bytes is not None:
            outputs["size_bytes"] = str(self.compressed_size_bytes)
        return outputs


@dataclass(frozen=True)
class ReleaseEntry:
    """One released version in the registry."""

    version: str
    tags: tuple[str, ...]
    digest: str
    uri: str
    compressed_size_bytes: int
    upload_time: str | None  # RFC 3339; None where the registry does not say

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tags": list(self.tags),
            "digest": self.digest,
            "uri": self.uri,
            "compressed_size_bytes": self.compressed_size_bytes,
            "upload_time": self.upload_time,
        }


@dataclass(frozen=True)
class ReleasesResult:
    """The versions in the release repository, newest first (`mlrelease releases`)."""

    repository: str
    releases: tuple[ReleaseEntry, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "releases": [entry.to_data() for entry in self.releases],
        }


@dataclass(frozen=True)
class PipelineResult:
    """A release made in one command (`mlrelease release`): bumped, built, tested, pushed."""

    version: str  # no "v"
    tag: str
    resumed: bool  # True: HEAD already carried the tag, no new bump
    image: str  # HOST/PATH:vX.Y.Z
    digest: str
    pushed: bool  # False: the registry already held this image
    push: PushResult

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "resumed": self.resumed,
            "image": self.image,
            "digest": self.digest,
            "pushed": self.pushed,
            "push": self.push.to_data(),
        }

    def github_outputs(self) -> dict[str, str]:
        """The push's step outputs, plus the version."""
        return {**self.push.github_outputs(), "version": self.version}
