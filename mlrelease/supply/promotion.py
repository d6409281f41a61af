"""Promote a release with what is attached to it: its cosign signature, SBOM and provenance.

`promote_with_artifacts` is `promote_release` with a carry that runs once the image is in the
destination and before its tag is. By digest, it copies
- the signature manifest at the cosign tag `sha256-<hex>.sig` (where publish writes it, in both
  kinds of registry), its blobs mounted or streamed as the image's are; where the destination
  holds other signatures of the image, these are added beside them, as cosign's sign adds;
- every artifact whose subject is the image: on a plain registry the OCI 1.1 referrers (the
  referrers API, or the tag schema's index where there is none), in Artifact Registry the
  version's attachments. Each is stored in the destination's own way: a plain registry gets
  the artifact manifest (its exact bytes when it came from one; listed in the tag schema where
  the registry has no referrers API), Artifact Registry an attachment of the same files to the
  destination's version; an attachment promoted to a plain registry becomes an OCI artifact
  whose layers are its files.
What the destination holds already is left alone, so a second promotion sends nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.registry.blobs import Repo, copy_manifest
from mlrelease.results.promote import ArtifactAction, ArtifactCopy, StoredAs
from mlrelease.supply import attach, provenance, sbom
from mlrelease.supply.signing import PAYLOAD_MEDIA_TYPE

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest
    from mlrelease.results.promote import PromoteResult
    from mlrelease.supply.gar_attachments import Attachment, Attachments

KINDS = {sbom.MEDIA_TYPE: "sbom", provenance.MEDIA_TYPE: "provenance"}


def promote_with_artifacts(
    settings: Settings,
    tag: str,
    *,
    to: str | None = None,
    to_project: str | None = None,
    to_region: str | None = None,
    key_file: Path | None = None,
    dry_run: bool = False,
    artifacts: bool = True,
    on_progress: Callable[[str], None] = lambda line: None,
) -> PromoteResult:
    """`promote_release`, carrying the image's artifacts along unless `artifacts` is False."""
    from mlrelease.registry.promote import promote_release

    def carry(
        source: Target, destination: Target, subject: Manifest, dry: bool
    ) -> list[ArtifactCopy]:
        return carry_artifacts(source, destination, subject, dry_run=dry, on_progress=on_progress)

    return promote_release(
        settings,
        tag,
        to=to,
        to_project=to_project,
        to_region=to_region,
        key_file=key_file,
        dry_run=dry_run,
        on_progress=on_progress,
        carry=carry if artifacts else None,
    )


def carry_artifacts(
    source: Target,
    destination: Target,
    subject: Manifest,
    *,
    dry_run: bool,
    on_progress: Callable[[str], None] = lambda line: None,
) -> list[ArtifactCopy]:
    """Copy what is attached to `subject` in `source` to `destination` (which holds `subject`
    already, or, in a dry run, may not); what was done with each artifact."""
    copies: list[ArtifactCopy] = []

    def done(copy: ArtifactCopy) -> None:
        action = "would be copied" if copy.action == "missing" else copy.action
        on_progress(f"{copy.kind} {copy.digest[7:19]}: {action} ({copy.bytes_sent} bytes)")
        copies.append(copy)

    signature = _carry_signature(source, destination, subject, dry_run=dry_run)
    if signature is not None:
        done(signature)
    if source.gar is not None:
        # Oldest first, so that the newest of a type is the newest in the destination too.
        found = sorted(_attachments(source).list(subject.digest), key=lambda a: a.create_time)
        if destination.gar is not None:
            _attachments_to_attachments(found, source, destination, subject, dry_run, done)
        else:
            _attachments_to_referrers(found, source, destination, subject, dry_run, done)
    else:  # a plain registry's releases are promoted to plain registries (HOST/PATH) alone
        entries = attach.find_referrers(source.registry, source.repository.path, subject.digest)
        _referrers_to_referrers(entries, source, destination, subject, dry_run, done)
    return copies


def kind_of(media_type: str) -> str:
    """`sbom`, `provenance` or `artifact`, by the artifact's media type."""
    return KINDS.get(media_type, "artifact")


def _carry_signature(
    source: Target, destination: Target, subject: Manifest, *, dry_run: bool
) -> ArtifactCopy | None:
    """The signature manifest of `subject`, under its cosign tag in the destination too."""
    tag = attach.signature_tag(subject.digest)
    found = source.registry.manifest(source.repository.path, tag)
    if found is None:
        return None
    held = destination.registry.manifest(destination.repository.path, tag)
    outcome = _outcome("signature", PAYLOAD_MEDIA_TYPE, found.digest, found.digest, "tag")
    if held is not None and held.digest == found.digest:
        return outcome("present")
    if dry_run:
        return outcome("missing")
    path = destination.repository.path
    if held is None:
        blobs, _ = copy_manifest(_repo(source), _repo(destination), found, _quiet, dry_run=False)
        destination.registry.put_manifest(path, tag, found)
        return outcome("copied", sum(blob.bytes_sent for blob in blobs))
    # Other signatures of this image are there (it was signed in the destination too): keep
    # them, and add the source's.
    signatures = attach.signatures(source.registry, source.repository.path, subject.digest)
    digest, sent = held.digest, 0
    for signature in signatures or []:
        if not destination.registry.blob_exists(path, _digest_of(signature.payload)):
            sent += len(signature.payload)
        digest = attach.put_signature(
            destination.registry, path, subject.digest, signature.payload, signature.signature
        )
    merged = _outcome("signature", PAYLOAD_MEDIA_TYPE, digest, found.digest, "tag")
    return merged("merged", sent)


def _referrers_to_referrers(
    entries: list[dict[str, Any]],
    source: Target,
    destination: Target,
    subject: Manifest,
    dry_run: bool,
    done: Callable[[ArtifactCopy], None],
) -> None:
    """OCI artifacts copied as they are, by digest, and listed where the destination lists
    referrers."""
    client, path = destination.registry, destination.repository.path
    listed = _listed(destination, subject.digest)
    new: list[dict[str, Any]] = []
    for entry in entries:
        digest, media_type = str(entry.get("digest")), str(entry.get("artifactType") or "")
        outcome = _outcome(kind_of(media_type), media_type, digest, digest, "referrer")
        if digest in listed and client.manifest(path, digest) is not None:
            done(outcome("present"))
            continue
        if dry_run:
            done(outcome("missing"))
            continue
        artifact = source.registry.manifest(source.repository.path, digest)
        if artifact is None:  # listed at the source, but gone since
            continue
        blobs, _ = copy_manifest(_repo(source), _repo(destination), artifact, _quiet, dry_run=False)
        new.append(entry)
        done(outcome("copied", sum(blob.bytes_sent for blob in blobs)))
    _list(destination, subject.digest, new)


def _attachments_to_attachments(
    found: list[Attachment],
    source: Target,
    destination: Target,
    subject: Manifest,
    dry_run: bool,
    done: Callable[[ArtifactCopy], None],
) -> None:
    """Artifact Registry attachments: the same files, attached to the destination's version."""
    api, there = _attachments(destination), _attached(destination, subject.digest)
    source_api = _attachments(source)
    for attachment in found:
        media_type, digests = attachment.type, attachment.file_digests
        digest = digests[0] if digests else ""  # a file's name is its digest: the same there
        outcome = _outcome(kind_of(media_type), media_type, digest, digest, "attachment")
        if "" not in digests and (media_type, digests) in there:
            done(outcome("present"))
            continue
        if dry_run:
            done(outcome("missing"))
            continue
        documents = [source_api.download(name) for name in attachment.files]
        files = [api.upload(document, media_type) for document in documents]
        api.create(subject.digest, media_type, files, kind=kind_of(media_type))
        done(outcome("copied", sum(len(document) for document in documents)))


def _attachments_to_referrers(
    found: list[Attachment],
    source: Target,
    destination: Target,
    subject: Manifest,
    dry_run: bool,
    done: Callable[[ArtifactCopy], None],
) -> None:
    """Artifact Registry attachments onto a plain registry: an OCI 1.1 artifact each, its files
    as its layers, listed where the destination lists referrers."""
    client, path = destination.registry, destination.repository.path
    api, listed = _attachments(source), _listed(destination, subject.digest)
    new: list[dict[str, Any]] = []
    for attachment in found:
        # The files are read even in a dry run: the artifact's digest is made of them.
        documents = [api.download(name) for name in attachment.files]
        artifact = attach.artifact_manifest(subject, attachment.type, documents)
        source_digest = attachment.file_digests[0] if attachment.files else ""
        kind = kind_of(attachment.type)
        outcome = _outcome(kind, attachment.type, artifact.digest, source_digest, "referrer")
        if artifact.digest in listed and client.manifest(path, artifact.digest) is not None:
            done(outcome("present"))
            continue
        if dry_run:
            done(outcome("missing"))
            continue
        sent = 0
        for data in [attach.EMPTY_BLOB, *documents]:
            if not client.blob_exists(path, _digest_of(data)):
                client.put_blob(path, data)
                sent += len(data)
        client.put_manifest(path, artifact.digest, artifact)
        new.append(attach.referrer_entry(artifact))
        done(outcome("copied", sent))
    _list(destination, subject.digest, new)


# The destination's listings, and small pieces


def _listed(destination: Target, digest: str) -> set[str]:
    """The digests of the referrers the destination lists for `digest`."""
    entries = attach.find_referrers(destination.registry, destination.repository.path, digest)
    return {str(entry.get("digest")) for entry in entries}


def _list(destination: Target, digest: str, entries: list[dict[str, Any]]) -> None:
    """List `entries` as referrers of `digest` where the registry does not do it itself: in
    the tag schema's index, when it has no referrers API."""
    client, path = destination.registry, destination.repository.path
    if entries and client.referrers(path, digest) is None:
        attach.add_to_tag_schema(client, path, digest, entries)


def _attached(destination: Target, digest: str) -> set[tuple[str, tuple[str, ...]]]:
    """(type, file digests) of each attachment of version `digest` in the destination."""
    return {(a.type, a.file_digests) for a in _attachments(destination).list(digest)}


def _attachments(target: Target) -> Attachments:
    from mlrelease.supply.gar_attachments import Attachments

    settings = target.gar.settings  # type: ignore[union-attr]
    return Attachments(target, timeout_s=settings.request_timeout_s, attempts=settings.attempts)


def _outcome(
    kind: str, media_type: str, digest: str, source_digest: str, stored_as: StoredAs
) -> Callable[..., ArtifactCopy]:
    """The ArtifactCopy of one artifact, given what was done with it and the bytes sent."""

    def outcome(action: ArtifactAction, sent: int = 0) -> ArtifactCopy:
        return ArtifactCopy(kind, media_type, digest, source_digest, stored_as, action, sent)

    return outcome


def _repo(target: Target) -> Repo:
    return Repo(target.registry, target.repository.path)


def _digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _quiet(blob: object) -> None:
    """The artifacts' blobs are reported with their artifact, not one by one."""
