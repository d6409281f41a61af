"""What the distribution registry keeps on disk, read and edited where its HTTP API cannot help:
distribution 2.8 lists no repository's manifests and deletes no tag by name.

The layout (filesystem driver) under `docker/registry/v2/repositories/NAME/`:
`_manifests/revisions/sha256/HEX/link` for every manifest stored, `_manifests/tags/TAG/current/link`
for the digest a tag points to and `_manifests/tags/TAG/index/sha256/HEX/link` for every digest it
ever pointed to. Deleting `_manifests/tags/TAG` is what distribution's own Untag does; the
registry keeps no cache of tags, so its next read no longer finds the tag."""

from __future__ import annotations

import datetime
import re
import shutil
from pathlib import Path

# The distribution spec's name grammar: path components joined by "/".
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def valid_name(name: str) -> bool:
    """A repository name distribution accepts (so never a path that leaves its storage)."""
    return bool(_NAME.match(name))


def valid_tag(tag: str) -> bool:
    """A tag as the distribution spec defines it."""
    return bool(_TAG.match(tag))


def valid_digest(digest: str) -> bool:
    """A sha256 digest, the only kind distribution's storage uses."""
    return digest.startswith("sha256:") and bool(_HEX.match(digest.removeprefix("sha256:")))


def _mtime(path: Path) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
    except FileNotFoundError:
        return None


class RegistryStorage:
    def __init__(self, root: Path) -> None:
        self.root = root / "docker" / "registry" / "v2" / "repositories"

    def _repository(self, name: str) -> Path:
        if not valid_name(name):
            raise ValueError(f"not a repository name: {name!r}")
        return self.root / name

    def revisions(self, name: str) -> dict[str, datetime.datetime]:
        """Every manifest stored under `name`: digest -> when its link was last written."""
        found: dict[str, datetime.datetime] = {}
        directory = self._repository(name) / "_manifests" / "revisions" / "sha256"
        if not directory.is_dir():
            return found
        for entry in directory.iterdir():
            # A deleted manifest leaves its directory behind, without the link.
            written = _mtime(entry / "link") if _HEX.match(entry.name) else None
            if written is not None:
                found[f"sha256:{entry.name}"] = written
        return found

    def first_tagged(self, name: str, digest: str) -> datetime.datetime | None:
        """When any present tag first pointed to `digest` (its index link is written once)."""
        tags = self._repository(name) / "_manifests" / "tags"
        hex_digest = digest.removeprefix("sha256:")
        if not tags.is_dir() or not _HEX.match(hex_digest):
            return None
        times = [_mtime(tag / "index" / "sha256" / hex_digest / "link") for tag in tags.iterdir()]
        return min((t for t in times if t is not None), default=None)

    def tag_moved(self, name: str, tag: str) -> datetime.datetime | None:
        """When `tag` was last pointed somewhere."""
        if not valid_tag(tag):
            return None
        return _mtime(self._repository(name) / "_manifests" / "tags" / tag / "current" / "link")

    def delete_tag(self, name: str, tag: str) -> bool:
        """Remove `tag` from `name`, as distribution's Untag does; False when it was absent."""
        if not valid_tag(tag):
            return False
        path = self._repository(name) / "_manifests" / "tags" / tag
        if not path.is_dir():
            return False
        shutil.rmtree(path)
        return True

    def forget_repository(self, name: str) -> None:
        """Drop `name` from the catalog (its blobs stay for garbage collection), keeping any
        repository nested below it (`NAME/child`)."""
        path = self._repository(name)
        for special in ("_manifests", "_layers", "_uploads"):
            shutil.rmtree(path / special, ignore_errors=True)
        while path != self.root and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            path = path.parent
