"""Copying an image between repositories by digest, through the Registry API v2 alone.

No engine and no local copy: each blob is looked for in the destination (HEAD), mounted from
the source repository when both are on one registry host (`POST .../blobs/uploads/?mount=&from=`,
201 mounted, 202 an upload opened instead), or else streamed from the source in chunks into a
chunked upload (PATCH each chunk, PUT with the digest), so memory holds one chunk. Manifests
go last, their exact bytes, so that the digest is the source's; an index's children first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mlrelease.errors import RegistryError
from mlrelease.registry.v2 import Manifest, RegistryClient
from mlrelease.results.promote import BlobCopy

CHUNK_BYTES = 8 * 1024 * 1024
INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


@dataclass(frozen=True)
class Repo:
    """One repository on one registry: the client that reaches it and its path."""

    client: RegistryClient
    path: str

    @property
    def host(self) -> str:
        return self.client.host


@dataclass(frozen=True)
class Descriptor:
    digest: str
    size: int


def is_index(manifest: Manifest) -> bool:
    """Whether `manifest` is an image index (a manifest list) rather than an image."""
    return manifest.media_type in INDEX_TYPES or "manifests" in _document(manifest)


def children(manifest: Manifest) -> list[Descriptor]:
    """The child manifests an index names."""
    return [_descriptor(item) for item in _document(manifest).get("manifests") or []]


def blobs_of(manifest: Manifest) -> list[Descriptor]:
    """The config and layers an image manifest names (foreign layers included)."""
    document = _document(manifest)
    items = [document["config"]] if document.get("config") else []
    return [_descriptor(item) for item in [*items, *(document.get("layers") or [])]]


def plan_blob(destination: Repo, blob: Descriptor) -> BlobCopy:
    """What the destination holds of `blob` (present, or missing)."""
    held = destination.client.blob_exists(destination.path, blob.digest)
    return BlobCopy(blob.digest, blob.size, "present" if held else "missing")


def copy_blob(source: Repo, destination: Repo, blob: Descriptor) -> BlobCopy:
    """Make `destination` hold `blob`: there already, mounted, or streamed from `source`."""
    if destination.client.blob_exists(destination.path, blob.digest):
        return BlobCopy(blob.digest, blob.size, "present")
    if destination.host == source.host:
        url = destination.client.mount_blob(destination.path, blob.digest, source.path)
        if url is None:
            return BlobCopy(blob.digest, blob.size, "mounted")
    else:  # a mount never crosses registry hosts
        url = destination.client.start_upload(destination.path)
    with source.client.open_blob(source.path, blob.digest) as response:
        chunks: Iterator[bytes] = response.iter_content(chunk_size=CHUNK_BYTES)
        sent = destination.client.upload_blob(destination.path, url, blob.digest, chunks)
    return BlobCopy(blob.digest, blob.size, "uploaded", sent)


def copy_manifest(
    source: Repo,
    destination: Repo,
    manifest: Manifest,
    on_blob: Callable[[BlobCopy], None],
    *,
    dry_run: bool,
) -> tuple[list[BlobCopy], int]:
    """Copy `manifest`'s blobs (an index: each child's, then the child) and, unless `dry_run`,
    the manifest itself by digest; (the blobs, how many manifests)."""
    copied: list[BlobCopy] = []
    count = 1
    if is_index(manifest):
        for child in children(manifest):
            found = source.client.manifest(source.path, child.digest)
            if found is None:
                raise RegistryError(
                    f"{source.host}/{source.path} names the child manifest {child.digest} "
                    "in its index but does not hold it",
                    hint="push the image again: its index is incomplete",
                )
            blobs, more = copy_manifest(source, destination, found, on_blob, dry_run=dry_run)
            copied += blobs
            count += more
    else:
        for blob in blobs_of(manifest):
            done = plan_blob(destination, blob) if dry_run else copy_blob(source, destination, blob)
            on_blob(done)
            copied.append(done)
    if not dry_run:
        put_by_digest(destination, manifest)
    return copied, count


def put_by_digest(destination: Repo, manifest: Manifest) -> None:
    """Store `manifest`'s exact bytes under its digest; RegistryError if the registry reports
    another digest (it would have rewritten the manifest)."""
    stored = destination.client.put_manifest(destination.path, manifest.digest, manifest)
    if stored != manifest.digest:
        raise RegistryError(
            f"{destination.host}/{destination.path} stored the manifest {manifest.digest} "
            f"as {stored}",
            hint="the destination registry rewrites manifests; promote to another registry",
        )


def _document(manifest: Manifest) -> dict[str, Any]:
    document = json.loads(manifest.body or b"{}")
    return document if isinstance(document, dict) else {}


def _descriptor(item: Any) -> Descriptor:
    return Descriptor(str(item["digest"]), int(item.get("size", 0)))
