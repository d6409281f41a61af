"""The one-command release: bump, build at the new tag, smoke-test, push and verify.

It stops at the first failure, saying what was done and how to resume; run again, it resumes:
when HEAD already carries a version tag whose release is not yet verified in the registry, that
version is released instead of bumping a second time. Every step it reuses is idempotent: the
build of an unchanged commit comes from the cache, and a push of an image that is already in the
registry sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import MlreleaseError
from mlrelease.results.pipeline import PipelineResult
from mlrelease.versions import bump
from mlrelease.versions.git import GitRepo
from mlrelease.versions.rules import Part, release_tag

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.results.push import PushEvent
    from mlrelease.results.scan import ScanResult


def run_release(
    settings: Settings,
    part: Part,
    *,
    key_file: Path | None = None,
    smoke: bool = True,
    on_step: Callable[[str], None],
    on_log: Callable[[str], None],
    on_push: Callable[[PushEvent], None],
) -> PipelineResult:
    """Release the next `part` version of HEAD (or resume an unfinished one)."""
    from mlrelease.build.image import build, smoke_image
    from mlrelease.registry.target import require_destination
    from mlrelease.supply.publish import push_signed

    require_destination(settings)
    repo = GitRepo.discover(settings.root)
    done: list[str] = []
    head = repo.head_commit()
    tag = release_tag(repo.tags_at(head)) if head else None
    resumed = tag is not None
    if tag is not None:
        on_step(f"resuming the release of {tag}: HEAD already carries it")
    else:
        bumped = bump.bump(settings.root, part)
        tag = bumped.tag
        done.append(f"tagged {tag}")
        on_step(f"tagged {tag} at {bumped.commit[:7]} (previous {bumped.previous})")
    resume = f"rerun `mlrelease release {part.value}`: it resumes at {tag}"
    try:
        built = build(settings, on_log=on_log)
        in_engine = built.digest is None  # Cloud Build leaves it in the registry, at sha-<7>
        if in_engine and f"{settings.image}:{tag}" not in built.tags:
            raise MlreleaseError(f"the build of {tag} did not carry the tag {tag}")
        done.append(f"built {built.tags[0]}")
        on_step(f"built {built.tags[0]} for {tag} ({built.size_bytes / 1e6:.1f} MB)")
        if smoke and in_engine:
            smoked = smoke_image(settings, f"{settings.image}:{tag}")
            done.append("smoke-tested")
            on_step(f"smoke test passed (up after {smoked.startup_seconds:.1f} s)")
        elif smoke:
            on_step(f"smoke test skipped: builder {built.builder} leaves no image in an engine")
        else:
            on_step("smoke test skipped (--no-smoke)")
        pushed = push_signed(settings, tag, key_file=key_file, on_progress=on_push)
    except MlreleaseError as err:
        so_far = ", ".join(done) if done else "nothing"
        raise type(err)(
            f"release {tag} stopped: {err.message} (done: {so_far})",
            hint=f"{err.hint}; then {resume}",
        ) from err
    scanned = _scan(settings, tag, pushed.ref, key_file, on_step) if settings.scan else None
    return PipelineResult(
        version=tag.removeprefix("v"),
        tag=tag,
        resumed=resumed,
        image=pushed.ref,
        digest=pushed.digest or "",
        pushed=pushed.pushed,
        push=pushed,
        scan=scanned,
    )


def _scan(
    settings: Settings, tag: str, image: str, key_file: Path | None, on_step: Callable[[str], None]
) -> ScanResult:
    """The pushed release's findings (`scan = true`). The image is out by now: a failure says
    so, and rerunning the scan alone is the way on."""
    from mlrelease.supply.scan import scan_release

    on_step(f"scanning {image}: waiting for Container Scanning's findings")
    try:
        return scan_release(settings, tag, key_file=key_file, on_progress=on_step)
    except MlreleaseError as err:
        raise type(err)(
            f"release {tag} is pushed ({image}), but its scan failed: {err.message}",
            hint=err.hint,
            detail=err.detail,
        ) from err
