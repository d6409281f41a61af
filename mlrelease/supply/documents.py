"""Where a release's SBOM and provenance live: Artifact Registry's attachments API on GAR,
OCI 1.1 referrers (or their tag schema) on any other registry. One interface for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrelease.supply import attach

if TYPE_CHECKING:
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest
    from mlrelease.supply.gar_attachments import Attachments


@dataclass(frozen=True)
class Document:
    """An attached document: the digest it is attached to, and its bytes."""

    subject: str | None
    data: bytes


def _attachments(target: Target) -> Attachments:
    from mlrelease.supply.gar_attachments import Attachments

    settings = target.gar.settings  # type: ignore[union-attr]
    return Attachments(target, timeout_s=settings.request_timeout_s, attempts=settings.attempts)


def store(
    target: Target,
    image: Manifest,
    media_type: str,
    data: bytes,
    *,
    kind: str,
    annotations: dict[str, str] | None = None,
) -> str:
    """Attach `data` to `image`; the attachment's name (GAR) or artifact digest (OCI)."""
    if target.gar is not None:
        return _attachments(target).attach(image.digest, media_type, data, kind=kind)
    return attach.attach_document(
        target.registry, target.repository.path, image, media_type, data, annotations=annotations
    )


def find(target: Target, digest: str, media_type: str) -> Document | None:
    """The newest document of `media_type` attached to `digest`; None when there is none."""
    if target.gar is not None:
        api = _attachments(target)
        for found in sorted(api.list(digest, media_type), key=lambda a: a.create_time)[::-1]:
            if found.files:
                return Document(found.subject, api.download(found.files[0]))
        return None
    fetched = attach.find_document(target.registry, target.repository.path, digest, media_type)
    if fetched is None:
        return None
    artifact, data = fetched
    return Document((artifact.get("subject") or {}).get("digest"), data)


def where(target: Target, digest: str) -> str:
    """How the documents of `digest` are found, in words."""
    if target.gar is not None:
        return "Artifact Registry attachments"
    if target.registry.referrers(target.repository.path, digest) is not None:
        return "referrers API"
    return f"tag schema {attach.referrers_tag(digest)}"
