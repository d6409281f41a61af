"""Sign a pushed release and attach its SBOM and provenance, in the image's own repository.

`sign_and_attach` is what a push calls once the release tag resolves to the pushed digest and
a signing key is configured: the cosign signature at `sha256-<hex>.sig`, then the SBOM (the one
kept beside the build, or read from the local image now) and the provenance as OCI 1.1
artifacts whose subject is the image.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease import labels
from mlrelease.errors import ConfigError, PreconditionError, RegistryError
from mlrelease.results.supply import AttachResult
from mlrelease.supply import attach, documents, provenance, sbom
from mlrelease.supply.signing import Signer, load_signer, simple_signing_payload

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.refs import ImageRef
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest
    from mlrelease.results.push import PushEvent, PushResult
    from mlrelease.supply.kms import KmsSigner


def sign_and_attach(
    settings: Settings,
    target: Target,
    ref: ImageRef,
    digest: str,
    *,
    client: docker.DockerClient | None = None,
    build_args: Mapping[str, str] | None = None,
    started_on: str | None = None,
    finished_on: str | None = None,
    signer: Signer | KmsSigner | None = None,
) -> AttachResult:
    """Sign `ref`'s image `digest` in `target` and attach its SBOM and provenance.

    The local image is the one the manifest's config names (its image ID): its labels give
    the commit, source and base image, and its filesystem the SBOM when none was kept.
    """
    signer = signer or load_signer(settings)
    if signer is None:
        raise ConfigError(
            "no signing key: neither signing_key nor kms_key is set",
            hint="set MLRELEASE_SIGNING_KEY to an ECDSA P-256 PEM private key or its path, "
            "or MLRELEASE_KMS_KEY to a Cloud KMS key version",
        )
    path = target.repository.path
    manifest = target.registry.manifest(path, digest)
    if manifest is None:
        raise RegistryError(f"{ref.repository}@{digest} is not in the registry")
    payload = simple_signing_payload(ref.repository, digest)
    attach.put_signature(target.registry, path, digest, payload, signer.sign(payload))
    if manifest.config_digest is None:
        raise PreconditionError(
            f"{ref.repository}@{digest} is an index, not a single image: no SBOM can be read",
            hint="push a single-platform image",
        )
    image_id = manifest.config_digest
    if settings.builder == "cloud-build":  # the image is in the registry alone
        document = _registry_sbom(settings, target, manifest, ref)
        facts = registry_build_facts(
            settings, target, manifest, ref.repository, build_args=build_args or {}
        )
    else:
        if client is None:
            from mlrelease.engine import docker_client

            client = docker_client()
        document = _sbom_document(settings, client, image_id, ref)
        facts = build_facts(
            settings,
            client,
            image_id,
            ref.repository,
            digest,
            build_args=build_args or {},
            started_on=started_on,
            finished_on=finished_on,
        )
    created = {"org.opencontainers.image.created": finished_on} if finished_on else None
    sbom_digest = documents.store(
        target, manifest, sbom.MEDIA_TYPE, document, kind="sbom", annotations=created
    )
    statement = provenance.statement_bytes(provenance.provenance_statement(facts))
    provenance_digest = documents.store(
        target, manifest, provenance.MEDIA_TYPE, statement, kind="provenance", annotations=created
    )
    return AttachResult(
        image=f"{ref.repository}@{digest}",
        digest=digest,
        signature_tag=attach.signature_tag(digest),
        sbom_digest=sbom_digest,
        provenance_digest=provenance_digest,
        referrers=documents.where(target, digest),
    )


def sign_release(
    settings: Settings,
    tag: str,
    digest: str,
    *,
    key_file: Path | None = None,
    client: docker.DockerClient | None = None,
    build_args: Mapping[str, str] | None = None,
) -> AttachResult | None:
    """After a push of `tag` that landed as `digest`: `sign_and_attach` in the configured
    target when a signing key (or KMS key) is configured; None when none is."""
    if settings.signing_key is None and not settings.kms_key:
        return None
    from mlrelease.registry.target import open_target

    target = open_target(settings, key_file=key_file)
    return sign_and_attach(
        settings, target, target.ref(tag), digest, client=client, build_args=build_args
    )


def push_signed(
    settings: Settings,
    tag: str,
    *,
    key_file: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[PushEvent], None] = lambda event: None,
) -> PushResult:
    """`push_release`, then, when a signing key is configured and something is in the
    registry, the release's signature, SBOM and provenance beside it (`sign_release`)."""
    from dataclasses import replace

    from mlrelease.registry.push import push_release

    pushed = push_release(
        settings, tag, key_file=key_file, force=force, dry_run=dry_run, on_progress=on_progress
    )
    if dry_run or pushed.digest is None:
        return pushed
    attached = sign_release(settings, tag, pushed.digest, key_file=key_file)
    if attached is None:
        return pushed
    warnings = pushed.warnings + attached.warnings
    changes = _changes_since_the_last_release(settings, tag, key_file)
    return replace(pushed, attached=attached.to_data(), warnings=warnings, changes=changes)


def _changes_since_the_last_release(
    settings: Settings, tag: str, key_file: Path | None
) -> Mapping[str, object] | None:
    """For the job summary in GitHub Actions only: `diff` from the highest release below `tag`
    in the registry to `tag`; None elsewhere, for a first release, or without its SBOM."""
    import os

    from mlrelease.errors import MlreleaseError
    from mlrelease.registry.target import open_target
    from mlrelease.supply.diff import diff_releases
    from mlrelease.versions.rules import parse_tag

    version = parse_tag(tag)
    if not os.environ.get("GITHUB_STEP_SUMMARY") or version is None or version.prerelease:
        return None
    try:
        older = [
            (found, name)
            for name in open_target(settings, key_file=key_file).tags()
            if (found := parse_tag(name)) is not None and not found.prerelease and found < version
        ]
        if not older:
            return None
        return diff_releases(settings, max(older)[1], tag, key_file=key_file).to_data()
    except MlreleaseError:
        return None  # a release pushed before signing has no SBOM to compare


def _sbom_document(
    settings: Settings, client: docker.DockerClient, image_id: str, ref: ImageRef
) -> bytes:
    stored = sbom.sbom_path(settings, image_id)
    if not stored.is_file():
        sbom.sbom_for_image(client, image_id, settings, name=ref.repository)
    return stored.read_bytes()


def _registry_sbom(settings: Settings, target: Target, manifest: Manifest, ref: ImageRef) -> bytes:
    stored = sbom.sbom_path(settings, manifest.config_digest or "")
    if not stored.is_file():
        sbom.sbom_for_registry_image(
            target.registry, target.repository.path, manifest, settings, name=ref.repository
        )
    return stored.read_bytes()


def registry_build_facts(
    settings: Settings,
    target: Target,
    manifest: Manifest,
    repository: str,
    *,
    build_args: Mapping[str, str],
) -> provenance.BuildFacts:
    """What the provenance of an image only the registry holds records: read from its
    config's labels and creation time, and the Dockerfile at its commit."""
    found = target.image_labels(manifest.digest)
    return _facts(
        settings,
        found,
        repository,
        manifest.digest,
        build_args=build_args,
        base_digest=found.get(labels.BASE_DIGEST),
        finished_on=found.get(labels.CREATED),
    )


def _facts(
    settings: Settings,
    found: Mapping[str, str],
    repository: str,
    digest: str,
    *,
    build_args: Mapping[str, str],
    base_digest: str | None,
    base_digest_is_image_id: bool = False,
    started_on: str | None = None,
    finished_on: str | None = None,
) -> provenance.BuildFacts:
    commit = found.get(labels.REVISION)
    dockerfile = found.get(labels.DOCKERFILE) or settings.dockerfile
    return provenance.BuildFacts(
        repository=repository,
        digest=digest,
        dockerfile=dockerfile,
        dockerfile_sha256=_dockerfile_sha256(settings.root / dockerfile, settings.root, commit),
        commit=commit,
        source=found.get(labels.SOURCE),
        build_args=build_args,
        base_image=found.get(labels.BASE_NAME),
        base_digest=base_digest,
        base_digest_is_image_id=base_digest_is_image_id,
        started_on=started_on,
        finished_on=finished_on,
        builder=found.get(labels.BUILDER) or "classic",
    )


def build_facts(
    settings: Settings,
    client: docker.DockerClient,
    image_id: str,
    repository: str,
    digest: str,
    *,
    build_args: Mapping[str, str],
    started_on: str | None = None,
    finished_on: str | None = None,
) -> provenance.BuildFacts:
    """What the provenance of the local image `image_id`, pushed as `repository@digest`,
    records: read from its labels, its engine record and the Dockerfile at its commit."""
    from docker.errors import DockerException

    try:
        image = client.images.get(image_id)
    except DockerException as err:
        raise PreconditionError(
            f"the image {image_id} is not in this engine: its provenance cannot be read",
            hint="sign from the machine that built the image",
        ) from err
    found = image.labels or {}
    base_name, base_digest = found.get(labels.BASE_NAME), found.get(labels.BASE_DIGEST)
    from_engine = base_digest is None and base_name is not None
    if from_engine:
        base_digest = _engine_digest(client, str(base_name))
    return _facts(
        settings,
        found,
        repository,
        digest,
        build_args=build_args,
        base_digest=base_digest,
        base_digest_is_image_id=from_engine and base_digest is not None,
        started_on=started_on,
        finished_on=finished_on or _rfc3339(image.attrs.get("Created")),
    )


def _engine_digest(client: docker.DockerClient, name: str) -> str | None:
    """The local image ID of the base image, when the engine still has it."""
    from docker.errors import DockerException

    try:
        return str(client.images.get(name).id)
    except DockerException:
        return None


def _dockerfile_sha256(path: Path, root: Path, commit: str | None) -> str | None:
    """The sha256 of the Dockerfile at `path` as committed at `commit`, else as it is on disk;
    None when there is neither."""
    from mlrelease.errors import MlreleaseError
    from mlrelease.versions.git import GitRepo

    text = None
    if commit:
        try:
            text = GitRepo.discover(root).show_file(str(path.relative_to(root)), commit)
        except MlreleaseError:
            text = None
    if text is not None:
        return hashlib.sha256(text.encode()).hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _rfc3339(created: object) -> str | None:
    """The engine's `Created` (nanoseconds, +00:00 or Z) as RFC 3339 in seconds."""
    if not isinstance(created, str) or not created:
        return None
    from datetime import UTC, datetime

    stamp = created.split(".")[0].rstrip("Z")
    try:
        moment = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_statement(document: bytes) -> dict[str, object]:
    """A stored provenance as a mapping (an empty one when it is not JSON)."""
    try:
        value = json.loads(document)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
