"""Image size: the change against earlier builds in the history, and the budget.

Sizes are in bytes; budgets are in megabytes of 1,000,000 bytes, as the reports print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlrelease.errors import SizeBudgetExceeded
from mlrelease.history import BuildRecord
from mlrelease.results.build import Budget, SizeChange

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

MB = 1_000_000


def compare(
    history: Sequence[BuildRecord], image: str, size_bytes: int
) -> tuple[SizeChange | None, SizeChange | None]:
    """The change against the latest build of `image` in `history` and against its latest
    version-tagged build; None where there is none."""
    builds = [record for record in history if record.image == image]
    releases = [record for record in builds if record.version]

    def change(record: BuildRecord) -> SizeChange:
        return SizeChange(record.ref, record.size_bytes, size_bytes - record.size_bytes)

    return (
        change(builds[-1]) if builds else None,
        change(releases[-1]) if releases else None,
    )


def check_budget(settings: Settings, size_bytes: int) -> Budget:
    """Where `size_bytes` stands against `size_warn_mb` and `size_budget_mb`."""
    warn, fail = settings.size_warn_mb, settings.size_budget_mb
    status = "ok"
    if fail is not None and size_bytes > fail * MB:
        status = "fail"
    elif warn is not None and size_bytes > warn * MB:
        status = "warn"
    return Budget(warn_mb=warn, fail_mb=fail, status=status)


def budget_error(ref: str, size_bytes: int, budget: Budget) -> SizeBudgetExceeded | None:
    """The failure to report when `budget` failed: the size, the budget and the overshoot."""
    if budget.status != "fail" or budget.fail_mb is None:
        return None
    over = size_bytes - budget.fail_mb * MB
    return SizeBudgetExceeded(
        f"{ref} is {size_bytes / MB:.1f} MB, over the size budget of {budget.fail_mb:g} MB "
        f"by {over / MB:.1f} MB ({over / (budget.fail_mb * MB):.1%}); the image stays tagged",
        hint="`mlrelease size` shows the largest layers; shrink them, or raise size_budget_mb "
        "(--size-budget-mb, MLRELEASE_SIZE_BUDGET_MB, [tool.mlrelease])",
    )
