"""The scan's verdict: severities, fixes, the fail_on threshold, and findings read from Grafeas
occurrences as the client library parses them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlrelease.results.scan import Finding, ScanResult
from mlrelease.supply import scan_rules
from mlrelease.supply.scan import findings


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("LOW", "HIGH", "CRITICAL"), "LOW"),  # the package issue's own comes first
        (("SEVERITY_UNSPECIFIED", "HIGH", "CRITICAL"), "HIGH"),
        (("", "SEVERITY_UNSPECIFIED", "CRITICAL"), "CRITICAL"),
        (("SEVERITY_UNSPECIFIED", "", "SEVERITY_UNSPECIFIED"), "UNSPECIFIED"),
    ],
)
def test_the_effective_severity_is_the_most_specific_one_given(candidates, expected) -> None:
    assert scan_rules.effective_severity(*candidates) == expected


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("CRITICAL", "CRITICAL", True),
        ("HIGH", "CRITICAL", False),
        ("CRITICAL", "HIGH", True),
        ("HIGH", "HIGH", True),
        ("MEDIUM", "HIGH", False),
        ("MINIMAL", "MINIMAL", True),
        ("UNSPECIFIED", "MINIMAL", False),
    ],
)
def test_at_or_above(severity, threshold, expected) -> None:
    assert scan_rules.at_or_above(severity, threshold) is expected


@pytest.mark.parametrize(
    ("fix_available", "kind", "name", "expected"),
    [
        (True, "MAXIMUM", "", True),  # fixAvailable says so
        (False, "NORMAL", "3.0.13", True),  # no fixAvailable (proto3: false), a named fix
        (False, "MAXIMUM", "", False),  # Grafeas's "no fix yet"
        (False, "VERSION_KIND_UNSPECIFIED", "", False),  # no fixedVersion at all
        (False, "VERSION_KIND_UNSPECIFIED", "3.0.13", True),  # a version without its kind
    ],
)
def test_a_package_issue_is_fixable(fix_available, kind, name, expected) -> None:
    fixable = scan_rules.is_fixable(fix_available=fix_available, fixed_kind=kind, fixed_name=name)
    assert fixable is expected


def test_the_occurrences_fix_available_speaks_for_its_only_package_issue() -> None:
    rule = {"fix_available": False, "fixed_kind": "MAXIMUM", "fixed_name": ""}
    assert scan_rules.is_fixable(**rule, occurrence_fix_available=True, sole_issue=True)
    assert not scan_rules.is_fixable(**rule, occurrence_fix_available=True, sole_issue=False)


@pytest.mark.parametrize(
    ("severity", "fixable", "fail_on", "expected"),
    [
        ("CRITICAL", True, "CRITICAL", True),
        ("CRITICAL", False, "CRITICAL", False),  # nothing to do about it: reported only
        ("HIGH", True, "CRITICAL", False),
        ("HIGH", True, "HIGH", True),
        ("CRITICAL", True, "HIGH", True),
        ("LOW", True, "MEDIUM", False),
    ],
)
def test_only_a_fixable_finding_at_or_above_fail_on_blocks(
    severity, fixable, fail_on, expected
) -> None:
    assert scan_rules.blocks(severity, fixable, fail_on) is expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            {"epoch": 0, "name": "3.0.11", "revision": "1~deb12u1", "full_name": ""},
            "3.0.11-1~deb12u1",
        ),
        ({"epoch": 1, "name": "1.2.13.dfsg", "revision": "1", "full_name": ""}, "1:1.2.13.dfsg-1"),
        ({"epoch": 0, "name": "2.31.0", "revision": "", "full_name": ""}, "2.31.0"),
        ({"epoch": 0, "name": "x", "revision": "y", "full_name": "1:x-y"}, "1:x-y"),
    ],
)
def test_a_version_reads_as_its_package_manager_writes_it(parts, expected) -> None:
    assert scan_rules.version_text(**parts) == expected


def _finding(severity: str, fixable: bool, package: str, blocking: bool = False) -> Finding:
    return Finding(
        vulnerability=f"CVE-{package}",
        severity=severity,
        package=package,
        package_type="OS",
        installed="1",
        fixed="2" if fixable else None,
        fixable=fixable,
        blocking=blocking,
        cvss_score=None,
    )


def test_findings_are_ordered_most_severe_first_then_those_with_a_fix() -> None:
    ordered = scan_rules.ordered(
        [
            _finding("LOW", True, "a"),
            _finding("CRITICAL", False, "b"),
            _finding("CRITICAL", True, "c"),
            _finding("UNSPECIFIED", True, "d"),
            _finding("HIGH", True, "e"),
        ]
    )
    assert [f.package for f in ordered] == ["c", "b", "e", "a", "d"]


def test_the_result_fails_only_on_blocking_findings_and_names_their_packages() -> None:
    def result(*found: Finding) -> ScanResult:
        return ScanResult("h/p:v1.0.0", "sha256:" + "a" * 64, "https://h/p@x", "CRITICAL", found, 0)

    passing = result(_finding("CRITICAL", False, "glibc"), _finding("HIGH", True, "zlib"))
    assert (passing.exit_code, passing.failure) == (0, None)
    assert passing.to_data()["counts"]["CRITICAL"] == 1
    assert passing.to_data()["passed"] is True

    failing = result(_finding("CRITICAL", True, "openssl", blocking=True))
    assert failing.exit_code == 1
    assert failing.failure is not None
    assert failing.failure.message == (
        "1 finding at or above CRITICAL with a fix available in h/p:v1.0.0: openssl"
    )
    assert failing.to_data()["blocking"] == 1


def test_findings_from_grafeas_occurrences() -> None:
    from grafeas import grafeas_v1 as g

    def occurrence(cve: str, **vulnerability) -> g.Occurrence:
        return g.Occurrence(
            note_name=f"projects/goog-vulnz/notes/{cve}",
            kind=g.NoteKind.VULNERABILITY,
            vulnerability=g.VulnerabilityOccurrence(**vulnerability),
        )

    def issue(package: str, fixed: dict | None, **extra) -> dict:
        installed = {"name": "1.0", "revision": "1", "kind": g.Version.VersionKind.NORMAL}
        fixed_version = fixed or {"kind": g.Version.VersionKind.MAXIMUM}
        return {
            "affected_package": package,
            "affected_version": installed,
            "fixed_version": fixed_version,
            **extra,
        }

    normal = g.Version.VersionKind.NORMAL
    occurrences = [
        occurrence(
            "CVE-1",
            severity=g.Severity.HIGH,
            effective_severity=g.Severity.CRITICAL,
            fix_available=True,
            cvss_score=9.81,
            package_issue=[issue("openssl", {"name": "1.1", "kind": normal}, fix_available=True)],
        ),
        # Written before fixAvailable existed: the named fixed version is the fix.
        occurrence(
            "CVE-2",
            severity=g.Severity.CRITICAL,
            package_issue=[issue("zlib", {"name": "1.3", "revision": "2", "kind": normal})],
        ),
        occurrence("CVE-3", severity=g.Severity.CRITICAL, package_issue=[issue("glibc", None)]),
        occurrence(
            "CVE-4",
            severity=g.Severity.MEDIUM,
            package_issue=[
                issue("a", None, effective_severity=g.Severity.LOW),
                issue("b", None, effective_severity=g.Severity.HIGH),
            ],
        ),
    ]

    found = findings(occurrences, SimpleNamespace(scan_fail_on="CRITICAL"))

    by_package = {f.package: f for f in found}
    assert [f.package for f in found] == ["openssl", "zlib", "glibc", "b", "a"]
    assert by_package["openssl"].severity == "CRITICAL"  # the effective one
    assert (by_package["openssl"].fixed, by_package["openssl"].blocking) == ("1.1", True)
    assert by_package["openssl"].cvss_score == 9.8
    assert (by_package["zlib"].fixed, by_package["zlib"].blocking) == ("1.3-2", True)
    assert (by_package["glibc"].fixed, by_package["glibc"].fixable) == (None, False)
    assert not by_package["glibc"].blocking
    assert (by_package["a"].severity, by_package["b"].severity) == ("LOW", "HIGH")
    assert by_package["a"].installed == "1.0-1"
    assert by_package["a"].vulnerability == "CVE-4"
