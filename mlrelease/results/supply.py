"""Results of `sbom`, `verify`, `diff` and of signing a release: what an image holds, the
checks of a release's proofs, the changes between two releases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrelease.errors import ExitCode

CHECK_STATUSES = ("ok", "fail", "missing")


@dataclass(frozen=True)
class SbomComponent:
    """One entry of an SBOM: a package (`pypi`, `deb`) or a model file (`model`)."""

    kind: str
    name: str
    version: str | None
    purl: str | None
    licence: str | None = None
    sha256: str | None = None  # model files
    sklearn_version: str | None = None  # model files: the scikit-learn they were trained with

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "licence": self.licence,
            "sha256": self.sha256,
            "sklearn_version": self.sklearn_version,
        }


@dataclass(frozen=True)
class SbomResult:
    """The SBOM of an image (`mlrelease sbom`): where it is and what it lists."""

    image: str
    image_id: str
    path: str | None  # the stored document; None when it came from the registry
    spec_version: str
    components: tuple[SbomComponent, ...]
    warnings: tuple[str, ...] = ()

    def count(self, kind: str) -> int:
        return sum(1 for component in self.components if component.kind == kind)

    def to_data(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "image_id": self.image_id,
            "path": self.path,
            "format": "CycloneDX",
            "spec_version": self.spec_version,
            "components": [component.to_data() for component in self.components],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class AttachResult:
    """A release's signature, SBOM and provenance, stored in the registry beside the image."""

    image: str  # HOST/PATH@DIGEST
    digest: str
    signature_tag: str  # sha256-<hex>.sig
    sbom_digest: str | None  # the artifact manifests (None: not attached)
    provenance_digest: str | None
    referrers: str  # how they are found: "tag-schema sha256-<hex>" or "referrers API"
    warnings: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "signature_tag": self.signature_tag,
            "sbom_digest": self.sbom_digest,
            "provenance_digest": self.provenance_digest,
            "referrers": self.referrers,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class VerifyCheck:
    """One check of `mlrelease verify`: ok, fail (a mismatch) or missing (no document)."""

    name: str
    status: str
    text: str

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "text": self.text}


@dataclass(frozen=True)
class VerifyResult:
    """The checks of a release's proofs. Exit 1 on a mismatch, else 3 on a missing document."""

    ref: str
    digest: str
    checks: tuple[VerifyCheck, ...]

    @property
    def exit_code(self) -> int:
        statuses = {check.status for check in self.checks}
        if "fail" in statuses:
            return int(ExitCode.FAILED)
        if "missing" in statuses:
            return int(ExitCode.PRECONDITION)
        return int(ExitCode.OK)

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "digest": self.digest,
            "verified": self.exit_code == 0,
            "checks": [check.to_data() for check in self.checks],
        }


@dataclass(frozen=True)
class PackageChange:
    """A package that differs between two releases (`before` None: added; `after` None:
    removed)."""

    kind: str  # pypi, deb
    name: str
    before: str | None
    after: str | None

    @property
    def change(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class ValueChange:
    """A value of a release that may differ: a model's sha256, the base image, the size."""

    name: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "changed": self.changed,
        }


@dataclass(frozen=True)
class DiffResult:
    """What changed between two releases, read from the registry alone (`mlrelease diff`)."""

    before: str  # the tags
    after: str
    before_digest: str
    after_digest: str
    packages: tuple[PackageChange, ...]
    values: tuple[ValueChange, ...]  # models, base image, compressed size
    commits: tuple[str, ...] | None = None  # `<sha7> <subject>`, newest first; None: no git

    def to_data(self) -> dict[str, Any]:
        return {
            "before": {"tag": self.before, "digest": self.before_digest},
            "after": {"tag": self.after, "digest": self.after_digest},
            "packages": [change.to_data() for change in self.packages],
            "values": [value.to_data() for value in self.values],
            "commits": list(self.commits) if self.commits is not None else None,
        }
