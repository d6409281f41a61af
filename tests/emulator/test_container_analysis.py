"""Container Analysis as grafeas_v1's REST client sees it (the client google-cloud-containeranalysis
hands out): an image's DISCOVERY and VULNERABILITY occurrences, filters as mlrelease and gcloud
send them, pages, a scan that finishes after some reads or never, and Google's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.emulator.container_analysis import ContainerAnalysisEmulator, Vulnerability

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
PARENT = "projects/test-project"


@pytest.fixture
def client(container_analysis: ContainerAnalysisEmulator, credentials):
    """grafeas_v1's client on its REST transport, sending the access token (as mlrelease)."""
    from grafeas.grafeas_v1 import GrafeasClient
    from grafeas.grafeas_v1.services.grafeas.transports.rest import GrafeasRestTransport

    transport = GrafeasRestTransport(
        host=container_analysis.endpoint, credentials=credentials, always_use_jwt_access=False
    )
    return GrafeasClient(transport=transport)


@pytest.fixture
def image(container_analysis: ContainerAnalysisEmulator) -> str:
    return container_analysis.resource_url("docker", "app", DIGEST)


def of(kind: str, url: str) -> str:
    return f'kind="{kind}" AND resourceUrl="{url}"'


def listed(client, query: str, **request: Any) -> list:
    return list(client.list_occurrences(request={"parent": PARENT, "filter": query, **request}))


def raw(container_analysis, credentials, query: str, **params: str) -> dict[str, Any]:
    answer = requests.get(
        f"{container_analysis.endpoint}/v1/{PARENT}/occurrences",
        params={"filter": query, **params},
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_findings_of_a_finished_scan_as_the_client_library_reads_them(
    client, container_analysis, image
):
    container_analysis.seed_scan(
        image,
        Vulnerability("CVE-2024-0001", "CRITICAL", "openssl", "3.0.11-1~deb12u1", "3.0.13-1"),
        Vulnerability("CVE-2024-0002", "HIGH", "zlib", "1:1.2.13.dfsg-1", effective_severity="LOW"),
    )
    container_analysis.seed_scan(
        container_analysis.resource_url("docker", "app", OTHER), Vulnerability("CVE-2024-0003")
    )

    found = {o.note_name.rpartition("/")[2]: o for o in listed(client, of("VULNERABILITY", image))}

    assert set(found) == {"CVE-2024-0001", "CVE-2024-0002"}
    fixable = found["CVE-2024-0001"]
    assert fixable.kind.name == "VULNERABILITY"
    assert fixable.resource_uri == image
    assert fixable.note_name == "projects/goog-vulnz/notes/CVE-2024-0001"
    assert fixable.vulnerability.severity.name == "CRITICAL"
    assert fixable.vulnerability.fix_available is True
    (issue,) = fixable.vulnerability.package_issue
    assert issue.affected_package == "openssl"
    assert (issue.affected_version.name, issue.affected_version.revision) == ("3.0.11", "1~deb12u1")
    assert issue.affected_version.kind.name == "NORMAL"
    assert issue.fixed_version.full_name == "3.0.13-1"
    assert issue.fix_available is True
    assert issue.effective_severity.name == "CRITICAL"
    unfixed = found["CVE-2024-0002"].vulnerability
    assert unfixed.fix_available is False
    assert unfixed.effective_severity.name == "LOW"
    assert unfixed.package_issue[0].fixed_version.kind.name == "MAXIMUM"
    assert unfixed.package_issue[0].affected_version.epoch == 1
    assert unfixed.cvss_score == pytest.approx(7.5)
    # The client library asked for numeric enums, as the real API is asked.
    assert {path for _, method, path, _ in container_analysis.requests} == {
        f"/v1/{PARENT}/occurrences"
    }


@pytest.mark.parametrize("enums", ["json;enum-encoding=int", "json"])
def test_the_json_is_grafeas_v1_field_for_field(container_analysis, credentials, image, enums):
    """Every field the emulator writes is one grafeas.v1 knows: parsed strictly (unknown fields
    refused), both with numeric enums (what the client asks for) and named ones."""
    from google.protobuf import json_format
    from grafeas.grafeas_v1 import ListOccurrencesResponse

    container_analysis.seed_scan(
        image,
        Vulnerability("CVE-2024-0001", "CRITICAL", fixed="3.0.13-1"),
        Vulnerability("CVE-2024-0002", "MEDIUM", legacy=True, fixed="2.0-1"),
        error="",
    )

    answer = raw(container_analysis, credentials, "", **{"$alt": enums})

    parsed = ListOccurrencesResponse.pb()()
    json_format.Parse(json.dumps(answer), parsed, ignore_unknown_fields=False)
    kinds = sorted(occurrence.kind for occurrence in parsed.occurrences)
    assert len(kinds) == 3
    assert isinstance(answer["occurrences"][0]["kind"], int if "int" in enums else str)
    legacy = next(o for o in answer["occurrences"] if o["noteName"].endswith("0002"))
    # Proto3 JSON leaves false out: an occurrence without fixAvailable reads as false.
    assert "fixAvailable" not in legacy["vulnerability"]
    assert "fixAvailable" not in legacy["vulnerability"]["packageIssue"][0]


def test_the_scan_finishes_after_some_reads_and_only_then_has_findings(
    client, container_analysis, image
):
    container_analysis.seed_scan(
        image, Vulnerability("CVE-2024-0001"), status="PENDING", finish_after=2
    )

    assert listed(client, of("VULNERABILITY", image)) == []
    statuses = []
    for _ in range(3):
        (discovery,) = listed(client, of("DISCOVERY", image))
        statuses.append(discovery.discovery.analysis_status.name)

    assert statuses == ["PENDING", "PENDING", "FINISHED_SUCCESS"]
    assert discovery.note_name == "projects/goog-analysis/notes/PACKAGE_VULNERABILITY"
    assert discovery.discovery.continuous_analysis.name == "ACTIVE"
    assert discovery.discovery.last_scan_time is not None
    assert len(listed(client, of("VULNERABILITY", image))) == 1
    again = client.get_occurrence(name=discovery.name)
    assert again.discovery.analysis_status.name == "FINISHED_SUCCESS"
    assert container_analysis.discovery_reads(image) == 4


def test_a_scan_that_never_finishes_and_one_that_failed(client, container_analysis, image):
    container_analysis.seed_scan(image, Vulnerability("CVE-2024-0001"), status="SCANNING")
    failed = container_analysis.resource_url("docker", "app", OTHER)
    container_analysis.seed_scan(failed, status="FINISHED_FAILED", error="layer unreadable")

    for _ in range(5):
        (discovery,) = listed(client, of("DISCOVERY", image))
        assert discovery.discovery.analysis_status.name == "SCANNING"
    (discovery,) = listed(client, of("DISCOVERY", failed))

    assert discovery.discovery.analysis_status.name == "FINISHED_FAILED"
    assert discovery.discovery.analysis_status_error.message == "layer unreadable"
    assert listed(client, of("VULNERABILITY", failed)) == []
    unscanned = container_analysis.resource_url("docker", "new", DIGEST)
    assert listed(client, of("DISCOVERY", unscanned)) == []


def test_pages(client, container_analysis, image):
    container_analysis.seed_scan(image, *(Vulnerability(f"CVE-2024-000{n}") for n in range(5)))

    found = listed(client, of("VULNERABILITY", image), page_size=2)

    assert len({occurrence.name for occurrence in found}) == 5
    assert len(container_analysis.requests) == 3


def test_the_filters_gcloud_sends(container_analysis, credentials, image):
    """`gcloud artifacts docker images describe --show-package-vulnerability` joins kinds and
    both spellings of the resource with OR, each in parentheses; doctor uses has_prefix."""
    container_analysis.seed_scan(image, Vulnerability("CVE-2024-0001"))
    bare = image.removeprefix("https://")
    gcloud = (
        '((kind = "VULNERABILITY") OR (kind = "DISCOVERY")) AND '
        f'((resourceUrl = "https://{bare}") OR (resourceUrl = "{bare}"))'
    )
    prefix = f'kind="DISCOVERY" AND has_prefix(resourceUrl, "{image.partition("@")[0]}@")'

    assert len(raw(container_analysis, credentials, gcloud)["occurrences"]) == 2
    assert len(raw(container_analysis, credentials, prefix)["occurrences"]) == 1
    assert raw(container_analysis, credentials, 'kind="BUILD"') == {}


def test_an_invalid_filter_is_refused(client, container_analysis):
    from google.api_core import exceptions

    for query in ('kind="VULNERABILITY" AND', 'colour="blue"', 'kind=="x"'):
        with pytest.raises(exceptions.BadRequest) as refused:
            listed(client, query)
        assert "Invalid filter" in refused.value.message


def test_errors_as_google_gives_them(client, container_analysis, gar, image):
    from google.api_core import exceptions

    with pytest.raises(exceptions.NotFound):
        client.get_occurrence(name=f"{PARENT}/occurrences/nothing")

    with pytest.raises(exceptions.Forbidden):
        client.list_occurrences(parent="projects/someone-else")

    gar.deny("containeranalysis.occurrences.list")
    with pytest.raises(exceptions.Forbidden) as denied:
        listed(client, of("DISCOVERY", image))
    assert denied.value.reason == "IAM_PERMISSION_DENIED"
    assert "containeranalysis.occurrences.list" in denied.value.message
    gar.grant("containeranalysis.occurrences.list")

    container_analysis.disable_api()
    with pytest.raises(exceptions.Forbidden) as disabled:
        listed(client, of("DISCOVERY", image))
    assert disabled.value.reason == "SERVICE_DISABLED"


def test_a_revoked_token_is_unauthenticated_and_the_client_refreshes(
    client, container_analysis, gar, credentials, image
):
    container_analysis.seed_scan(image)
    revoked = credentials.token
    gar.revoke_tokens()

    answer = requests.get(
        f"{container_analysis.endpoint}/v1/{PARENT}/occurrences",
        headers={"Authorization": f"Bearer {revoked}"},
        timeout=10,
    )

    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"
    # google-auth's session refreshes on a 401 and sends the request again.
    assert len(listed(client, of("DISCOVERY", image))) == 1
    assert [status for *_, status in container_analysis.requests] == [401, 401, 200]


def test_transient_failures_are_retried_by_the_client(client, container_analysis, image):
    from google.api_core import retry

    container_analysis.seed_scan(image, Vulnerability("CVE-2024-0001"))
    container_analysis.fail_next(2, status=503)

    found = list(
        client.list_occurrences(
            parent=PARENT,
            filter=of("VULNERABILITY", image),
            retry=retry.Retry(initial=0.05, maximum=0.1, timeout=10),
            timeout=10,
        )
    )

    assert len(found) == 1
    assert [status for *_, status in container_analysis.requests] == [503, 503, 200]


def test_the_container_analysis_client_hands_out_a_grpc_grafeas_client(container_analysis):
    """Why mlrelease builds grafeas_v1's REST transport itself: get_grafeas_client() ignores the
    transport it was made with and always returns a gRPC client."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.devtools import containeranalysis_v1
    from grafeas.grafeas_v1.services.grafeas.transports.grpc import GrafeasGrpcTransport

    analysis = containeranalysis_v1.ContainerAnalysisClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": container_analysis.endpoint},
    )

    assert isinstance(analysis.get_grafeas_client().transport, GrafeasGrpcTransport)
