"""`builder`: which builder `mlrelease build` would use, why, what Dockerfile it builds and
what its cache can do; `dockerfile.buildkit`: no BuildKit-only syntax in a Dockerfile the
classic builder may build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.build.dockerfile import BuildKitUse, buildkit_only, read
from mlrelease.doctor.frame import Outcome, Project, fail, ok

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

_CACHE_NEEDS = (
    "cache: --cache-from IMAGE and --cache-to type=inline work with any BuildKit CLI; "
    "type=registry, type=gha and type=local exports need buildx with a docker-container "
    "builder; the classic builder reads only local images (pulled first)"
)


def check_builder(project: Project) -> Outcome:
    """The builder `builder` picks (auto: BuildKit where a docker CLI can run it)."""
    from mlrelease.errors import MlreleaseError

    try:
        choice = project.builder
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    buildx = (
        f"buildx {choice.cli.buildx_version} ({choice.cli.driver} driver)"
        if choice.cli and choice.cli.buildx_version
        else "no buildx"
    )
    exports = (
        f"; --cache-to: {', '.join(choice.cli.cache_exports)}" if choice.cli is not None else ""
    )
    builds = f"; builds {project.relative(project.dockerfile_path)}"
    if project.build_settings.dockerfile != project.settings.dockerfile:
        builds += " (buildkit_dockerfile)"
    return ok(f"{choice.name}: {choice.reason}; {buildx}{exports}{builds}. {_CACHE_NEEDS}")


def check_no_buildkit_syntax(project: Project) -> Outcome:
    """BuildKit-only syntax only in a Dockerfile no classic build reads: the classic builder
    (`builder = classic`, or `auto` where no docker CLI can run BuildKit) rejects it."""
    settings = project.settings
    path = project.dockerfile_path
    uses = buildkit_only(project.dockerfile)
    # `auto` falls back to the classic builder, which builds `dockerfile`, on a machine
    # without a BuildKit CLI; `buildkit` (or cloud-build) never does.
    classic = settings.path("dockerfile") if settings.builder in ("classic", "auto") else None
    if path == classic:
        if uses:
            return _rejected(project.relative(path), uses, settings)
        return ok("no BuildKit-only syntax")
    shown = project.relative(path)
    if settings.builder == "auto":
        why = "auto picks BuildKit here, which builds `buildkit_dockerfile`"
    else:
        why = f"builder = {settings.builder}, from {settings.source('builder')}"
    found = f"{shown}: no BuildKit-only syntax"
    if uses:
        found = (
            f"{shown} has BuildKit-only syntax ({_listed(uses)}); only BuildKit builds it ({why})"
        )
    if classic is None:
        return ok(found)
    fallback = project.relative(classic)
    try:
        fallback_uses = buildkit_only(read(classic))
    except (OSError, UnicodeDecodeError):
        return fail(
            f"{found}; but no readable {fallback}, which the classic builder builds where no "
            "docker CLI can run BuildKit (builder = auto)",
            f'write {fallback} without BuildKit-only syntax, or set `builder = "buildkit"` in '
            "[tool.mlrelease] so that a machine without a BuildKit CLI fails early",
        )
    if fallback_uses:
        return _rejected(fallback, fallback_uses, settings, also=found)
    return ok(
        f"{found}; {fallback}, which the classic builder builds where no docker CLI can "
        "run BuildKit, has none"
    )


def _rejected(shown: str, uses: list[BuildKitUse], settings: Settings, also: str = "") -> Outcome:
    """The classic builder may build `shown`, which has BuildKit-only syntax: fail, with the
    edit per line, or the settings that leave that file to BuildKit."""
    if settings.builder == "classic":
        when = "builder = classic"
    else:
        when = "builder = auto, where no docker CLI can run BuildKit"
    keep = (
        f"; BuildKit builds {settings.buildkit_dockerfile} (`buildkit_dockerfile`): that "
        "syntax belongs there"
    )
    if settings.buildkit_dockerfile is None:
        keep = (
            "; or move that syntax into a Dockerfile of its own named by `buildkit_dockerfile` "
            f"in [tool.mlrelease] (BuildKit builds it, the classic builder {shown}), or set "
            '`builder = "buildkit"`'
        )
    finding = (
        f"BuildKit-only syntax in {shown}, which the classic builder ({when}) builds and "
        f"rejects: {_listed(uses)}"
    )
    edits = "; ".join(_buildkit_fix(use.line, use.what) for use in uses)
    return fail(f"{also}; {finding}" if also else finding, edits + keep)


def _listed(uses: list[BuildKitUse]) -> str:
    return "; ".join(f"line {use.line}: {use.what}" for use in uses)


def _buildkit_fix(line: int, what: str) -> str:
    if "syntax=" in what:
        return f"delete line {line}"
    if "heredoc" in what:
        return f"rewrite line {line} as one `RUN a && b` (or COPY a script) instead of a heredoc"
    if "--mount" in what:
        return f"drop `--mount=...` from line {line} (use `pip install --no-cache-dir`)"
    flag = what.strip("`").split(" ", 1)[-1]
    return f"drop `{flag}` from line {line}"
