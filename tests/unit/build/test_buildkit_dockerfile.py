"""This repository's Dockerfile.buildkit is its Dockerfile with a pip cache mount, nothing more.

BuildKit builds Dockerfile.buildkit (`buildkit_dockerfile`), the classic builder Dockerfile: the
two must make the same image, so any other difference between them fails here.
"""

from __future__ import annotations

from pathlib import Path

from mlrelease.build.dockerfile import buildkit_only, parse
from mlrelease.config.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
CACHE_MOUNT = "type=cache,target=/root/.cache/pip"


def differences(classic_text: str, buildkit_text: str) -> list[str]:
    """How the BuildKit Dockerfile departs from the classic one, once its pip install with a
    cache mount is read as the classic `pip install --no-cache-dir`; empty when it does not."""
    classic, buildkit = parse(classic_text), parse(buildkit_text)
    found = []
    if classic.directives != buildkit.directives:
        found.append(f"parser directives: {classic.directives} != {buildkit.directives}")
    mounts = 0
    for ours, theirs in zip(classic.instructions, buildkit.instructions, strict=False):
        flags, words = dict(theirs.flags), theirs.arguments.split()
        expected = ours.arguments.split()
        if theirs.keyword == "RUN" and flags.get("mount") == CACHE_MOUNT:
            mounts += 1
            del flags["mount"]
            # The pip cache now lives in the mount, not in the layer: --no-cache-dir goes.
            if "--no-cache-dir" not in expected:
                found.append(f"line {ours.line} `{ours.text}` has no --no-cache-dir to drop")
            expected = [word for word in expected if word != "--no-cache-dir"]
        if (ours.keyword, ours.flags, expected) != (theirs.keyword, flags, words):
            found.append(f"line {ours.line} `{ours.text}` != line {theirs.line} `{theirs.text}`")
    if len(classic.instructions) != len(buildkit.instructions):
        found.append(
            f"{len(classic.instructions)} instructions != {len(buildkit.instructions)} instructions"
        )
    if mounts != 1:
        found.append(f"{mounts} RUN steps mount the pip cache ({CACHE_MOUNT}), not one")
    return found


def test_dockerfile_buildkit_is_the_dockerfile_with_a_pip_cache_mount() -> None:
    classic = (REPO / "Dockerfile").read_text()
    buildkit = (REPO / "Dockerfile.buildkit").read_text()

    assert differences(classic, buildkit) == []
    assert buildkit_only(parse(classic)) == []  # the classic builder can build Dockerfile
    assert [use.what for use in buildkit_only(parse(buildkit))] == ["`RUN --mount`"]
    # BuildKit would read this file instead of .dockerignore: both builds share .dockerignore.
    assert not (REPO / "Dockerfile.buildkit.dockerignore").exists()


def test_the_repository_builds_dockerfile_buildkit_with_buildkit_and_dockerfile_else() -> None:
    settings = load_settings(REPO, env={})

    assert settings.source("buildkit_dockerfile") == (
        "pyproject.toml [tool.mlrelease] buildkit_dockerfile"
    )
    assert settings.for_builder("buildkit").path("dockerfile") == REPO / "Dockerfile.buildkit"
    assert settings.for_builder("classic").path("dockerfile") == REPO / "Dockerfile"


def test_any_other_difference_is_found() -> None:
    classic = (REPO / "Dockerfile").read_text()
    buildkit = (REPO / "Dockerfile.buildkit").read_text()
    drifted = {
        "a changed step": buildkit.replace("USER 10001", "USER 10002"),
        "a step more": buildkit + "RUN echo more\n",
        "no cache mount": buildkit.replace(f"--mount={CACHE_MOUNT} ", ""),
        "another pip flag": buildkit.replace("--no-warn-script-location", "--pre"),
        "a parser directive": "# syntax=docker/dockerfile:1\n" + buildkit,
    }

    found = {name: differences(classic, text) for name, text in drifted.items()}

    assert all(found.values()), found
