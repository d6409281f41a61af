"""The doctor's result: every check with its status, finding and fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrelease.errors import ExitCode, MlreleaseError, WorkFailed

CHECK_STATUSES = ("ok", "warn", "fail", "skip", "error")


@dataclass(frozen=True)
class Check:
    """One doctor check: what was found and, unless it is ok, the exact fix."""

    id: str  # dotted, grouped by prefix: "dockerfile.user"
    title: str
    status: str  # one of CHECK_STATUSES
    finding: str
    fix: str = ""
    seconds: float = 0.0
    traceback: str | None = None  # an `error` check's traceback, shown with --verbose

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "finding": self.finding,
            "fix": self.fix,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check `mlrelease doctor` ran, in order. It fails (exit 1) when a check failed or
    errored, and with `strict` also when one warned."""

    checks: tuple[Check, ...]
    seconds: float
    offline: bool
    strict: bool

    def count(self, status: str) -> int:
        """How many checks ended with `status`."""
        return sum(1 for check in self.checks if check.status == status)

    @property
    def failing(self) -> tuple[Check, ...]:
        """The checks that make the run fail: failed or errored, and warned under `strict`."""
        statuses = {"fail", "error", "warn"} if self.strict else {"fail", "error"}
        return tuple(check for check in self.checks if check.status in statuses)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.FAILED if self.failing else ExitCode.OK)

    @property
    def failure(self) -> MlreleaseError | None:
        """The one error line a failing run ends with, naming the checks to fix."""
        if not self.failing:
            return None
        names = ", ".join(check.id for check in self.failing)
        return WorkFailed(
            f"{len(self.failing)} of {len(self.checks)} checks did not pass: {names}",
            hint="apply the fix shown under each of them, then rerun `mlrelease doctor`",
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "checks": [check.to_data() for check in self.checks],
            "summary": {status: self.count(status) for status in CHECK_STATUSES},
            "seconds": round(self.seconds, 3),
            "offline": self.offline,
            "strict": self.strict,
        }
