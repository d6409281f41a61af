"""`mlrelease build`, `size` and `smoke` as use cases: the builder (builders.py chooses; the
classic builder is classic.py, BuildKit buildkit.py, Cloud Build cloud_build.py), the plan,
the build, the size history and budget, the smoke test and its record.

BuildKit-only syntax is refused before the classic builder's engine is asked.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease import labels as label_keys
from mlrelease.build.base_image import BasePlan, EngineBase, engine_base
from mlrelease.build.builders import BuilderChoice, build_secrets, check_classic, choose_builder
from mlrelease.build.classic import build_image, cache_sources, image_layers
from mlrelease.build.cloud_build import check_cloud_request
from mlrelease.build.dockerfile import buildkit_only
from mlrelease.build.dockerfile import read as read_dockerfile
from mlrelease.build.plan import BuildPlan, head_revision, plan_build
from mlrelease.build.sizes import budget_error, check_budget, compare
from mlrelease.engine import docker_client, isolated_docker_config
from mlrelease.errors import (
    BuildKitSyntax,
    ConfigError,
    EngineError,
    MlreleaseError,
    PreconditionError,
    SmokeTestError,
)
from mlrelease.history import (
    BuildRecord,
    history_path,
    read_history,
    record_build,
    record_smoke,
    recorded_before,
)
from mlrelease.results.build import BuildResult, SizeReport, SmokeResult
from mlrelease.versions.git import GitRepo

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings


def check_build_inputs(context: Path, path: Path, builder: str = "classic") -> None:
    """Before the engine is asked: the context is a directory, the Dockerfile is there, and,
    for the classic builder, it has no BuildKit-only syntax (BuildKitSyntax, exit 2)."""
    if not context.is_dir():
        raise PreconditionError(
            f"the build context {context} is not a directory",
            hint="set `context` in [tool.mlrelease] to the directory the Dockerfile builds from "
            "(relative to the project root)",
        )
    if not path.is_file():
        raise PreconditionError(
            f"no Dockerfile at {path}",
            hint="run from the repository root or set `dockerfile`/`context` in [tool.mlrelease]",
        )
    if builder in ("buildkit", "cloud-build"):  # Cloud Build's docker step runs BuildKit
        return
    try:
        uses = buildkit_only(read_dockerfile(path))
    except (OSError, UnicodeDecodeError) as err:
        raise PreconditionError(f"cannot read {path}: {err}") from err
    if uses:
        first, more = uses[0], uses[1:]
        also = f" (also line {', '.join(str(use.line) for use in more)})" if more else ""
        raise BuildKitSyntax(
            f"{path.name} line {first.line}: {first.what} needs BuildKit, which docker-py's "
            f"classic builder does not have{also}",
            hint="build with `--builder buildkit` (a docker CLI with BuildKit), or rewrite the "
            "line for the classic builder",
        )


def smoke_image(
    settings: Settings, ref: str | None = None, *, client: docker.DockerClient | None = None
) -> SmokeResult:
    """Smoke-test `ref` (default: HEAD's build) as [tool.mlrelease.smoke] says, and record the
    outcome against its image ID in the build history, where `push` looks for it."""
    from mlrelease.build.smoke import smoke_test

    ref = default_image(settings) if ref is None else ref
    try:
        result = smoke_test(ref, settings.smoke, client=client)
    except SmokeTestError:
        _record_smoke(settings, ref, False, client)
        raise
    _record_smoke(settings, ref, True, client)
    return result


def _record_smoke(
    settings: Settings, ref: str, passed: bool, client: docker.DockerClient | None
) -> None:
    from docker.errors import DockerException

    try:
        image_id = (client or docker_client()).images.get(ref).id
        record_smoke(settings, image_id, passed=passed)
    except (DockerException, EngineError, OSError):
        pass  # the outcome is reported either way; only its record is lost


def default_image(settings: Settings) -> str:
    """The reference `mlrelease build` gives HEAD first: `IMAGE:sha-<7>[-dirty]`."""
    return f"{settings.image}:{head_revision(GitRepo.discover(settings.root)).tag}"


def build(
    settings: Settings,
    *,
    no_cache: bool = False,
    smoke: bool = False,
    on_log: Callable[[str], None],
) -> BuildResult:
    """Build the service image for HEAD as `settings` describe it, record its size in the
    history, weigh it against the budget and, with `smoke`, smoke-test it.

    Over the budget or failing the smoke test, the image stays built and tagged and the
    result carries the failure (exit 1).
    """

    choice = choose_builder(settings.builder, settings.source("builder"), os.environ)
    settings = settings.for_builder(choice.name)
    secrets = build_secrets(settings.secrets, settings.root, settings.source("secrets"))
    # What the builder cannot do is refused before anything is sent.
    refuse = {"cloud-build": check_cloud_request, "classic": check_classic}.get(choice.name)
    if refuse is not None:
        refuse(
            cache_from=settings.cache_from,
            cache_to=settings.cache_to,
            secrets=bool(secrets),
            platform=settings.platform,
        )
    check_build_inputs(settings.path("context"), settings.path("dockerfile"), choice.name)
    plan = plan_build(settings, GitRepo.discover(settings.root))
    plan = replace(plan, labels={**plan.labels, label_keys.BUILDER: choice.name})
    started = time.monotonic()
    if choice.name == "cloud-build":
        built, base, client = _build_on_cloud(settings, plan, no_cache=no_cache, on_log=on_log)
    else:
        built, base, client = _build_in_engine(
            settings, plan, choice, secrets, no_cache=no_cache, on_log=on_log
        )
    duration = time.monotonic() - started
    warnings = list(built.warnings)
    record = BuildRecord(
        image=settings.image,
        ref=built.ref,
        tags=built.tags,
        image_id=built.image_id,
        size_bytes=built.size_bytes,
        time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        commit=plan.commit,
        version=plan.version,
    )
    previous = last_release = None
    try:
        previous, last_release = compare(read_history(settings), settings.image, built.size_bytes)
        record_build(settings, record)
    except OSError as err:  # the image is built: a history that cannot be kept is no failure
        warnings.append(f"the build history {history_path(settings)}: {err.strerror or err}")
    budget = check_budget(settings, built.size_bytes)
    failure: MlreleaseError | None = budget_error(built.ref, built.size_bytes, budget)
    smoked = None
    if smoke and client is None:
        warnings.append(
            "not smoke-tested: the image is in the registry, not in a local engine "
            "(`mlrelease smoke` on a machine with one)"
        )
    elif smoke and failure is None:
        try:
            smoked = smoke_image(settings, built.ref, client=client)
        except SmokeTestError as err:
            failure = err
    return replace(
        built,
        base_image=plan.base.name,
        base_size_bytes=base.size_bytes,
        base_image_id=base.image_id,
        base_digest=base.digest,
        model=plan.model,
        duration_s=duration,
        previous=previous,
        last_release=last_release,
        budget=budget,
        warnings=tuple(warnings),
        smoke=smoked,
        failure=failure,
    )


def _build_in_engine(
    settings: Settings,
    plan: BuildPlan,
    choice: BuilderChoice,
    secrets: tuple[tuple[str, str], ...],
    *,
    no_cache: bool,
    on_log: Callable[[str], None],
) -> tuple[BuildResult, EngineBase, docker.DockerClient]:
    """The build on the local engine, by the classic builder or a BuildKit CLI."""
    cache_from = settings.cache_from
    # BuildKit reads its cache sources from the registry itself; docker-py needs them local.
    usable, warnings = cache_sources(cache_from) if choice.cli is None else (list(cache_from), [])
    with isolated_docker_config():
        client = docker_client()
        base = engine_base(client, plan.base.name)
        image_labels = dict(plan.labels)
        if base.digest:
            image_labels[label_keys.BASE_DIGEST] = base.digest
        with _dockerfile_for(settings, plan.base) as dockerfile:
            if choice.cli is not None:
                from mlrelease.build.buildkit import build_with_cli

                built = build_with_cli(
                    choice.cli,
                    context=settings.path("context"),
                    dockerfile=dockerfile,
                    tags=plan.tags,
                    buildargs=plan.buildargs,
                    labels=image_labels,
                    network=settings.build_network,
                    no_cache=no_cache,
                    cache_from=usable,
                    cache_to=settings.cache_to,
                    secrets=secrets,
                    platform=settings.platform,
                    on_log=on_log,
                    client=client,
                    timeout=settings.deadline_s,
                )
            else:
                built = build_image(
                    context=settings.path("context"),
                    dockerfile=dockerfile,
                    tags=plan.tags,
                    buildargs=plan.buildargs,
                    labels=image_labels,
                    network_mode=settings.build_network,
                    nocache=no_cache,
                    cache_from=usable,
                    on_log=on_log,
                    client=client,
                )
        if base.image_id is None:  # the builder pulled it: now the engine knows it
            base = engine_base(client, plan.base.name)
    built = replace(built, labels=image_labels, warnings=(*built.warnings, *warnings))
    return built, base, client


def _build_on_cloud(
    settings: Settings, plan: BuildPlan, *, no_cache: bool, on_log: Callable[[str], None]
) -> tuple[BuildResult, EngineBase, None]:
    """The build on Cloud Build, which pushes `sha-<7>` to the release repository: the
    result describes the image there (its digest, its size from the Artifact Registry API)."""
    from mlrelease.build.cloud_build import CloudBuildRequest, registry_image, run_cloud_build
    from mlrelease.registry.target import open_target

    if not settings.gcp_project:
        raise ConfigError(
            "builder cloud-build needs gcp_project: Cloud Build runs in a GCP project and "
            "pushes to its Artifact Registry",
            hint="set gcp_project (MLRELEASE_GCP_PROJECT), or use --builder buildkit",
        )
    target = open_target(settings)
    assert target.credentials is not None  # Artifact Registry: resolved by open_target
    target.preflight()
    commit_tag = plan.tags[0].rpartition(":")[2]
    remote = str(target.ref(commit_tag))
    with _dockerfile_for(settings, plan.base) as dockerfile:
        request = CloudBuildRequest(
            context=settings.path("context"),
            dockerfile=dockerfile,
            tags=(remote,),
            buildargs=plan.buildargs,
            labels=plan.labels,
            buildkit=True,
            no_cache=no_cache,
            cache_from=settings.cache_from,
        )
        built = run_cloud_build(settings, target.credentials, request, on_log)
    result = registry_image(target, built)
    return replace(result, labels=dict(plan.labels)), EngineBase(), None


@contextmanager
def _dockerfile_for(settings: Settings, base: BasePlan) -> Iterator[str]:
    """The Dockerfile argument for docker-py: the user's, relative to the context, or a
    rewritten copy outside it (docker-py sends that in the context tar under a random name),
    removed after the build."""
    if base.dockerfile_text is None:
        yield os.path.relpath(settings.path("dockerfile"), settings.path("context"))
        return
    with tempfile.TemporaryDirectory(prefix="mlrelease-dockerfile-") as directory:
        path = Path(directory) / "Dockerfile"
        path.write_text(base.dockerfile_text, encoding="utf-8")
        yield str(path)


def size_report(settings: Settings, ref: str | None = None) -> SizeReport:
    """The size of an image already in the engine (default: HEAD's build), its largest layers,
    the change against earlier builds in the history, and the budget."""
    from docker.errors import DockerException, ImageNotFound

    ref = ref or default_image(settings)
    with isolated_docker_config():
        client = docker_client()
        try:
            image = client.images.get(ref)
            layers = image_layers(image)
        except ImageNotFound as err:
            raise PreconditionError(
                f"the image {ref} is not in the engine", hint="build it with `mlrelease build`"
            ) from err
        except DockerException as err:
            raise EngineError(f"the Docker engine failed to inspect {ref}: {err}") from err
    size = int(image.attrs["Size"])
    try:
        history = recorded_before(read_history(settings), image.id)
    except OSError as err:
        raise PreconditionError(
            f"cannot read the build history {history_path(settings)}: {err.strerror or err}",
            hint="check the permissions of the .mlrelease directory",
        ) from err
    previous, last_release = compare(history, _repository(ref), size)
    budget = check_budget(settings, size)
    return SizeReport(
        ref=ref,
        image_id=image.id,
        size_bytes=size,
        layers=layers,
        previous=previous,
        last_release=last_release,
        budget=budget,
        failure=budget_error(ref, size, budget),
    )


def _repository(ref: str) -> str:
    """`ml-service` of `ml-service:sha-1a2b3c4`, `host:5000/a/b` of `host:5000/a/b:tag`."""
    name = ref.partition("@")[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]
