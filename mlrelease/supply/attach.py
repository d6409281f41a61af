"""Documents stored beside an image in its repository, as cosign and OCI 1.1 store them.

- The signature: an OCI image manifest at the tag `sha256-<hex>.sig` whose layers are
  simple-signing payloads, each with its base64 signature in the layer annotation
  `dev.cosignproject.cosign/signature`, and whose config is the one cosign writes (cosign's
  SIGNATURE_SPEC, "Tag-based Discovery" and "OCI Image Manifest V1").
- The SBOM and the provenance: OCI 1.1 artifacts, an image manifest with `artifactType` the
  document's media type, the empty config, the document as its one layer and `subject` the
  image. A registry with the referrers API indexes them itself (it answers the manifest PUT
  with `OCI-Subject`); otherwise the referrers tag schema is kept up to date: an image index
  at the tag `sha256-<hex>` listing every referrer (OCI distribution spec 1.1, "Referrers Tag
  Schema"). Distribution 2.8 has no referrers API, so the tag schema is what it gets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlrelease.registry.v2 import Manifest, RegistryClient
from mlrelease.supply.signing import PAYLOAD_MEDIA_TYPE, SIGNATURE_ANNOTATION

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"


def signature_tag(digest: str) -> str:
    """`sha256:<hex>` -> `sha256-<hex>.sig`, where cosign looks for an image's signatures."""
    return digest.replace(":", "-") + ".sig"


def referrers_tag(digest: str) -> str:
    """`sha256:<hex>` -> `sha256-<hex>`, the referrers tag schema's index."""
    return digest.replace(":", "-")


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _manifest_of(body: bytes, media_type: str) -> Manifest:
    import hashlib

    return Manifest("sha256:" + hashlib.sha256(body).hexdigest(), None, 0, media_type, body)


def cosign_config(payload_digests: list[str]) -> bytes:
    """The config cosign's signature images carry (go-containerregistry's empty image with one
    layer appended per signature), byte for byte."""
    history = ",".join('{"created":"0001-01-01T00:00:00Z"}' for _ in payload_digests)
    diff_ids = ",".join(f'"{digest}"' for digest in payload_digests)
    return (
        '{"architecture":"","created":"0001-01-01T00:00:00Z",'
        f'"history":[{history}],"os":"",'
        f'"rootfs":{{"type":"layers","diff_ids":[{diff_ids}]}},"config":{{}}}}'
    ).encode()


def put_signature(
    client: RegistryClient,
    path: str,
    digest: str,
    payload: bytes,
    signature: str,
    *,
    replace: bool = False,
) -> str:
    """Add the signature of `payload` to the signature manifest of `path@digest` (created, or
    extended: other signatures stay, unless `replace`); the manifest's digest."""
    tag = signature_tag(digest)
    layers: list[dict[str, Any]] = []
    existing = None if replace else client.manifest(path, tag)
    if existing is not None:
        try:
            layers = list(json.loads(existing.body).get("layers") or [])
        except ValueError:
            layers = []
    payload_digest = client.put_blob(path, payload)
    layer = {
        "mediaType": PAYLOAD_MEDIA_TYPE,
        "size": len(payload),
        "digest": payload_digest,
        "annotations": {SIGNATURE_ANNOTATION: signature},
    }
    layers = [kept for kept in layers if kept != layer] + [layer]
    config = cosign_config([str(item["digest"]) for item in layers])
    config_digest = client.put_blob(path, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": config_digest},
        "layers": layers,
    }
    return client.put_manifest(path, tag, _manifest_of(_json(manifest), OCI_MANIFEST))


@dataclass(frozen=True)
class Signature:
    """One signature found beside an image: the payload and its base64 signature."""

    payload: bytes
    signature: str


def signatures(client: RegistryClient, path: str, digest: str) -> list[Signature] | None:
    """The signatures stored for `path@digest`; None when there is no signature manifest."""
    manifest = client.manifest(path, signature_tag(digest))
    if manifest is None:
        return None
    found = []
    for layer in json.loads(manifest.body).get("layers") or []:
        if layer.get("mediaType") != PAYLOAD_MEDIA_TYPE:
            continue
        signature = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        payload = client.blob(path, str(layer.get("digest")), max_bytes=1 << 20)
        if payload is not None and signature:
            found.append(Signature(payload, str(signature)))
    return found


def attach_document(
    client: RegistryClient,
    path: str,
    subject: Manifest,
    artifact_type: str,
    document: bytes,
    *,
    annotations: dict[str, str] | None = None,
) -> str:
    """Store `document` as an OCI 1.1 artifact whose subject is `subject`, listed where
    referrers are found; the artifact manifest's digest."""
    client.put_blob(path, EMPTY_BLOB)
    client.put_blob(path, document)
    artifact = artifact_manifest(subject, artifact_type, [document], annotations=annotations)
    stored = client.put_manifest(path, artifact.digest, artifact)
    if client.referrers(path, subject.digest) is None:
        add_to_tag_schema(client, path, subject.digest, [referrer_entry(artifact)])
    return stored


def artifact_manifest(
    subject: Manifest,
    artifact_type: str,
    documents: list[bytes],
    *,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    """The OCI 1.1 artifact manifest that holds `documents` (a layer each) for `subject`: the
    same bytes for the same documents, so that a copy of it is recognised by its digest."""
    import hashlib

    layers = [
        {
            "mediaType": artifact_type,
            "size": len(document),
            "digest": "sha256:" + hashlib.sha256(document).hexdigest(),
        }
        for document in documents
    ]
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "size": len(EMPTY_BLOB), "digest": _empty()},
        "layers": layers,
        "subject": {
            "mediaType": subject.media_type or OCI_MANIFEST,
            "size": len(subject.body),
            "digest": subject.digest,
        },
    }
    if annotations:
        manifest["annotations"] = annotations
    return _manifest_of(_json(manifest), OCI_MANIFEST)


def referrer_entry(artifact: Manifest) -> dict[str, Any]:
    """The descriptor of `artifact` in a referrers index (its type and annotations with it)."""
    body = json.loads(artifact.body)
    entry: dict[str, Any] = {
        "mediaType": artifact.media_type or OCI_MANIFEST,
        "digest": artifact.digest,
        "size": len(artifact.body),
        "artifactType": body.get("artifactType") or (body.get("config") or {}).get("mediaType"),
    }
    if body.get("annotations"):
        entry["annotations"] = body["annotations"]
    return entry


def add_to_tag_schema(
    client: RegistryClient, path: str, subject_digest: str, entries: list[dict[str, Any]]
) -> bool:
    """List `entries` (referrer descriptors) in the tag schema's index of `subject_digest`,
    beside those it lists; False when it listed them all already (nothing written)."""
    tag = referrers_tag(subject_digest)
    listed: list[dict[str, Any]] = []
    existing = client.manifest(path, tag)
    if existing is not None:
        try:
            listed = list(json.loads(existing.body).get("manifests") or [])
        except ValueError:
            listed = []
    digests = {entry.get("digest") for entry in entries}
    merged = [kept for kept in listed if kept.get("digest") not in digests] + entries
    if existing is not None and merged == listed:
        return False
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": merged}
    client.put_manifest(path, tag, _manifest_of(_json(index), OCI_INDEX))
    return True


def find_referrers(
    client: RegistryClient, path: str, digest: str, artifact_type: str | None = None
) -> list[dict[str, Any]]:
    """The descriptors of the artifacts whose subject is `path@digest`: from the referrers
    API, or from the tag schema's index where there is none."""
    index = client.referrers(path, digest)
    if index is None:
        found = client.manifest(path, referrers_tag(digest))
        index = json.loads(found.body) if found is not None else {}
    entries = list(index.get("manifests") or [])
    if artifact_type is not None:
        entries = [entry for entry in entries if entry.get("artifactType") == artifact_type]
    return entries


def fetch_document(
    client: RegistryClient, path: str, descriptor: dict[str, Any]
) -> tuple[dict[str, Any], bytes] | None:
    """(the artifact manifest, its document) for a referrer's descriptor; None if gone."""
    manifest = client.manifest(path, str(descriptor.get("digest")))
    if manifest is None:
        return None
    body: dict[str, Any] = json.loads(manifest.body)
    layers = body.get("layers") or []
    if not layers:
        return None
    document = client.blob(path, str(layers[0].get("digest")))
    return (body, document) if document is not None else None


def find_document(
    client: RegistryClient, path: str, digest: str, artifact_type: str
) -> tuple[dict[str, Any], bytes] | None:
    """The newest attached document of `artifact_type` for `path@digest` that is still there:
    (its artifact manifest, its bytes); None when there is none."""
    for descriptor in reversed(find_referrers(client, path, digest, artifact_type)):
        fetched = fetch_document(client, path, descriptor)
        if fetched is not None:
            return fetched
    return None


def _empty() -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(EMPTY_BLOB).hexdigest()
