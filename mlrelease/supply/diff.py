"""`mlrelease diff vA vB`: what changed between two releases, from the registry alone.

Packages added, removed or changed come from the two attached SBOMs; the model files' sha256
from the SBOMs too, and the model's headline metric from the images' labels; the base image
from the labels (`org.opencontainers.image.base.*`, else the provenance's resolved
dependencies); the compressed size from the manifests, the uncompressed one from the SBOMs.
The commits between the two tags come from git when the repository holds both tags.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease import labels
from mlrelease.errors import PreconditionError
from mlrelease.results.supply import DiffResult, PackageChange, ValueChange
from mlrelease.supply import documents, provenance, sbom

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest


def diff_releases(
    settings: Settings, before: str, after: str, *, key_file: Path | None = None
) -> DiffResult:
    """The changes from release `before` to release `after` (tags in the registry)."""
    from mlrelease.registry.target import open_target

    target = open_target(settings, key_file=key_file)
    old, new = _release(target, before), _release(target, after)
    old_sbom, new_sbom = _sbom(target, old, before), _sbom(target, new, after)
    values = [
        *_model_changes(old_sbom, new_sbom),
        ValueChange(
            "model metric",
            target.image_labels(old.digest).get(labels.MODEL_METRIC),
            target.image_labels(new.digest).get(labels.MODEL_METRIC),
        ),
        ValueChange("base image", _base(target, old), _base(target, new)),
        ValueChange(
            "compressed size",
            str(old.compressed_size_bytes),
            str(new.compressed_size_bytes),
        ),
        ValueChange("uncompressed size", sbom.image_size(old_sbom), sbom.image_size(new_sbom)),
    ]
    return DiffResult(
        before=before,
        after=after,
        before_digest=old.digest,
        after_digest=new.digest,
        packages=tuple(package_changes(old_sbom, new_sbom)),
        values=tuple(values),
        commits=_commits(settings, before, after),
    )


def _commits(settings: Settings, before: str, after: str) -> tuple[str, ...] | None:
    """The commits from `before` to `after`, from git where the project is a repository that
    holds both tags; None where it is not (the registry alone cannot say)."""
    from mlrelease.errors import MlreleaseError
    from mlrelease.versions.git import GitRepo

    try:
        found = GitRepo.discover(settings.root).commits_between(before, after)
    except MlreleaseError:
        return None
    return tuple(found) if found is not None else None


def package_changes(before: dict[str, Any], after: dict[str, Any]) -> list[PackageChange]:
    """The packages of two CycloneDX documents that were added, removed or changed."""
    old, new = _packages(before), _packages(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            kind, name = key
            changes.append(PackageChange(kind, name, old.get(key), new.get(key)))
    return changes


def _packages(document: dict[str, Any]) -> dict[tuple[str, str], str | None]:
    found: dict[tuple[str, str], str | None] = {}
    for component in sbom.components_of(document):
        if component.kind in ("model",) or not component.purl:
            continue
        name = re.sub(r"[-_.]+", "-", component.name).lower()
        found[(component.kind, name)] = component.version
    return found


def _model_changes(before: dict[str, Any], after: dict[str, Any]) -> list[ValueChange]:
    def models(document: dict[str, Any]) -> dict[str, str | None]:
        return {c.name: c.sha256 for c in sbom.components_of(document) if c.kind == "model"}

    old, new = models(before), models(after)
    return [
        ValueChange(f"model {path} sha256", old.get(path), new.get(path))
        for path in sorted(set(old) | set(new))
    ]


def _release(target: Target, tag: str) -> Manifest:
    digest = target.resolve(tag)
    manifest = target.registry.manifest(target.repository.path, digest) if digest else None
    if manifest is None:
        raise PreconditionError(
            f"{target.ref(tag)} is not in the registry", hint="name a released version"
        )
    return manifest


def _sbom(target: Target, manifest: Manifest, tag: str) -> dict[str, Any]:
    found = documents.find(target, manifest.digest, sbom.MEDIA_TYPE)
    if found is None:
        raise PreconditionError(
            f"{target.ref(tag)} has no SBOM attached",
            hint="releases pushed with a signing key carry one (set MLRELEASE_SIGNING_KEY)",
        )
    document: dict[str, Any] = json.loads(found.data)
    return document


def _base(target: Target, manifest: Manifest) -> str | None:
    """The base image digest: the image's label, else the provenance's resolved dependency."""
    path = target.repository.path
    config = target.registry.blob(path, manifest.config_digest) if manifest.config_digest else None
    image_labels = ((json.loads(config).get("config") or {}).get("Labels") or {}) if config else {}
    if image_labels.get(labels.BASE_DIGEST):
        return str(image_labels[labels.BASE_DIGEST])
    found = documents.find(target, manifest.digest, provenance.MEDIA_TYPE)
    if found is None:
        return None
    statement = json.loads(found.data)
    definition = (statement.get("predicate") or {}).get("buildDefinition") or {}
    for dependency in definition.get("resolvedDependencies") or []:
        if str(dependency.get("uri", "")).startswith("pkg:docker/"):
            digest = dependency.get("digest") or {}
            return next((f"{k}:{v}" for k, v in digest.items()), None)
    return None
