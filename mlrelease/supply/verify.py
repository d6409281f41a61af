"""`mlrelease verify vX.Y.Z`: the proofs of a release, checked against the registry alone
(the release repository, or with `--repository` one it was promoted to).

The tag is resolved to a digest through the registry (the Artifact Registry API on GAR); then,
one check each: the image's revision label is the tag's git commit; a cosign signature of that
digest verifies with the public key; the SBOM and the provenance are attached to that digest,
say so themselves, and the provenance names the tag's commit. A mismatch fails (exit 1); a
document that is not there is missing (exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease import labels
from mlrelease.errors import ConfigError, PreconditionError, UsageError, WorkFailed
from mlrelease.results.supply import VerifyCheck, VerifyResult
from mlrelease.supply import attach, documents, provenance, sbom
from mlrelease.supply.documents import Document
from mlrelease.supply.signing import load_public_key, payload_digest, verify_signature

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest


def verify_release(
    settings: Settings, tag: str, *, key_file: Path | None = None, repository: str | None = None
) -> VerifyResult:
    """Check the release `tag`'s signature, SBOM and provenance (the module docstring), in the
    release repository or in `repository`, named as promote's `--to` names one (a repository
    of the same project and region, or a plain registry's HOST/PATH)."""
    from mlrelease.registry.promote import destination_target
    from mlrelease.registry.target import open_target
    from mlrelease.versions.git import GitRepo
    from mlrelease.versions.rules import parse_tag

    if parse_tag(tag) is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    public_key = load_public_key(settings)
    if public_key is None:
        raise ConfigError(
            "no key to verify with: none of verify_key, signing_key and kms_key is set",
            hint="set MLRELEASE_VERIFY_KEY to the release signing key's PEM public key or its path",
        )
    commit = GitRepo.discover(settings.root).tags().get(tag)
    target = open_target(settings, key_file=key_file)
    if repository is not None:
        target = destination_target(settings, target, repository, None, None, option="--repository")
    digest = target.resolve(tag)
    if digest is None:
        raise PreconditionError(
            f"{target.ref(tag)} is not in the registry",
            hint="push it first with `mlrelease push`",
        )
    manifest = target.registry.manifest(target.repository.path, digest)
    if manifest is None:
        raise PreconditionError(f"{target.repository}@{digest} is not in the registry")
    checks = [
        _revision(target, manifest, tag, commit),
        _signature(target, digest, public_key),
        *_sbom(target, manifest),
        *_provenance(target, digest, tag, commit),
    ]
    return VerifyResult(ref=str(target.ref(tag)), digest=digest, checks=tuple(checks))


def _revision(target: Target, manifest: Manifest, tag: str, commit: str | None) -> VerifyCheck:
    if commit is None:
        return VerifyCheck("revision", "missing", f"there is no git tag {tag} here to compare")
    config = None
    if manifest.config_digest:
        config = target.registry.blob(target.repository.path, manifest.config_digest)
    found = None
    if config is not None:
        found = ((json.loads(config).get("config") or {}).get("Labels") or {}).get(labels.REVISION)
    if found == commit:
        return VerifyCheck("revision", "ok", f"the image was built from {tag}'s commit {commit}")
    return VerifyCheck(
        "revision",
        "fail",
        f"the image under {tag} was built from {found or 'an unknown commit'}, "
        f"not {tag}'s commit {commit} (re-tagged?)",
    )


def _signature(target: Target, digest: str, key: EllipticCurvePublicKey) -> VerifyCheck:
    found = attach.signatures(target.registry, target.repository.path, digest)
    tag = attach.signature_tag(digest)
    if not found:
        return VerifyCheck("signature", "missing", f"no signature at {tag}")
    named = set()
    for signature in found:
        signed_digest = payload_digest(signature.payload)
        named.add(signed_digest)
        if signed_digest == digest and verify_signature(
            key, signature.payload, signature.signature
        ):
            return VerifyCheck("signature", "ok", f"{tag} verifies with the key, for {digest}")
    if digest not in named:
        return VerifyCheck(
            "signature",
            "fail",
            f"the payloads at {tag} sign {sorted(map(str, named))}, not {digest}",
        )
    return VerifyCheck("signature", "fail", f"no signature at {tag} verifies with the key")


def _subject_check(name: str, found: Document, digest: str) -> VerifyCheck | None:
    subject = found.subject
    if subject != digest:
        return VerifyCheck(name, "fail", f"the {name} is attached to {subject}, not {digest}")
    return None


def _sbom(target: Target, manifest: Manifest) -> list[VerifyCheck]:
    fetched = documents.find(target, manifest.digest, sbom.MEDIA_TYPE)
    if fetched is None:
        return [VerifyCheck("sbom", "missing", f"no SBOM is attached to {manifest.digest}")]
    document = fetched.data
    mismatch = _subject_check("sbom", fetched, manifest.digest)
    if mismatch is not None:
        return [mismatch]
    try:
        sbom.validate(document.decode())
        described = json.loads(document).get("metadata", {}).get("component", {}).get("version")
    except (WorkFailed, ValueError) as err:  # a document that is not CycloneDX at all
        return [VerifyCheck("sbom", "fail", f"the SBOM is not valid CycloneDX 1.6: {err}")]
    if described != manifest.config_digest:
        return [
            VerifyCheck(
                "sbom", "fail", f"the SBOM describes {described}, not {manifest.config_digest}"
            )
        ]
    count = len(json.loads(document).get("components") or [])
    return [VerifyCheck("sbom", "ok", f"CycloneDX 1.6, {count} components, for {manifest.digest}")]


def _provenance(target: Target, digest: str, tag: str, commit: str | None) -> list[VerifyCheck]:
    fetched = documents.find(target, digest, provenance.MEDIA_TYPE)
    if fetched is None:
        return [VerifyCheck("provenance", "missing", f"no provenance is attached to {digest}")]
    document = fetched.data
    mismatch = _subject_check("provenance", fetched, digest)
    if mismatch is not None:
        return [mismatch]
    try:
        statement = json.loads(document)
        provenance.validate(statement)
    except (WorkFailed, ValueError) as err:
        return [VerifyCheck("provenance", "fail", f"the provenance is not valid: {err}")]
    subjects = provenance.subject_digests(statement)
    if digest not in subjects:
        return [
            VerifyCheck("provenance", "fail", f"the provenance is for {subjects}, not {digest}")
        ]
    checks = [VerifyCheck("provenance", "ok", f"SLSA v1 provenance for {digest}")]
    built_from = provenance.source_commit(statement)
    if commit is None:
        checks.append(VerifyCheck("provenance commit", "missing", f"no git tag {tag} here"))
    elif built_from != commit:
        checks.append(
            VerifyCheck(
                "provenance commit",
                "fail",
                f"the provenance says {built_from or 'no commit'}, {tag} is {commit}",
            )
        )
    else:
        checks.append(VerifyCheck("provenance commit", "ok", f"built from {tag}'s {commit}"))
    return checks
