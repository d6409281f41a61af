"""The views of `scan`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, Table, View, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.scan import Finding, ScanResult

SUMMARY_ROWS = 20  # findings listed in the job summary; the rest are counted


def _fixed(finding: Finding) -> str:
    if finding.fixed:
        return finding.fixed
    return "(fix available)" if finding.fixable else "-"


def _row(finding: Finding) -> tuple[str, ...]:
    return (
        finding.severity,
        finding.vulnerability or "-",
        finding.package or "-",
        finding.installed or "-",
        _fixed(finding),
    )


def _findings(count: int) -> str:
    return f"{count} finding" if count == 1 else f"{count} findings"


def _counts(result: ScanResult) -> str:
    counts = [f"{n} {severity}" for severity, n in result.counts().items() if n]
    return ", ".join(counts) or "none"


def scan_notes(result: ScanResult) -> list[Note]:
    """The lines for people: what was found, and the verdict when it passed."""
    fixable = sum(1 for finding in result.findings if finding.fixable)
    notes = [
        Note(
            f"{result.ref} ({result.digest[:19]}): {_findings(len(result.findings))} "
            f"({_counts(result)}), {fixable or 'none'} with a fix available"
        )
    ]
    if not result.blocking:
        notes.append(
            Note(f"No finding at or above {result.fail_on} has a fix available", "success")
        )
    return notes


@presents
def _present_scan(result: ScanResult) -> View:
    table = None
    if result.findings:
        columns = ("SEVERITY", "VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED")
        table = Table(columns, tuple(_row(finding) for finding in result.findings))
    return View(table=table, notes=tuple(scan_notes(result)))


@summarises
def scan_summary(result: ScanResult) -> str:
    """The job summary: the counts, the verdict, the most severe findings."""
    verdict = (
        f"**{len(result.blocking)} with a fix at or above {result.fail_on}**"
        if result.blocking
        else f"none with a fix at or above {result.fail_on}"
    )
    text = (
        f"### mlrelease scan\n\n`{result.ref}` (`{result.digest}`): "
        f"{_findings(len(result.findings))} ({_counts(result)}); {verdict}\n"
    )
    if not result.findings:
        return text
    shown = result.findings[:SUMMARY_ROWS]
    columns = ("severity", "vulnerability", "package", "installed", "fixed")
    text += "\n" + markdown_table(columns, [_row(finding) for finding in shown])
    if len(result.findings) > SUMMARY_ROWS:
        text += f"\n{len(result.findings) - SUMMARY_ROWS} more: `mlrelease scan` lists them all\n"
    return text
