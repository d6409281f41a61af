"""Promote a release: copy it by digest from the release repository to another one.

Nothing is rebuilt and nothing passes through the engine: the Registry API v2 copies blobs
(mounted where both repositories share a registry host, else streamed) and then the exact
manifest bytes, so the destination's digest is the source's. The destination is checked as
push checks its target (repository, upload permission, a tag that holds another digest is
refused), the tag is created through the Artifact Registry API where there is one (which
refuses a tag that exists), and the result is verified through that API. A `carry` given by the
caller (the supply chain's: the signature, SBOM and provenance) copies what is attached to the
image once the image is there and before the tag is, so that the tag never shows a release
without its proofs; it runs on a rerun too, where the image had been promoted already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import ConfigError, PreconditionError, RegistryError, UsageError
from mlrelease.refs import ImageRef, parse
from mlrelease.registry.blobs import Repo, copy_manifest
from mlrelease.registry.v2 import RegistryClient
from mlrelease.results.promote import ArtifactCopy, BlobCopy, PromoteResult
from mlrelease.versions.rules import parse_tag

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest

# (source, destination, the promoted manifest, dry_run) -> what was done with its artifacts
Carry = Callable[["Target", "Target", "Manifest", bool], Sequence[ArtifactCopy]]


def promote_release(
    settings: Settings,
    tag: str,
    *,
    to: str | None = None,
    to_project: str | None = None,
    to_region: str | None = None,
    key_file: Path | None = None,
    dry_run: bool = False,
    on_progress: Callable[[str], None] = lambda line: None,
    carry: Carry | None = None,
) -> PromoteResult:
    """Copy the release `tag` to the destination named, as the module docstring says."""
    from mlrelease.registry.target import open_target

    if parse_tag(tag) is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    source = open_target(settings, key_file=key_file)
    destination = destination_target(settings, source, to, to_project, to_region)
    if destination.repository == source.repository:
        raise UsageError(
            f"the destination {destination.repository} is the release repository itself",
            hint="name another repository with --to, --to-project or --to-region",
        )
    manifest = source.manifest(tag)
    if manifest is None:
        raise PreconditionError(
            f"{source.ref(tag)} does not exist: there is nothing to promote",
            hint=f"push it first: `mlrelease push {tag}`",
        )
    destination.preflight()
    ref = destination.ref(tag)
    held = destination.manifest(tag)
    if held is not None and held.digest != manifest.digest:
        raise PreconditionError(
            f"{ref} already holds {held.digest}, not the release's {manifest.digest}",
            hint="the tags there are immutable: release a new version"
            if destination.immutable_tags
            else "a different image was promoted under this version; release a new version",
        )
    result = _Promotion(source, destination, tag, manifest, on_progress, carry)
    if held is not None:  # the same digest: already promoted
        result.carry(dry_run=dry_run)
        verified = _resolves(destination, tag, manifest)
        return result.outcome(promoted=False, verified=verified, dry_run=dry_run, there=True)
    result.copy(dry_run=dry_run)
    result.carry(dry_run=dry_run)
    if dry_run:
        return result.outcome(promoted=False, verified=False, dry_run=True)
    result.tag()
    _verify(destination, ref, manifest.digest)
    return result.outcome(promoted=True, verified=True)


class _Promotion:
    """One promotion's copying and what it did."""

    def __init__(
        self,
        source: Target,
        destination: Target,
        tag: str,
        manifest: Manifest,
        on_progress: Callable[[str], None],
        carried: Carry | None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.tag_name = tag
        self.manifest = manifest
        self.on_progress = on_progress
        self.carried = carried
        self.blobs: list[BlobCopy] = []
        self.manifests = 1
        self.artifacts: tuple[ArtifactCopy, ...] = ()
        self.warnings: list[str] = []

    def copy(self, *, dry_run: bool) -> None:
        def shown(blob: BlobCopy) -> None:
            action = "would be copied" if blob.action == "missing" else blob.action
            self.on_progress(f"{blob.digest[7:19]}: {action} ({blob.size_bytes} bytes)")

        self.blobs, self.manifests = copy_manifest(
            Repo(self.source.registry, self.source.repository.path),
            Repo(self.destination.registry, self.destination.repository.path),
            self.manifest,
            shown,
            dry_run=dry_run,
        )

    def carry(self, *, dry_run: bool) -> None:
        """What is attached to the image, copied (or, in a dry run, looked for) by `carry`."""
        if self.carried is not None:
            found = self.carried(self.source, self.destination, self.manifest, dry_run)
            self.artifacts = tuple(found)

    def tag(self) -> None:
        """The release tag at the copied manifest: created through the Artifact Registry API
        (refused when it exists), or by a manifest PUT on a plain registry."""
        destination, digest = self.destination, self.manifest.digest
        if destination.gar is None:
            self.warnings.append(
                f"{destination.repository.host} is a plain registry, which cannot create a tag "
                "atomically: a promotion of the same tag from elsewhere can race this one"
            )
            held = destination.create_tag(self.tag_name, self.manifest)
        else:
            held = destination.gar.create_tag(self.tag_name, digest)
        if held is not None and held != digest:
            raise PreconditionError(
                f"{destination.ref(self.tag_name)} was created by another promotion or push "
                f"while this one ran: it holds {held}, not {digest}",
                hint="release a new version; the copied image stays in the destination untagged",
            )

    def outcome(
        self, *, promoted: bool, verified: bool, dry_run: bool = False, there: bool = False
    ) -> PromoteResult:
        return PromoteResult(
            source=str(self.source.ref(self.tag_name)),
            ref=str(self.destination.ref(self.tag_name)),
            uri=self.destination.repository.repository,
            digest=self.manifest.digest,
            media_type=self.manifest.media_type,
            manifests=self.manifests,
            blobs=tuple(self.blobs),
            promoted=promoted,
            verified=verified,
            dry_run=dry_run,
            target=self.destination.kind,
            credentials_source=self.destination.credentials_source,
            warnings=tuple(self.warnings),
            artifacts=self.artifacts,
            artifacts_carried=self.carried is not None,
            already_there=there,
        )


def destination_target(
    settings: Settings,
    source: Target,
    to: str | None,
    to_project: str | None,
    to_region: str | None,
    *,
    option: str = "--to",
) -> Target:
    """Where the release goes: an Artifact Registry repository (`--to REPOSITORY`, with
    `--to-project`/`--to-region` for another project or region; `promote_to` by default), or
    a plain registry's `HOST/PATH`. `option` names the flag that said so (verify's
    `--repository` names a repository the same way)."""
    to = to or settings.promote_to
    if not (to or to_project or to_region):
        raise ConfigError(
            "promote needs a destination",
            hint="pass --to REPOSITORY (or --to-project/--to-region, or --to HOST/PATH for a "
            "plain registry), or set promote_to under [tool.mlrelease]",
        )
    if to is not None and "/" in to:
        if to_project or to_region:
            raise UsageError(
                f"{option} HOST/PATH names the whole destination; it takes no --to-project or "
                "--to-region"
            )
        return _plain_destination(settings, source, to, option)
    if source.gar is None or source.credentials is None:
        raise UsageError(
            f"the release repository {source.repository} is a plain registry: "
            "there is no Artifact Registry repository to name",
            hint=f"name the repository as HOST/PATH, e.g. {option} 127.0.0.1:5001/ml-service",
        )
    return _gar_destination(settings, source, to, to_project, to_region, option)


def _gar_destination(
    settings: Settings,
    source: Target,
    repository: str | None,
    project: str | None,
    region: str | None,
    option: str,
) -> Target:
    from mlrelease.config.keys import KEYS
    from mlrelease.registry.artifact_registry import ArtifactRegistry
    from mlrelease.registry.target import GAR_USERNAME, Target, release_repository

    checked = {}
    for spec in KEYS:  # the same rules as the settings they stand for
        value = {"repository": repository, "gcp_project": project, "region": region}.get(spec.name)
        if value is not None:
            try:
                checked[spec.name] = spec.parse(value)
            except ValueError as err:
                flag = option if spec.name == "repository" else f"--to-{spec.name.split('_')[-1]}"
                raise UsageError(f"invalid {flag} {value!r}: {err}") from None
    moved = replace(settings, **checked)
    if region and settings.source("registry_host").startswith("default"):
        moved = replace(moved, registry_host=f"{moved.region}-docker.pkg.dev")
    assert source.credentials is not None and source.token is not None
    registry = RegistryClient(
        moved.registry_host,
        username=GAR_USERNAME,
        password=source.token,
        timeout_s=settings.request_timeout_s,
        attempts=settings.attempts,
    )
    return Target(
        release_repository(moved),
        registry,
        gar=ArtifactRegistry(moved, source.credentials),
        credentials_source=source.credentials_source,
        token=source.token,
        credentials=source.credentials,
    )


def _plain_destination(settings: Settings, source: Target, text: str, option: str) -> Target:
    from mlrelease.registry.target import GAR_USERNAME, Target

    ref = parse(text)
    if ref.host is None or ref.tag or ref.digest:
        raise UsageError(
            f"{option} {text!r} is not HOST/PATH",
            hint="name a registry and repository without a tag, e.g. 127.0.0.1:5001/ml-service",
        )
    # The release registry's own credentials go to that host alone.
    same_host = ref.host == source.repository.host and source.token is not None
    registry = RegistryClient(
        ref.host,
        username=GAR_USERNAME if same_host else None,
        password=source.token if same_host else None,
        timeout_s=settings.request_timeout_s,
        attempts=settings.attempts,
    )
    return Target(ImageRef(ref.host, ref.path), registry)


def _resolves(destination: Target, tag: str, manifest: Manifest) -> bool:
    return destination.resolve(tag) == manifest.digest


def _verify(destination: Target, ref: ImageRef, digest: str) -> None:
    """RegistryError (exit 5) unless `ref`'s tag resolves, through the API, to `digest`."""
    resolved = destination.resolve(ref.tag or "")
    if resolved != digest:
        raise RegistryError(
            f"{ref} resolves to {resolved or 'nothing'} after the promotion, not to {digest}",
            hint="another promotion may have moved the tag; inspect it with `mlrelease releases`",
        )
