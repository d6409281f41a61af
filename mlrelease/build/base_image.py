"""Which base image a build starts from, and how a configured `base_image` is applied.

`base_image` stands for the image the runtime (last) stage derives from, following
`FROM builder` to the stage it names; when that is `scratch`, for the first stage's base, the
one that does the work. It is applied only when someone set it (a flag, a variable, the
file), never as a default over the Dockerfile's own choice, and by one of two means:

- the base comes from a global ARG (`ARG BASE=python:3.11-slim`, `FROM ${BASE}`): that ARG is
  passed as a build argument, whatever its name. An ARG the Dockerfile does not declare is never
  passed (the classic builder warns about unconsumed arguments).
- the base is literal (`FROM python:3.11-slim`): the build reads a rewritten copy of the
  Dockerfile in which every FROM naming that image names `base_image` instead; the user's file
  is never touched.

A base computed otherwise (`FROM ${REGISTRY}/python:${TAG}`), or one that does not exist
(`FROM scratch` alone), cannot take `base_image`: that is a ConfigError (exit 2) giving the
ARG/FROM edit that would make it work, never a build that quietly ignores the setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlrelease.build.dockerfile import Dockerfile, Stage
from mlrelease.errors import ConfigError

if TYPE_CHECKING:
    import docker

_ONE_ARG = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_FROM_LINE = re.compile(r"(?i)(\s*FROM\s+(?:--\S+\s+)*)(\S+)")
SCRATCH = "scratch"
_SUGGESTED_ARG = "BASE_IMAGE"


@dataclass(frozen=True)
class BasePlan:
    """How a build gets its base: the build arguments to pass, the rewritten Dockerfile to
    build from (None: the user's own), and the final stage's base as it will be built."""

    name: str | None  # None: the final stage is FROM scratch, or its base is not known
    buildargs: Mapping[str, str] = field(default_factory=dict)
    dockerfile_text: str | None = None
    how: str = "the Dockerfile's own"  # for people: "build argument BASE", "FROM rewritten"


def plan_base(
    dockerfile: Dockerfile, text: str, base_image: str | None, source: str = "configuration"
) -> BasePlan:
    """How `dockerfile` (whose text is `text`) builds on `base_image`, None when it was not
    configured; ConfigError when the configured base cannot be applied."""
    if not dockerfile.stages:
        return BasePlan(None)
    defaults = global_args(dockerfile)
    final = _root(dockerfile, dockerfile.stages[-1])
    if base_image is None:
        return BasePlan(_resolve(final.base, defaults))
    target = _target(dockerfile)
    if target is None:
        raise ConfigError(
            f"base_image {base_image} (from {source}) cannot be applied: every stage of the "
            "Dockerfile is FROM scratch, so there is no base image to replace",
            hint="unset base_image (--base-image, MLRELEASE_BASE_IMAGE, [tool.mlrelease])",
        )
    expression = target.base
    if "$" not in expression:
        rewritten = _rewrite(dockerfile, text, expression, base_image, source)
        name = base_image if final.base == expression else _resolve(final.base, defaults)
        return BasePlan(name, dockerfile_text=rewritten, how=f"FROM {expression} rewritten")
    match = _ONE_ARG.fullmatch(expression)
    arg = (match[1] or match[2]) if match else None
    if not arg or arg not in defaults:
        raise _cannot_apply(dockerfile, expression, base_image, source, defaults, arg)
    values = {**defaults, arg: base_image}
    return BasePlan(
        _resolve(final.base, values), buildargs={arg: base_image}, how=f"build argument {arg}"
    )


def global_args(dockerfile: Dockerfile) -> dict[str, str | None]:
    """The ARGs before the first FROM (the only ones a FROM sees), with their defaults."""
    found: dict[str, str | None] = {}
    for instruction in dockerfile.preamble:
        if instruction.keyword != "ARG":
            continue
        for word in instruction.arguments.split():
            name, equals, value = word.partition("=")
            found[name] = value.strip("\"'") if equals else None
    return found


def _root(dockerfile: Dockerfile, stage: Stage) -> Stage:
    """The stage whose FROM names an image, following `FROM <earlier stage>` (case-blind)."""
    earlier = {s.name.lower(): s for s in dockerfile.stages if s.name}
    seen: set[str] = set()
    while stage.base.lower() in earlier and stage.base.lower() not in seen:
        seen.add(stage.base.lower())
        stage = earlier[stage.base.lower()]
    return stage


def _target(dockerfile: Dockerfile) -> Stage | None:
    """The stage whose base `base_image` replaces (see the module docstring)."""
    final = _root(dockerfile, dockerfile.stages[-1])
    if final.base.lower() != SCRATCH:
        return final
    roots = (_root(dockerfile, stage) for stage in dockerfile.stages)
    return next((root for root in roots if root.base.lower() != SCRATCH), None)


def _resolve(expression: str, values: Mapping[str, str | None]) -> str | None:
    """`expression` with `$NAME`/`${NAME}` replaced; None for scratch or an unknown value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = values.get(match[1] or match[2])
        missing = missing or found is None
        return found or ""

    resolved = _ONE_ARG.sub(value, expression)
    if missing or not resolved or resolved.lower() == SCRATCH:
        return None
    return resolved


def _rewrite(dockerfile: Dockerfile, text: str, literal: str, base_image: str, source: str) -> str:
    """`text` with every FROM that names `literal` naming `base_image` instead."""
    lines = text.splitlines(keepends=True)
    for stage in dockerfile.stages:
        if stage.base != literal:
            continue
        match = _FROM_LINE.match(lines[stage.line - 1])
        if match is None or match[2] != literal:  # the image is on a continuation line
            raise ConfigError(
                f"base_image {base_image} (from {source}) cannot be applied: the FROM at line "
                f"{stage.line} does not name its image on its first line",
                hint=f"write line {stage.line} as one line: `FROM {literal} ...`",
            )
        line = lines[stage.line - 1]
        lines[stage.line - 1] = match[1] + base_image + line[match.end() :]
    return "".join(lines)


def _cannot_apply(
    dockerfile: Dockerfile,
    expression: str,
    base_image: str,
    source: str,
    defaults: Mapping[str, str | None],
    arg: str | None,
) -> ConfigError:
    """The refusal, with the two-line edit that makes the base one global ARG."""
    name = arg or _SUGGESTED_ARG
    default = _resolve(expression, defaults) or base_image
    stages = [stage for stage in dockerfile.stages if stage.base == expression]
    first = dockerfile.stages[0].line
    edits = [f"`ARG {name}={default}` before line {first}"]
    for stage in stages:
        alias = f" AS {stage.name}" if stage.name else ""
        edits.append(f"line {stage.line} `FROM ${{{name}}}{alias}`")
    why = (
        f"{arg} is not declared by an ARG before the first FROM"
        if arg
        else "it is computed from several parts"
    )
    return ConfigError(
        f"base_image {base_image} (from {source}) cannot be applied to `FROM {expression}` "
        f"(line {stages[0].line}): {why}",
        hint="make the base one argument: " + "; ".join(edits),
    )


@dataclass(frozen=True)
class EngineBase:
    """What the engine knows of a base image: its ID, size and registry digest (each None when
    the engine does not have the image, or, for the digest, never pulled it from a registry)."""

    image_id: str | None = None
    size_bytes: int | None = None
    digest: str | None = None


def engine_base(client: docker.DockerClient, name: str | None) -> EngineBase:
    """The engine's view of the base image `name`; empty when it lacks the image (the builder
    will pull it) or `name` is None."""
    from docker.errors import DockerException

    if name is None:
        return EngineBase()
    try:
        image = client.images.get(name)
    except DockerException:
        return EngineBase()
    return EngineBase(image.id, int(image.attrs.get("Size", 0)), repo_digest(name, image.attrs))


def repo_digest(name: str, attrs: Mapping[str, object]) -> str | None:
    """The `sha256:...` digest under which the registry serves `name`, from an image's
    `RepoDigests` (`python@sha256:...`); None for an image that never came from a registry."""
    if "@" in name:
        return name.partition("@")[2]
    repository = _repository(name)
    digests = attrs.get("RepoDigests")
    for entry in digests if isinstance(digests, list) else []:
        entry_repository, _, digest = str(entry).partition("@")
        if _repository(entry_repository) == repository:
            return digest
    return None


def _repository(name: str) -> str:
    """`python` of `python:3.11-slim` or `docker.io/library/python:3.11`, as the engine
    lists it in RepoDigests; `host:5000/a/b` of `host:5000/a/b:tag`."""
    head, _, last = name.rpartition("/")
    repository = f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if repository.startswith(prefix):
            return repository[len(prefix) :]
    return repository
