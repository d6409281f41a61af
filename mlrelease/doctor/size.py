"""`size`: the last build of the image within its budget (from the build history)."""

from __future__ import annotations

from mlrelease.build.sizes import MB, check_budget
from mlrelease.doctor.frame import Outcome, Project, fail, ok, skip, warn
from mlrelease.history import last_build


def check_size(project: Project) -> Outcome:
    """The last recorded build against `size_warn_mb` / `size_budget_mb`."""
    settings = project.settings
    build = last_build(settings)
    if build is None:
        return skip(f"no build of {settings.image} recorded yet (`mlrelease build` records one)")
    budget = check_budget(settings, build.size_bytes)
    size = f"{build.ref} ({build.time}) is {build.size_bytes / MB:.1f} MB"
    shrink = "`mlrelease size` names the largest layers; shrink them"
    if budget.status == "fail":
        return fail(
            f"{size}, over the budget of {budget.fail_mb:g} MB",
            f"{shrink}, or raise size_budget_mb in [tool.mlrelease]",
        )
    if budget.status == "warn":
        return warn(
            f"{size}, over the warning threshold of {budget.warn_mb:g} MB",
            f"{shrink}, or raise size_warn_mb in [tool.mlrelease]",
        )
    if budget.fail_mb is None and budget.warn_mb is None:
        return ok(f"{size}; no budget set (size_budget_mb)")
    return ok(f"{size}, within the budget of {budget.fail_mb or budget.warn_mb:g} MB")
