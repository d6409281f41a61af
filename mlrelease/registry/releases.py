"""The releases in the registry: every image of the configured name that carries a version tag,
newest first by semver, with the model each serves (read from the image's labels)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease import labels
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
        found = target.image_labels(image.digest)
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
                    model_sha256=found.get(labels.MODEL_SHA256),
                    model_metric=found.get(labels.MODEL_METRIC),
                ),
            )
        )
    entries.sort(key=lambda pair: pair[0], reverse=True)
    return ReleasesResult(repository=str(target.repository), releases=tuple(e for _, e in entries))
