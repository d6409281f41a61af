"""`builder`: which builder `mlrelease build` would use, why, what Dockerfile it builds and
what its cache can do."""

from __future__ import annotations

from mlrelease.doctor.frame import Outcome, Project, fail, ok

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
