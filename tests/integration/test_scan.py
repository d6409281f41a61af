"""`mlrelease scan`: a release pushed to the GAR emulator, its findings seeded in the Container
Analysis emulator, read through the real client library: the verdict and its exit code, the wait
for a scan still running, the timeout, the refusals, and `release` with `scan = true`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator import CANARY
from tests.emulator.container_analysis import ContainerAnalysisEmulator, Vulnerability
from tests.integration.releasing import (
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
    service_release_repo,
)

pytestmark = pytest.mark.integration

FIXABLE_CRITICAL = Vulnerability(
    "CVE-2024-1001", "CRITICAL", "openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1", cvss_score=9.8
)
UNFIXABLE_CRITICAL = Vulnerability("CVE-2024-1002", "CRITICAL", "glibc", "2.36-9", cvss_score=9.1)
FIXABLE_HIGH = Vulnerability("CVE-2024-1003", "HIGH", "zlib", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-2")


@pytest.fixture
def rel(tmp_path: Path, gar, sa_key, docker_client, container_analysis) -> ReleaseRepo:
    """v1.0.0 tagged, its image built; Container Analysis at the emulator."""
    released = release_repo(
        tmp_path,
        **gar_settings(gar),
        container_analysis_endpoint=container_analysis.endpoint,
    )
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    released.repo.tag("v1.0.0", annotated=True)
    released.build_image(docker_client, "v1.0.0")
    yield released
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def pushed(rel: ReleaseRepo, container_analysis: ContainerAnalysisEmulator) -> str:
    """Push v1.0.0; the resource URL Container Analysis knows it by."""
    result = rel.mlrelease("--json", "push", "v1.0.0")
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)["data"]["digest"]
    return container_analysis.resource_url("docker", rel.image, digest)


def envelope(result) -> dict:
    assert CANARY not in result.stdout + result.stderr
    return json.loads(result.stdout)


def test_only_the_fixable_critical_fails_by_default(rel, container_analysis, gar, tmp_path) -> None:
    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, FIXABLE_CRITICAL, UNFIXABLE_CRITICAL, FIXABLE_HIGH)
    summary = tmp_path / "summary.md"

    result = rel.mlrelease("scan", "v1.0.0", GITHUB_STEP_SUMMARY=str(summary))

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SEVERITY", "VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED"]
    assert lines[1].split() == [
        "CRITICAL", "CVE-2024-1001", "openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"
    ]  # fmt: skip
    assert lines[2].split() == ["CRITICAL", "CVE-2024-1002", "glibc", "2.36-9", "-"]
    assert lines[3].split() == [
        "HIGH",
        "CVE-2024-1003",
        "zlib",
        "1:1.2.13.dfsg-1",
        "1:1.2.13.dfsg-2",
    ]
    assert "3 findings (2 CRITICAL, 1 HIGH), 2 with a fix available" in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    ref = f"{gar.registry_host}/{gar.project}/docker/{rel.image}:v1.0.0"
    assert error == f"error: 1 finding at or above CRITICAL with a fix available in {ref}: openssl"
    written = summary.read_text()
    assert "### mlrelease scan" in written
    assert "**1 with a fix at or above CRITICAL**" in written
    assert "| CRITICAL | CVE-2024-1001 | openssl |" in written


def test_fail_on_high_also_fails_on_the_fixable_high(rel, container_analysis) -> None:
    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, UNFIXABLE_CRITICAL, FIXABLE_HIGH)

    passing = rel.mlrelease("--json", "scan", "v1.0.0")
    flag = rel.mlrelease("--json", "scan", "v1.0.0", "--fail-on", "high")
    setting = rel.mlrelease("--json", "scan", "v1.0.0", MLRELEASE_SCAN_FAIL_ON="HIGH")
    lower = rel.mlrelease("--json", "scan", "v1.0.0", "--fail-on", "LOW")

    assert passing.returncode == 0, passing.stderr
    assert envelope(passing)["data"]["blocking"] == 0
    for result in (flag, setting, lower):
        assert result.returncode == 1, result.stderr
        data = envelope(result)["data"]
        assert [f["package"] for f in data["findings"] if f["blocking"]] == ["zlib"]
    assert envelope(flag)["data"]["fail_on"] == "HIGH"
    bad = rel.mlrelease("scan", "v1.0.0", "--fail-on", "SEVERE")
    assert bad.returncode == 2, bad.stderr
    assert "scan_fail_on" in bad.stderr


def test_the_json_envelope(rel, container_analysis) -> None:
    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, FIXABLE_CRITICAL, UNFIXABLE_CRITICAL)

    result = rel.mlrelease("--json", "scan", "v1.0.0", "--fail-on", "CRITICAL")

    assert result.returncode == 1, result.stderr
    answer = envelope(result)
    assert (answer["command"], answer["ok"], answer["exit_code"]) == ("scan", False, 1)
    assert [error["code"] for error in answer["errors"]] == ["failed"]
    data = answer["data"]
    assert set(data) == {
        "ref", "digest", "resource_url", "fail_on", "passed", "counts", "fixable", "blocking",
        "findings", "waited_s",
    }  # fmt: skip
    assert data["resource_url"] == image
    assert data["digest"] == image.rpartition("@")[2]
    assert (data["passed"], data["fixable"], data["blocking"]) == (False, 1, 1)
    assert data["counts"] == {
        "CRITICAL": 2, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "MINIMAL": 0, "UNSPECIFIED": 0
    }  # fmt: skip
    assert data["findings"][0] == {
        "vulnerability": "CVE-2024-1001",
        "severity": "CRITICAL",
        "package": "openssl",
        "package_type": "OS",
        "installed": "3.0.11-1~deb12u1",
        "fixed": "3.0.13-1~deb12u1",
        "fixable": True,
        "blocking": True,
        "cvss_score": 9.8,
    }
    assert data["findings"][1]["fixed"] is None


def test_a_running_scan_is_waited_for_and_one_that_never_ends_times_out(
    rel, container_analysis
) -> None:
    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, FIXABLE_HIGH, status="PENDING", finish_after=3)

    waited = rel.mlrelease("scan", "v1.0.0")

    assert waited.returncode == 0, waited.stderr
    assert waited.stderr.count("waiting for Container Scanning of sha256:") == 3
    assert "PENDING (" in waited.stderr
    assert "CVE-2024-1003" in waited.stdout
    assert container_analysis.discovery_reads(image) == 4

    container_analysis.seed_scan(image, FIXABLE_HIGH, status="SCANNING")
    timed_out = rel.mlrelease("scan", "v1.0.0", MLRELEASE_SCAN_TIMEOUT_S="2")

    assert timed_out.returncode == 5, timed_out.stderr
    assert "did not finish within 2 s: Container Scanning still reports SCANNING" in (
        timed_out.stderr
    )
    assert "hint: rerun `mlrelease scan v1.0.0` once it has finished" in timed_out.stderr
    assert "`mlrelease scan v1.0.0 --timeout 6`" in timed_out.stderr

    never = rel.mlrelease("--json", "scan", "v1.0.0", "--timeout", "1")
    assert never.returncode == 5
    container_analysis.seed_scan(image, status=None)
    unscanned = rel.mlrelease("scan", "v1.0.0", "--timeout", "1")
    assert unscanned.returncode == 5, unscanned.stderr
    assert "no DISCOVERY occurrence" in unscanned.stderr
    assert "gcloud services enable containerscanning.googleapis.com" in unscanned.stderr


def test_scans_that_failed_or_cannot_scan_the_image(rel, container_analysis) -> None:
    image = pushed(rel, container_analysis)

    container_analysis.seed_scan(image, status="FINISHED_FAILED", error="layer unreadable")
    failed = rel.mlrelease("scan", "v1.0.0")
    container_analysis.seed_scan(
        image, status="SCANNING", finish_after=1, becomes="FINISHED_UNSUPPORTED"
    )
    unsupported = rel.mlrelease("scan", "v1.0.0")

    assert failed.returncode == 5, failed.stderr
    assert "Container Scanning failed to scan" in failed.stderr
    assert "layer unreadable" in failed.stderr
    assert unsupported.returncode == 3, unsupported.stderr
    assert "Container Scanning cannot scan" in unsupported.stderr


def test_refusals(rel, container_analysis, gar, tmp_path, registry) -> None:
    not_pushed = rel.mlrelease("scan", "v1.0.0")
    assert not_pushed.returncode == 3, not_pushed.stderr
    assert "push it first" in not_pushed.stderr
    not_a_tag = rel.mlrelease("scan", "latest")
    assert not_a_tag.returncode == 2, not_a_tag.stderr

    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, FIXABLE_HIGH)
    gar.deny("containeranalysis.occurrences.list")
    denied = rel.mlrelease("scan", "v1.0.0")
    assert denied.returncode == 4, denied.stderr
    assert "--role=roles/containeranalysis.occurrences.viewer" in denied.stderr
    gar.grant("containeranalysis.occurrences.list")
    container_analysis.disable_api()
    disabled = rel.mlrelease("scan", "v1.0.0")
    assert disabled.returncode == 3, disabled.stderr
    assert "the Container Analysis API is not enabled in test-project" in disabled.stderr
    assert "gcloud services enable containerscanning.googleapis.com" in disabled.stderr

    plain = release_repo(tmp_path / "plain", registry_host=registry.host)
    refused = plain.mlrelease("--json", "scan", "v1.0.0")
    assert refused.returncode == 3, refused.stderr
    (error,) = envelope(refused)["errors"]
    assert error["code"] == "precondition"
    assert error["message"] == (
        f"{registry.host} is a plain registry: scanning needs Artifact Registry's Container "
        "Scanning"
    )


def test_transient_api_failures_are_retried(rel, container_analysis) -> None:
    image = pushed(rel, container_analysis)
    container_analysis.seed_scan(image, FIXABLE_HIGH)
    container_analysis.fail_next(2, status=503)

    result = rel.mlrelease("scan", "v1.0.0")

    assert result.returncode == 0, result.stderr
    assert [status for *_, status in container_analysis.requests][:3] == [503, 503, 200]


def test_doctor_reports_whether_container_scanning_answers(
    rel, container_analysis, tmp_path, registry
) -> None:
    def scanning(project: ReleaseRepo, **env: str) -> tuple[int, dict]:
        result = project.mlrelease("--json", "doctor", "--only", "scanning", **env)
        (check,) = envelope(result)["data"]["checks"]
        return result.returncode, check

    code, nothing_yet = scanning(rel)
    assert (code, nothing_yet["status"]) == (0, "warn")
    assert "gcloud services enable containerscanning.googleapis.com" in nothing_yet["fix"]

    container_analysis.seed_scan(pushed(rel, container_analysis), FIXABLE_HIGH)
    code, answers = scanning(rel)
    assert (code, answers["status"]) == (0, "ok")
    assert "Container Scanning scans" in answers["finding"]
    assert answers["finding"].endswith(": FINISHED_SUCCESS)")

    container_analysis.disable_api()
    assert scanning(rel)[1]["status"] == "warn"  # only `mlrelease scan` needs it
    code, needed = scanning(rel, MLRELEASE_SCAN="true")
    assert (code, needed["status"]) == (1, "fail")
    assert needed["finding"] == "the Container Analysis API is not enabled in test-project"

    plain = release_repo(tmp_path / "plain", registry_host=registry.host)
    assert scanning(plain)[1]["status"] == "skip"


@pytest.fixture
def service(tmp_path: Path, gar, sa_key, docker_client, container_analysis):
    rel = service_release_repo(
        tmp_path, **gar_settings(gar), container_analysis_endpoint=container_analysis.endpoint
    )
    rel.env["GCP_SA_KEY"] = json.dumps(sa_key)
    yield rel
    remove_images(docker_client, rel.image, gar_remote_name(gar, rel.image))


def test_release_scans_after_the_push_and_fails_with_the_image_pushed(
    service, gar, container_analysis
) -> None:
    container_analysis.scan_pushes(
        "docker", service.image, FIXABLE_CRITICAL, status="SCANNING", finish_after=1
    )

    released = service.mlrelease("--json", "release", "minor", "--no-smoke", MLRELEASE_SCAN="true")

    assert released.returncode == 1, released.stderr
    answer = envelope(released)
    digest = gar.tag_digest("docker", service.image, "v0.1.0")
    assert digest is not None and answer["data"]["digest"] == digest
    assert answer["data"]["scan"]["blocking"] == 1
    assert answer["data"]["scan"]["resource_url"].endswith(f"@{digest}")
    (error,) = answer["errors"]
    assert error["message"].startswith("v0.1.0 is pushed (")
    assert "but its scan failed: 1 finding at or above CRITICAL" in error["message"]
    assert "the pushed image stays in the registry" in error["hint"]

    container_analysis.seed_scan(answer["data"]["scan"]["resource_url"], UNFIXABLE_CRITICAL)
    again = service.mlrelease("release", "minor", "--no-smoke", MLRELEASE_SCAN="true")
    assert again.returncode == 0, again.stderr
    assert f"scanning {answer['data']['image']}: waiting for" in again.stderr
    assert "1 finding (1 CRITICAL), none with a fix available" in again.stderr
