"""The doctor's frame: what a check is, what it is given, and how checks are run.

A check is a small function returning an `Outcome` (`ok`, `warn`, `fail`, `skip`); the frame
adds its id, title and time to make a `results.Check`. A local check gets the `Project`; a
remote check gets the run's `Remote` (the settings, and what the remote checks share). A check
that raises `Unavailable` is skipped with that reason (what it needs is missing, and another
check reports that); any other exception makes it `error` with the message, and the other
checks still run. Remote checks run concurrently, in
threads, while the local ones run in order; `--offline` skips them.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlrelease.build import dockerfile
from mlrelease.errors import ConfigError, MlreleaseError, NotAGitRepository, UsageError
from mlrelease.results.doctor import Check
from mlrelease.versions.git import GitRepo

if TYPE_CHECKING:
    from mlrelease.build.builders import BuilderChoice
    from mlrelease.config.settings import Settings


@dataclass(frozen=True)
class Outcome:
    """What a check found: its status, the finding, and the fix unless it is ok."""

    status: str
    finding: str
    fix: str = ""


def ok(finding: str) -> Outcome:
    """All is well; `finding` says what was seen (a version, a count, a path)."""
    return Outcome("ok", finding)


def warn(finding: str, fix: str) -> Outcome:
    """Works, but against the rules (fails under --strict)."""
    return Outcome("warn", finding, fix)


def fail(finding: str, fix: str) -> Outcome:
    """Broken: a release would fail or be wrong."""
    return Outcome("fail", finding, fix)


def skip(finding: str) -> Outcome:
    """Not checked, and why."""
    return Outcome("skip", finding)


class Unavailable(Exception):
    """What a check needs is missing (reported by another check): skip it with this reason."""


class Project:
    """The repository under examination, with what several checks read parsed once.

    `settings` is None when the configuration is invalid (`config_error` says why); checks that
    need it then skip. Attributes that cannot be had raise `Unavailable`.
    """

    def __init__(
        self, root: Path, settings: Settings | None, config_error: ConfigError | None = None
    ) -> None:
        self.root = root
        self._settings = settings
        self.config_error = config_error

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise Unavailable("the configuration is invalid (see config)")
        return self._settings

    def relative(self, path: Path) -> str:
        """`path` as the user sees it: relative to the project root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @cached_property
    def builder(self) -> BuilderChoice:
        """The builder `mlrelease build` would use here: `builder = auto` probes the docker CLIs
        (once per run). A PreconditionError when `buildkit` is named and none can run it."""
        from mlrelease.build.builders import choose_builder

        settings = self.settings
        return choose_builder(settings.builder, settings.source("builder"), os.environ)

    @property
    def build_settings(self) -> Settings:
        """The settings as that builder reads them: BuildKit builds `buildkit_dockerfile` when
        it is set. Only `auto` with a `buildkit_dockerfile` needs the probe."""
        settings = self.settings
        if settings.builder == "auto" and settings.buildkit_dockerfile is not None:
            return settings.for_builder(self.builder.name)
        return settings.for_builder(settings.builder)

    @property
    def dockerfile_path(self) -> Path:
        """The Dockerfile the builder would build, which the `dockerfile.*` checks read."""
        return self.build_settings.path("dockerfile")

    @cached_property
    def dockerfile(self) -> dockerfile.Dockerfile:
        """The parsed Dockerfile; Unavailable when it is missing, unreadable or has no FROM."""
        try:
            parsed = dockerfile.read(self.dockerfile_path)
        except (OSError, UnicodeDecodeError):
            raise Unavailable("no readable Dockerfile (see dockerfile.present)") from None
        if not parsed.stages:
            raise Unavailable("the Dockerfile has no FROM (see dockerfile.present)")
        return parsed

    @cached_property
    def git(self) -> GitRepo:
        """The git working tree holding the project; Unavailable outside one."""
        try:
            return GitRepo.discover(self.root)
        except NotAGitRepository:
            raise Unavailable("not a git repository (see git.repository)") from None


_T = TypeVar("_T")


class Remote:
    """What the remote checks of one doctor run get: the settings, and `shared`, which makes
    what several of them need (the credentials, an API client) once for the whole run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._made: dict[str, Any] = {}

    def shared(self, name: str, make: Callable[[], _T]) -> _T:
        """`make()` the first time `name` is asked for in this run, the same value after."""
        with self._lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LocalCheck:
    """A check of the working tree and this machine."""

    id: str
    title: str
    run: Callable[[Project], Outcome]


@dataclass(frozen=True)
class RemoteCheck:
    """A check that asks a remote service; it gets the run's `Remote` and runs concurrently."""

    id: str
    title: str
    run: Callable[[Remote], Outcome]


CheckSpec = LocalCheck | RemoteCheck


def select(
    specs: Sequence[CheckSpec], only: Iterable[str] = (), skipped: Iterable[str] = ()
) -> list[CheckSpec]:
    """The specs `--only` and `--skip` leave. A selector is an id or a prefix of ids
    (`dockerfile` selects every `dockerfile.*`); one that selects nothing is a usage error."""
    only, skipped = list(only), list(skipped)
    for selector in [*only, *skipped]:
        if not any(_selects(selector, spec.id) for spec in specs):
            known = ", ".join(spec.id for spec in specs)
            raise UsageError(
                f"no doctor check is called {selector!r}",
                hint=f"name checks or their prefixes from: {known}",
            )
    return [
        spec
        for spec in specs
        if (not only or any(_selects(s, spec.id) for s in only))
        and not any(_selects(s, spec.id) for s in skipped)
    ]


def _selects(selector: str, check_id: str) -> bool:
    return check_id == selector or check_id.startswith(selector + ".")


def run_checks(project: Project, specs: Sequence[CheckSpec], *, offline: bool) -> list[Check]:
    """Run `specs` and return their checks in the order given: remote ones in threads (unless
    `offline`, or without settings) while the local ones run here, one after another."""
    remote = [spec for spec in specs if isinstance(spec, RemoteCheck)]
    shared = Remote(project.settings) if remote and project.config_error is None else None
    futures: dict[str, Future[Check]] = {}
    skipped: dict[str, Check] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        for spec in remote:
            if offline:
                skipped[spec.id] = Check(spec.id, spec.title, "skip", "--offline: not checked")
            elif project.config_error is not None:
                reason = "the configuration is invalid (see config)"
                skipped[spec.id] = Check(spec.id, spec.title, "skip", reason)
            else:
                futures[spec.id] = pool.submit(_run_one, spec, shared)
        local = {spec.id: _run_one(spec, project) for spec in specs if isinstance(spec, LocalCheck)}
        done = {name: future.result() for name, future in futures.items()}
    return [local.get(spec.id) or skipped.get(spec.id) or done[spec.id] for spec in specs]


def _run_one(spec: CheckSpec, subject: object) -> Check:
    started = time.perf_counter()
    trace = None
    try:
        outcome = spec.run(subject)  # type: ignore[arg-type]
    except Unavailable as reason:
        outcome = skip(str(reason))
    except MlreleaseError as err:
        outcome = Outcome("error", err.message, err.hint)
    except Exception as err:
        trace = traceback.format_exc()
        outcome = Outcome(
            "error",
            f"the check itself failed: {type(err).__name__}: {err}",
            "this is a bug in mlrelease: report it with the traceback `--verbose` shows",
        )
    return Check(
        spec.id,
        spec.title,
        outcome.status,
        outcome.finding,
        outcome.fix,
        time.perf_counter() - started,
        trace,
    )
