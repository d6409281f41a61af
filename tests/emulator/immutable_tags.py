"""Docker repositories with immutable tags: a tag, once it exists, stays on its digest.

GAR's words, as the Docker engine shows a refused push (GAR's troubleshooting page names the
second sentence; users quote the whole line):
`manifest invalid: cannot update tag v1. The repository has enabled tag immutability`.
The API refuses moving or deleting such a tag with the same sentence."""

from __future__ import annotations

REASON = "The repository has enabled tag immutability"


def cannot_update(tag: str) -> str:
    return f"cannot update tag {tag}. {REASON}"


def cannot_delete(tag: str) -> str:
    return f"cannot delete tag {tag}. {REASON}"
