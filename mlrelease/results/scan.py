"""Results of `scan`: Artifact Registry's vulnerability findings for a release, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrelease.errors import ExitCode, MlreleaseError, WorkFailed

# Most severe first, as Grafeas ranks them; UNSPECIFIED is what a finding without one reads as.
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "MINIMAL", "UNSPECIFIED")


@dataclass(frozen=True)
class Finding:
    """One vulnerable package of the image: a VULNERABILITY occurrence's package issue."""

    vulnerability: str  # the note's ID, e.g. CVE-2024-1234
    severity: str  # the effective severity (the distro's when it has one)
    package: str
    package_type: str  # OS, PYPI, ...
    installed: str
    fixed: str | None  # None: no fixed version is known
    fixable: bool
    blocking: bool  # fixable, at or above the scan's fail_on
    cvss_score: float | None

    def to_data(self) -> dict[str, Any]:
        return {
            "vulnerability": self.vulnerability,
            "severity": self.severity,
            "package": self.package,
            "package_type": self.package_type,
            "installed": self.installed,
            "fixed": self.fixed,
            "fixable": self.fixable,
            "blocking": self.blocking,
            "cvss_score": self.cvss_score,
        }


@dataclass(frozen=True)
class ScanResult:
    """The findings of a finished scan of a release's digest. Exit 1 when a finding at or
    above `fail_on` has a fix available; findings without a fix are reported, never fatal."""

    ref: str  # HOST/PATH:vX.Y.Z
    digest: str
    resource_url: str  # https://HOST/PATH@sha256:..., as Container Analysis names the image
    fail_on: str
    findings: tuple[Finding, ...]  # most severe first
    waited_s: float  # how long the scan was waited for (0: it had finished already)

    def count(self, severity: str) -> int:
        """How many findings have `severity`."""
        return sum(1 for finding in self.findings if finding.severity == severity)

    def counts(self) -> dict[str, int]:
        """How many findings of each severity, most severe first."""
        return {severity: self.count(severity) for severity in SEVERITY_ORDER}

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.blocking)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.FAILED if self.blocking else ExitCode.OK)

    @property
    def failure(self) -> MlreleaseError | None:
        """The one error line a scan with fixable findings at or above `fail_on` ends with."""
        if not self.blocking:
            return None
        packages = sorted({finding.package for finding in self.blocking})
        return WorkFailed(
            f"{len(self.blocking)} {'finding' if len(self.blocking) == 1 else 'findings'} "
            f"at or above {self.fail_on} with a fix available in {self.ref}: "
            f"{', '.join(packages)}",
            hint="upgrade those packages (or rebuild on a patched base image) and release a new "
            "version; --fail-on (or scan_fail_on) sets the severity that fails",
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "digest": self.digest,
            "resource_url": self.resource_url,
            "fail_on": self.fail_on,
            "passed": not self.blocking,
            "counts": self.counts(),
            "fixable": sum(1 for finding in self.findings if finding.fixable),
            "blocking": len(self.blocking),
            "findings": [finding.to_data() for finding in self.findings],
            "waited_s": round(self.waited_s, 3),
        }
