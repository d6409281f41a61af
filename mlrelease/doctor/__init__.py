"""`mlrelease doctor`: the runbook's troubleshooting as checks that find a problem and name its fix.

Adding a check: a function in the module of its group (`engine.py`, `dockerfile.py`, ...)
taking the `frame.Project` (a local check) or the `frame.Remote` (a remote check) and returning
`frame.ok(...)`, `warn(...)`, `fail(...)` or `skip(...)`; then one line in `catalog.CHECKS`.
The frame does the rest: selection, `--offline`, concurrency, timing, errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlrelease.config.settings import find_project_root, load_settings
from mlrelease.doctor.frame import CheckSpec, Project, run_checks, select
from mlrelease.errors import ConfigError
from mlrelease.results.doctor import DoctorReport


def diagnose(
    cwd: Path,
    *,
    offline: bool = False,
    only: Iterable[str] = (),
    skipped: Iterable[str] = (),
    strict: bool = False,
    checks: Sequence[CheckSpec] | None = None,
) -> DoctorReport:
    """Run the registered checks (or `checks`) on the project at `cwd`; never raises for what
    a check finds, only for a selector that names no check (UsageError)."""
    from mlrelease.doctor import catalog

    started = time.perf_counter()
    specs = select(catalog.CHECKS if checks is None else checks, only, skipped)
    try:
        settings = load_settings(cwd)
        project = Project(settings.root, settings)
    except ConfigError as err:
        project = Project(find_project_root(cwd)[0], None, err)
    results = run_checks(project, specs, offline=offline)
    return DoctorReport(
        checks=tuple(results),
        seconds=time.perf_counter() - started,
        offline=offline,
        strict=strict,
    )
