"""`mlrelease scan vX.Y.Z`: Artifact Registry's vulnerability findings for a release.

The tag is resolved to its digest through the Artifact Registry API, as `verify` resolves it.
Container Scanning scans each image pushed to a project where it is enabled: it records its
progress in the image's DISCOVERY occurrence (analysisStatus PENDING, SCANNING, then
FINISHED_SUCCESS, FINISHED_FAILED or FINISHED_UNSUPPORTED) and each finding in a VULNERABILITY
occurrence. The scan is waited for, at most `scan_timeout_s`, with a growing pause between
reads; then the findings are read and judged by `scan_rules` against `scan_fail_on`. Only
Artifact Registry scans: a plain registry is refused (exit 3).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import ExternalServiceError, PreconditionError, UsageError
from mlrelease.results.scan import Finding, ScanResult
from mlrelease.supply import scan_rules
from mlrelease.supply.container_analysis import SERVICE, ContainerAnalysis

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings
    from mlrelease.registry.target import Target

FINISHED = "FINISHED_SUCCESS"
POLL_FIRST_S = 1.0
POLL_MAX_S = 15.0  # a first scan takes minutes: no need to ask more often than this


def scan_release(
    settings: Settings,
    tag: str,
    *,
    key_file: Path | None = None,
    on_progress: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ScanResult:
    """The findings for the release `tag`, once its scan has finished (the module docstring)."""
    from mlrelease.registry.target import open_target, require_destination
    from mlrelease.versions.rules import parse_tag

    if parse_tag(tag) is None:
        raise UsageError(f"{tag!r} is not a release tag", hint="pass a version tag such as v1.2.0")
    require_destination(settings)
    if not settings.gcp_project:
        raise PreconditionError(
            f"{settings.registry_host} is a plain registry: scanning needs Artifact Registry's "
            "Container Scanning",
            hint="release to Artifact Registry (set gcp_project), or scan the image with a "
            "local scanner such as Trivy",
        )
    target = open_target(settings, key_file=key_file)
    digest = target.resolve(tag)
    if digest is None:
        raise PreconditionError(
            f"{target.ref(tag)} is not in the registry",
            hint=f"push it first: `mlrelease push {tag}`",
        )
    scan = _Scan(settings, target, tag, digest, on_progress)
    waited = scan.wait(clock, sleep)
    return ScanResult(
        ref=str(target.ref(tag)),
        digest=digest,
        resource_url=scan.resource_url,
        fail_on=settings.scan_fail_on,
        findings=findings(scan.api.occurrences("VULNERABILITY", scan.resource_url), settings),
        waited_s=waited,
    )


def findings(occurrences: list[Any], settings: Settings) -> tuple[Finding, ...]:
    """One finding per package issue of the VULNERABILITY occurrences, most severe first."""
    found = []
    for occurrence in occurrences:
        vulnerability = occurrence.vulnerability
        issues = list(vulnerability.package_issue) or [None]  # none: still a finding
        for issue in issues:
            found.append(_finding(occurrence, issue, len(issues) == 1, settings.scan_fail_on))
    return scan_rules.ordered(found)


def _finding(occurrence: Any, issue: Any, sole: bool, fail_on: str) -> Finding:
    vulnerability = occurrence.vulnerability
    name = occurrence.note_name.rpartition("/")[2] or vulnerability.short_description
    severity = scan_rules.effective_severity(
        issue.effective_severity.name if issue else "",
        vulnerability.effective_severity.name,
        vulnerability.severity.name,
    )
    if issue is None:
        fixable = bool(vulnerability.fix_available)
        package = package_type = installed = ""
        fixed = None
    else:
        kind, fixed_name = issue.fixed_version.kind.name, issue.fixed_version.name
        fixable = scan_rules.is_fixable(
            fix_available=issue.fix_available,
            fixed_kind=kind,
            fixed_name=fixed_name,
            occurrence_fix_available=vulnerability.fix_available,
            sole_issue=sole,
        )
        package = issue.affected_package or issue.fixed_package
        package_type = issue.package_type or vulnerability.type_
        installed = _version(issue.affected_version)
        fixed = _version(issue.fixed_version) if scan_rules.names_a_fix(kind, fixed_name) else None
    return Finding(
        vulnerability=name,
        severity=severity,
        package=package,
        package_type=package_type,
        installed=installed,
        fixed=fixed,
        fixable=fixable,
        blocking=scan_rules.blocks(severity, fixable, fail_on),
        cvss_score=round(vulnerability.cvss_score, 1) if vulnerability.cvss_score else None,
    )


def _version(version: Any) -> str:
    return scan_rules.version_text(
        epoch=version.epoch,
        name=version.name,
        revision=version.revision,
        full_name=version.full_name,
    )


class _Scan:
    """Waiting for one image's scan to finish."""

    def __init__(
        self,
        settings: Settings,
        target: Target,
        tag: str,
        digest: str,
        on_progress: Callable[[str], None],
    ) -> None:
        if target.credentials is None:
            raise ValueError("scanning needs an Artifact Registry target")
        self.api = ContainerAnalysis(settings, target.credentials)
        self.settings = settings
        self.tag = tag
        self.ref = str(target.ref(tag))
        self.digest = digest
        # As Container Analysis names the image: the registry host, the path, the digest.
        self.resource_url = f"https://{target.repository.with_digest(digest)}"
        self.on_progress = on_progress

    def wait(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> float:
        """Seconds waited until the scan finished well; an error if it failed, cannot scan this
        image, or is not done within `scan_timeout_s`."""
        timeout = self.settings.scan_timeout_s
        started, pause = clock(), POLL_FIRST_S
        while True:
            status, reason = self.status()
            elapsed = clock() - started
            if status == FINISHED:
                return elapsed
            self._refuse(status, reason)
            if elapsed >= timeout:
                raise self._timed_out(status, timeout)
            self.on_progress(
                f"waiting for Container Scanning of {self.digest[:19]}: "
                f"{status or 'not started'} ({elapsed:.0f} s of at most {timeout:g} s)"
            )
            sleep(min(pause, timeout - elapsed))
            pause = min(pause * 1.5, POLL_MAX_S)

    def status(self) -> tuple[str | None, str]:
        """The analysisStatus of the image's latest DISCOVERY occurrence (None: there is none
        yet) and the reason Google gives for it, if any."""
        found = self.api.occurrences("DISCOVERY", self.resource_url)
        if not found:
            return None, ""
        latest = max(found, key=lambda o: o.update_time.timestamp() if o.update_time else 0.0)
        discovery = latest.discovery
        return discovery.analysis_status.name, discovery.analysis_status_error.message

    def _refuse(self, status: str | None, reason: str) -> None:
        because = f": {reason}" if reason else ""
        if status == "FINISHED_FAILED":
            raise ExternalServiceError(
                f"Container Scanning failed to scan {self.ref} ({self.digest[:19]}){because}",
                hint=f"rerun `mlrelease scan {self.tag}` later; `gcloud artifacts docker images "
                f"describe {self.resource_url.removeprefix('https://')} "
                "--show-package-vulnerability` shows what Google reports",
            )
        if status == "FINISHED_UNSUPPORTED":
            raise PreconditionError(
                f"Container Scanning cannot scan {self.ref} ({self.digest[:19]}){because}",
                hint="scanning covers the OS packages of the distributions Google supports (and "
                "language packages): build on a supported base image such as python:3.11-slim",
            )

    def _timed_out(self, status: str | None, timeout: float) -> ExternalServiceError:
        rerun = (
            f"rerun `mlrelease scan {self.tag}` once it has finished (a first scan takes "
            f"minutes), or wait longer: `mlrelease scan {self.tag} --timeout {timeout * 3:g}`"
        )
        if status is None:
            return ExternalServiceError(
                f"no scan of {self.ref} ({self.digest[:19]}) started within {timeout:g} s: "
                f"Container Analysis has no DISCOVERY occurrence for it",
                hint=f"{rerun}; Container Scanning scans only images pushed while it is enabled: "
                f"gcloud services enable {SERVICE} --project={self.api.project}",
            )
        return ExternalServiceError(
            f"the scan of {self.ref} ({self.digest[:19]}) did not finish within {timeout:g} s: "
            f"Container Scanning still reports {status}",
            hint=rerun,
        )
