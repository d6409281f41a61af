"""What the registry really holds under a repository, as Artifact Registry models it: a package
per image name (`P/R/IMG`), a version per stored manifest, the tags on each."""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass

from tests.emulator.distribution import Distribution, Manifest
from tests.emulator.registry_storage import RegistryStorage
from tests.emulator.state import rfc3339


@dataclass(frozen=True)
class StoredImage:
    image: str  # IMG in P/R/IMG, may contain "/"
    digest: str
    tags: list[str]
    size_bytes: int
    media_type: str
    uploaded: datetime.datetime
    updated: datetime.datetime  # the upload, or a tag moved onto it since
    build_time: str | None  # the image config's `created`, as the image says it


class Inventory:
    """Reads the registry on every call (tags through its API, manifests from its storage), so
    that what the API answers is what a registry client would find."""

    def __init__(self, registry: Distribution, storage: RegistryStorage) -> None:
        self.registry = registry
        self.storage = storage
        self._lock = threading.Lock()
        # Content-addressed, so never stale: (name, digest) -> manifest, and -> build time.
        self._manifests: dict[tuple[str, str], Manifest] = {}
        self._build_times: dict[tuple[str, str], str | None] = {}
        # A re-PUT rewrites a revision's link: remember when a digest was first seen.
        self._first_seen: dict[tuple[str, str], datetime.datetime] = {}

    def package_names(self, prefix: str) -> list[str]:
        """Registry names under `prefix` (`P/R/`) that hold at least one manifest."""
        names = [n for n in self.registry.catalog() if n.startswith(prefix)]
        return sorted(n for n in names if self.storage.revisions(n))

    def images(self, prefix: str) -> list[StoredImage]:
        """Every version of every package under `prefix`, by package then digest."""
        return [
            image for name in self.package_names(prefix) for image in self.versions(name, prefix)
        ]

    def versions(self, name: str, prefix: str) -> list[StoredImage]:
        """Every manifest stored under the registry name `name` (`prefix` + IMG)."""
        revisions = self.storage.revisions(name)
        tags_by_digest: dict[str, list[str]] = {}
        for tag in self.registry.tags(name):
            digest = self.registry.digest(name, tag)
            if digest:
                tags_by_digest.setdefault(digest, []).append(tag)
        images = []
        for digest in sorted(set(revisions) | set(tags_by_digest)):
            manifest = self._manifest(name, digest)
            if manifest is None:
                continue  # deleted between the two reads
            tags = tags_by_digest.get(digest, [])
            uploaded = self._uploaded(name, digest, revisions.get(digest))
            moved = [self.storage.tag_moved(name, tag) for tag in tags]
            images.append(
                StoredImage(
                    image=name.removeprefix(prefix),
                    digest=digest,
                    tags=tags,
                    size_bytes=manifest.size_bytes,
                    media_type=manifest.media_type,
                    uploaded=uploaded,
                    updated=max([uploaded, *(t for t in moved if t is not None)]),
                    build_time=self._build_time(name, manifest),
                )
            )
        return images

    def version(self, name: str, prefix: str, digest: str) -> StoredImage | None:
        return next((i for i in self.versions(name, prefix) if i.digest == digest), None)

    def _manifest(self, name: str, digest: str) -> Manifest | None:
        with self._lock:
            known = self._manifests.get((name, digest))
        if known is not None and digest in self.storage.revisions(name):
            return known
        manifest = self.registry.manifest(name, digest)
        if manifest is not None:
            with self._lock:
                self._manifests[(name, digest)] = manifest
        return manifest

    def _uploaded(
        self, name: str, digest: str, revision: datetime.datetime | None
    ) -> datetime.datetime:
        candidates = [t for t in (revision, self.storage.first_tagged(name, digest)) if t]
        with self._lock:
            if seen := self._first_seen.get((name, digest)):
                candidates.append(seen)
            first = min(candidates, default=datetime.datetime.now(datetime.UTC))
            self._first_seen[(name, digest)] = first
        return first

    def forget(self, name: str, digest: str) -> None:
        """A deleted version pushed again is a new upload."""
        with self._lock:
            self._first_seen.pop((name, digest), None)

    def _build_time(self, name: str, manifest: Manifest) -> str | None:
        if manifest.config_digest is None:
            return None
        key = (name, manifest.config_digest)
        with self._lock:
            if key in self._build_times:
                return self._build_times[key]
        created = None
        config = self.registry.blob(name, manifest.config_digest)
        try:
            created = json.loads(config or b"{}").get("created")
        except (ValueError, AttributeError):
            created = None
        built = _normalised(created) if isinstance(created, str) else None
        with self._lock:
            self._build_times[key] = built
        return built


def _normalised(moment: str) -> str | None:
    """An RFC 3339 time in the API's form (UTC, Z), or None when the image's is unreadable."""
    try:
        parsed = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return rfc3339(parsed.astimezone(datetime.UTC))
