"""The rules of a scan's verdict, pure: a finding's severity, whether it has a fix, whether it
fails the scan, and how a Grafeas version reads. Values come in as Grafeas names them
(`CRITICAL`, `MAXIMUM`), so these rules need no client library."""

from __future__ import annotations

from collections.abc import Iterable

from mlrelease.results.scan import SEVERITY_ORDER, Finding

UNSPECIFIED = "UNSPECIFIED"


def effective_severity(*candidates: str) -> str:
    """The first severity that says something, most specific first (the package issue's
    effective severity, the occurrence's, the note provider's); UNSPECIFIED when none does."""
    for name in candidates:
        if name and name in SEVERITY_ORDER and name != UNSPECIFIED:
            return name
    return UNSPECIFIED


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether `severity` is `threshold` or more severe."""
    return _rank(severity) <= _rank(threshold)


def names_a_fix(kind: str, name: str) -> bool:
    """Whether a package issue's fixedVersion names a fix. Grafeas writes kind MAXIMUM for "no
    fix yet"; an unset version (kind unspecified, no name) names nothing."""
    if kind == "MAXIMUM":
        return False
    return kind in ("NORMAL", "MINIMUM") or bool(name)


def is_fixable(
    *,
    fix_available: bool,
    fixed_kind: str,
    fixed_name: str,
    occurrence_fix_available: bool = False,
    sole_issue: bool = False,
) -> bool:
    """Whether a package issue has a fix. `fixAvailable` is a proto3 bool: an occurrence written
    before it existed reads as false, so a fixedVersion naming a release counts as a fix too;
    the occurrence's own fixAvailable speaks for its only package issue."""
    if fix_available or names_a_fix(fixed_kind, fixed_name):
        return True
    return occurrence_fix_available and sole_issue


def blocks(severity: str, fixable: bool, fail_on: str) -> bool:
    """Whether a finding fails the scan: it has a fix and is at or above `fail_on`. A finding
    without a fix cannot be acted on, so it is reported but never fails a release."""
    return fixable and at_or_above(severity, fail_on)


def version_text(*, epoch: int, name: str, revision: str, full_name: str) -> str:
    """A Grafeas version as a package manager writes it: `1:3.0.13-1~deb12u1`."""
    if full_name:
        return full_name
    text = f"{epoch}:{name}" if epoch else name
    return f"{text}-{revision}" if revision else text


def ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first; then the ones with a fix; then by package and vulnerability."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (_rank(f.severity), not f.fixable, f.package, f.vulnerability),
        )
    )


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
