"""The views of `doctor`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, StatusRow, View, presents

if TYPE_CHECKING:
    from mlrelease.results.doctor import DoctorReport


@presents
def _present_doctor(result: DoctorReport) -> View:
    rows = tuple(
        StatusRow(check.status, check.id, check.finding, check.fix) for check in result.checks
    )
    notes = [
        Note(f"{check.id}: {check.traceback}", "detail")
        for check in result.checks
        if check.traceback
    ]
    from mlrelease.results.doctor import CHECK_STATUSES

    counts = ", ".join(
        f"{result.count(status)} {status}" for status in CHECK_STATUSES if result.count(status)
    )
    summary = f"{len(result.checks)} checks in {result.seconds:.1f} s: {counts or 'none run'}"
    if result.strict and result.count("warn"):
        summary += " (warnings fail under --strict)"
    notes.append(Note(summary, "success" if result.exit_code == 0 else "info"))
    return View(report=rows, notes=tuple(notes))
