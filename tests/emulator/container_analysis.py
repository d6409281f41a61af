"""The Container Analysis API v1 (Grafeas) on its own 127.0.0.1 port (the stand-in for
https://containeranalysis.googleapis.com), holding the occurrences Artifact Registry's Container
Scanning writes for an image, named by its resource URL (`https://HOST/P/R/IMAGE@sha256:...`):
one DISCOVERY occurrence whose analysisStatus tells how far the scan is, and one VULNERABILITY
occurrence per finding, listed once the scan has finished (Container Scanning writes them then).

`GET /v1/projects/P/occurrences?filter=&pageSize=&pageToken=` and `GET
/v1/projects/P/occurrences/ID` answer as the real API does: grafeas.v1's JSON field names, enums
as numbers under `$alt=json;enum-encoding=int` (else as names), false and empty fields left out,
filters as grafeas_filter reads them, Google's error bodies. Callers authenticate with the
GarEmulator's access tokens (or a self-signed JWT of one of its keys);
`gar.deny("containeranalysis.occurrences.list")` (or `.get`) refuses with 403, `disable_api()`
with SERVICE_DISABLED. A test seeds an image's scan with `seed_scan`: its findings, its status,
and whether it finishes after N reads of the DISCOVERY occurrence, or never."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tests.emulator import google_errors
from tests.emulator.grafeas_filter import InvalidFilter, parse
from tests.emulator.http import json_response
from tests.emulator.server import PROJECT_NUMBER
from tests.emulator.service_http import Request, Response, ServiceServer

if TYPE_CHECKING:
    from tests.emulator.server import GarEmulator

SERVICE = "containeranalysis.googleapis.com"
DEFAULT_PAGE_SIZE = 20  # the API's, when pageSize is not given
MAX_PAGE_SIZE = 1000
VULNERABILITY_NOTES = "projects/goog-vulnz/notes"
DISCOVERY_NOTE = "projects/goog-analysis/notes/PACKAGE_VULNERABILITY"
DEBIAN_CPE = "cpe:/o:debian:debian_linux:12"
STATUSES = ("PENDING", "SCANNING", "FINISHED_SUCCESS", "FINISHED_FAILED", "FINISHED_UNSUPPORTED")
_PROJECT = r"^/v1/projects/(?P<project>[^/]+)/occurrences"


@dataclass(frozen=True)
class Vulnerability:
    """A finding to seed: `package` at `installed` is affected; `fixed` is the version that fixes
    it (None: no fix yet, written as fixedVersion kind MAXIMUM). `fix_available` None is what
    Container Scanning writes (true when a fixed version is named); `legacy` leaves the field out,
    as occurrences written before Grafeas had it do. `effective_severity` None: `severity`."""

    cve: str
    severity: str = "HIGH"
    package: str = "openssl"
    installed: str = "3.0.11-1~deb12u1"
    fixed: str | None = None
    fix_available: bool | None = None
    legacy: bool = False
    effective_severity: str | None = None
    cvss_score: float = 7.5
    package_type: str = "OS"


@dataclass
class _Scan:
    """One image's scan: its findings and its DISCOVERY occurrence's state."""

    findings: list[tuple[str, Vulnerability]]  # (occurrence ID, finding)
    status: str | None  # None: no DISCOVERY occurrence (scanning never started)
    reads_left: int | None  # reads before `status` becomes `becomes`; None: never
    becomes: str
    error: str
    discovery_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=lambda: _now())
    updated: str = field(default_factory=lambda: _now())
    reads: int = 0


class ContainerAnalysisEmulator:
    """Container Analysis for `gar`'s project; `endpoint` is the API's base URL (mlrelease's
    container_analysis_endpoint); `stop()` closes it."""

    def __init__(self, gar: GarEmulator) -> None:
        self._gar = gar
        self.project = gar.project
        self._lock = threading.Lock()
        self._scans: dict[str, _Scan] = {}  # by resource URL
        self._on_push: dict[tuple[str, str], tuple[tuple[Vulnerability, ...], dict[str, Any]]] = {}
        self._enabled = True
        self._routes = [
            (re.compile(_PROJECT + "$"), self._list, "containeranalysis.occurrences.list"),
            (
                re.compile(_PROJECT + r"/(?P<id>[^/:]+)$"),
                self._get,
                "containeranalysis.occurrences.get",
            ),
        ]
        self._server = ServiceServer("containeranalysis", self._handle, google_errors.unavailable)
        self.endpoint = self._server.endpoint
        self._server.start()

    # The test's side
    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """No image scanned, the API enabled, no faults, an empty request log."""
        with self._lock:
            self._scans.clear()
            self._on_push.clear()
            self._enabled = True
        self._server.reset()

    def resource_url(self, repository: str, image: str, digest: str) -> str:
        """How Container Analysis names `P/REPOSITORY/IMAGE@digest` of the GAR emulator."""
        return f"https://{self._gar.registry_host}/{self.project}/{repository}/{image}@{digest}"

    def seed_scan(
        self,
        resource_url: str,
        *findings: Vulnerability,
        status: str | None = "FINISHED_SUCCESS",
        finish_after: int | None = None,
        becomes: str = "FINISHED_SUCCESS",
        error: str = "",
    ) -> None:
        """The image's scan, replacing any: its DISCOVERY occurrence answers `status` (None: no
        such occurrence) for `finish_after` reads, then `becomes` (finish_after None: never
        changes); `error` is the analysisStatusError's message."""
        made = _new_scan(
            findings, status=status, finish_after=finish_after, becomes=becomes, error=error
        )
        with self._lock:
            self._scans[resource_url] = made

    def scan_pushes(
        self, repository: str, image: str, *findings: Vulnerability, **scan: Any
    ) -> None:
        """Every image in the GAR emulator's `P/REPOSITORY/IMAGE`, pushed now or later, gets
        this scan (`seed_scan`'s keywords), as Container Scanning scans each push: for a test
        whose digest is known only once its push is done."""
        _new_scan(findings, **scan)  # the keywords are checked now, not at the first read
        with self._lock:
            self._on_push[(repository, image)] = (findings, scan)

    def discovery_reads(self, resource_url: str) -> int:
        """How many times the image's DISCOVERY occurrence has been read."""
        with self._lock:
            return self._scans[resource_url].reads

    def disable_api(self) -> None:
        """The project's Container Analysis API is disabled: every call gets 403
        SERVICE_DISABLED."""
        self._enabled = False

    def fail_next(self, n: int, *, status: int = 503, drop: bool = False) -> None:
        """The next n API requests get `status` with Google's error body, or, with drop, a
        closed connection."""
        self._server.fail_next(n, status, drop)

    @property
    def requests(self) -> list[tuple[str, str, str, int]]:
        """("containeranalysis", method, path, status) of every API request so far."""
        return self._server.requests

    # The API's side
    def _handle(self, request: Request) -> Response:
        path = unquote(request.path)
        routed = [
            (match, handler, permission)
            for pattern, handler, permission in self._routes
            if (match := pattern.match(path)) and request.method == "GET"
        ]
        if not routed:
            return google_errors.not_found()
        match, handler, permission = routed[0]
        if self._gar.caller(request.bearer() or "") is None:
            return google_errors.unauthenticated()
        project = match["project"]
        if project not in (self.project, PROJECT_NUMBER) or self._gar.denies(permission):
            return google_errors.permission_denied(permission, f"projects/{project}", SERVICE)
        if not self._enabled:
            return _service_disabled()
        ints = "enum-encoding=int" in (request.arg("$alt") or "")
        return handler(request, match.groupdict().get("id"), ints)

    def _list(self, request: Request, _: str | None, ints: bool) -> Response:
        try:
            accept = parse(request.arg("filter") or "")
            start = int(request.arg("pageToken") or 0)
            size = int(request.arg("pageSize") or 0) or DEFAULT_PAGE_SIZE
        except InvalidFilter as err:
            return google_errors.invalid_argument(f"Invalid filter: {err}")
        except ValueError:
            return google_errors.invalid_argument("Invalid page token or page size.")
        if size < 0:
            return google_errors.invalid_argument("Page size must be positive.", "page_size")
        size = min(size, MAX_PAGE_SIZE)
        with self._lock:
            matching = [
                occurrence
                for occurrence in self._occurrences()
                if accept({key: _name(value) for key, value in occurrence.items()})
            ]
            for occurrence in matching:
                self._read(occurrence)
            page = [_encoded(occurrence, ints) for occurrence in matching[start : start + size]]
        answer: dict[str, Any] = {"occurrences": page} if page else {}
        if start + size < len(matching):
            answer["nextPageToken"] = str(start + size)
        return json_response(200, answer)

    def _get(self, request: Request, occurrence_id: str | None, ints: bool) -> Response:
        name = f"projects/{self.project}/occurrences/{occurrence_id}"
        with self._lock:
            for occurrence in self._occurrences():
                if occurrence["name"] == name:
                    self._read(occurrence)
                    return json_response(200, _encoded(occurrence, ints))
        return google_errors.not_found()

    def _occurrences(self) -> list[dict[str, Any]]:
        """Every occurrence as it stands now, by name (enums as names)."""
        self._scan_pushed()
        found = []
        for url, scan in self._scans.items():
            if scan.status is not None:
                found.append(self._discovery(url, scan))
            if scan.status == "FINISHED_SUCCESS":
                found += [self._vulnerability(url, scan, i, f) for i, f in scan.findings]
        return sorted(found, key=lambda occurrence: occurrence["name"])

    def _scan_pushed(self) -> None:
        """A scan for each image pushed under a `scan_pushes` name that has none yet."""
        for (repository, image), (findings, scan) in self._on_push.items():
            for tag in self._gar.tags(repository, image):
                digest = self._gar.tag_digest(repository, image, tag)
                url = self.resource_url(repository, image, digest or "")
                if digest and url not in self._scans:
                    self._scans[url] = _new_scan(findings, **scan)

    def _read(self, occurrence: dict[str, Any]) -> None:
        """A DISCOVERY occurrence was answered: one read nearer the end of its scan."""
        if _name(occurrence["kind"]) != "DISCOVERY":
            return
        scan = self._scans[occurrence["resourceUri"]]
        scan.reads += 1
        if scan.reads_left is not None:
            scan.reads_left -= 1
            if scan.reads_left <= 0:
                scan.status, scan.reads_left, scan.updated = scan.becomes, None, _now()

    def _discovery(self, url: str, scan: _Scan) -> dict[str, Any]:
        discovery: dict[str, Any] = {
            "continuousAnalysis": ("ContinuousAnalysis", "ACTIVE"),
            "analysisStatus": ("AnalysisStatus", scan.status),
        }
        if scan.status and scan.status.startswith("FINISHED"):
            discovery["lastScanTime"] = scan.updated
            discovery["analysisCompleted"] = {"analysisType": ["OS", "PYPI"]}
        if scan.error:
            discovery["analysisStatusError"] = {"code": 9, "message": scan.error}
        return {
            "name": f"projects/{self.project}/occurrences/{scan.discovery_id}",
            "resourceUri": url,
            "noteName": DISCOVERY_NOTE,
            "kind": ("NoteKind", "DISCOVERY"),
            "createTime": scan.created,
            "updateTime": scan.updated,
            "discovery": discovery,
        }

    def _vulnerability(
        self, url: str, scan: _Scan, occurrence_id: str, finding: Vulnerability
    ) -> dict[str, Any]:
        effective = ("Severity", finding.effective_severity or finding.severity)
        fix = finding.fix_available if finding.fix_available is not None else bool(finding.fixed)
        fix_available = {"fixAvailable": True} if fix and not finding.legacy else {}
        issue = {
            "affectedCpeUri": DEBIAN_CPE,
            "affectedPackage": finding.package,
            "affectedVersion": _version(finding.installed),
            "fixedCpeUri": DEBIAN_CPE,
            "fixedPackage": finding.package,
            "fixedVersion": _version(finding.fixed),
            **fix_available,
            "packageType": finding.package_type,
            "effectiveSeverity": effective,
        }
        return {
            "name": f"projects/{self.project}/occurrences/{occurrence_id}",
            "resourceUri": url,
            "noteName": f"{VULNERABILITY_NOTES}/{finding.cve}",
            "kind": ("NoteKind", "VULNERABILITY"),
            "createTime": scan.updated,
            "updateTime": scan.updated,
            "vulnerability": {
                "severity": ("Severity", finding.severity),
                "cvssScore": finding.cvss_score,
                "packageIssue": [issue],
                "shortDescription": finding.cve,
                "relatedUrls": [
                    {
                        "url": f"https://security-tracker.debian.org/tracker/{finding.cve}",
                        "label": "More Info",
                    }
                ],
                "effectiveSeverity": effective,
                **fix_available,
                "cvssVersion": ("CVSSVersion", "CVSS_VERSION_3"),
                "cvssv3": {"baseScore": finding.cvss_score},
            },
        }


def _new_scan(
    findings: tuple[Vulnerability, ...],
    *,
    status: str | None = "FINISHED_SUCCESS",
    finish_after: int | None = None,
    becomes: str = "FINISHED_SUCCESS",
    error: str = "",
) -> _Scan:
    for state in (status, becomes):
        if state is not None and state not in STATUSES:
            raise ValueError(f"unknown analysis status {state}")
    if finish_after == 0:
        status, finish_after = becomes, None
    findings_ids = [(str(uuid.uuid4()), finding) for finding in findings]
    return _Scan(findings_ids, status, finish_after, becomes, error)


def _version(text: str | None) -> dict[str, Any]:
    """A grafeas.v1.Version: `1:3.0.13-1~deb12u1` as epoch, name, revision; None as MAXIMUM."""
    if text is None:
        return {"kind": ("VersionKind", "MAXIMUM")}
    epoch, _, rest = text.rpartition(":")
    name, _, revision = rest.partition("-")
    version: dict[str, Any] = {"name": name, "kind": ("VersionKind", "NORMAL"), "fullName": text}
    if epoch:
        version["epoch"] = int(epoch)
    if revision:
        version["revision"] = revision
    return version


def _encoded(value: Any, ints: bool) -> Any:
    """The occurrence as JSON: each (enum type, name) pair as its number or its name."""
    from grafeas import grafeas_v1

    if isinstance(value, tuple):
        enum_type, name = value
        enum = getattr(grafeas_v1, enum_type, None) or _nested_enums()[enum_type]
        return enum[name].value if ints else name
    if isinstance(value, dict):
        return {key: _encoded(item, ints) for key, item in value.items()}
    if isinstance(value, list):
        return [_encoded(item, ints) for item in value]
    return value


def _nested_enums() -> dict[str, Any]:
    from grafeas import grafeas_v1

    return {
        "AnalysisStatus": grafeas_v1.DiscoveryOccurrence.AnalysisStatus,
        "ContinuousAnalysis": grafeas_v1.DiscoveryOccurrence.ContinuousAnalysis,
        "VersionKind": grafeas_v1.Version.VersionKind,
    }


def _name(value: Any) -> Any:
    """A field as a filter compares it: an enum by its name."""
    return value[1] if isinstance(value, tuple) else value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _service_disabled() -> Response:
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={PROJECT_NUMBER}"
    message = (
        f"Container Analysis API has not been used in project {PROJECT_NUMBER} before or it is "
        f"disabled. Enable it by visiting {url} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {
            "service": SERVICE,
            "consumer": f"projects/{PROJECT_NUMBER}",
            "activationUrl": url,
            "serviceTitle": "Container Analysis API",
        },
    }
    return google_errors.api_error(403, message, [info])
