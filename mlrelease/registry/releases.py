"""The releases in the registry: every image of the configured name that carries a version tag,
newest first by semver."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.results.push import ReleaseEntry, ReleasesResult
from mlrelease.versions.rules import parse_tag

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings


def list_releases(settings: Settings, *, key_file: Path | None = None) -> ReleasesResult:
    """The versions in the target repository, newest first by semver, with their images."""
    from mlrelease.registry.target import open_target

    target = open_target(settings, key_file=key_file)
    entries = []
    for image in target.images():
        versions = sorted(v for tag in image.tags if (v := parse_tag(tag)) is not None)
        if not versions:
            continue
        newest = versions[-1]
        entries.append(
            (
                newest,
                ReleaseEntry(
                    version=str(newest),
                    tags=image.tags,
                    digest=image.digest,
                    uri=image.uri,
                    compressed_size_bytes=image.compressed_size_bytes,
                    upload_time=image.upload_time.isoformat() if image.upload_time else None,
                ),
            )
        )
    entries.sort(key=lambda pair: pair[0], reverse=True)
    return ReleasesResult(repository=str(target.repository), releases=tuple(e for _, e in entries))
