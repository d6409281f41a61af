"""Results of `push` and `releases`: what landed where, the versions in the registry, and the
push's progress events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    notes: tuple[str, ...] = ()  # aliases left where they are, and why
    attached: Mapping[str, Any] | None = None  # signature, SBOM, provenance (when signed)
    changes: Mapping[str, Any] | None = None  # `diff` from the previous release (in Actions)

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
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "attached": dict(self.attached) if self.attached is not None else None,
            "changes": dict(self.changes) if self.changes is not None else None,
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
    model_sha256: str | None = None  # from the image's labels
    model_metric: str | None = None  # the headline metric, `accuracy=0.9649`

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tags": list(self.tags),
            "digest": self.digest,
            "uri": self.uri,
            "compressed_size_bytes": self.compressed_size_bytes,
            "upload_time": self.upload_time,
            "model_sha256": self.model_sha256,
            "model_metric": self.model_metric,
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
class PushEvent:
    """One line of the engine's push progress: a layer's status (with bytes while it uploads),
    or, without `layer`, a message about the whole push."""

    layer: str | None
    status: str  # Preparing, Pushing, Pushed, Layer already exists, ...
    current: int | None = None
    total: int | None = None

    @property
    def final(self) -> bool:
        """Whether the layer is done (sent, or found already in the registry)."""
        return self.status in LAYER_DONE or self.status.startswith("Mounted from")


LAYER_DONE = ("Pushed", "Layer already exists")
