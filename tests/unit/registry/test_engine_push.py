"""The rules of a push that need no engine: how the engine's failure texts are classified, and
which alias tags a version moves."""

from __future__ import annotations

import pytest

from mlrelease.errors import ExitCode, TransientError
from mlrelease.refs import parse
from mlrelease.registry.engine_push import classify
from mlrelease.results.push import PushEvent

REF = parse("us-central1-docker.pkg.dev/p/docker/ml-service:v1.2.0")


@pytest.mark.parametrize(
    ("message", "exit_code"),
    [
        (
            'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on '
            'resource "projects/p/locations/us-central1/repositories/docker" (or it may not exist)',
            ExitCode.AUTH,
        ),
        ("unauthorized: authentication failed", ExitCode.AUTH),
        ('name unknown: Repository "docker" not found', ExitCode.PRECONDITION),
        ("manifest invalid: manifest invalid", ExitCode.EXTERNAL),
    ],
)
def test_a_final_push_failure_gets_the_exit_code_of_whose_fault_it_is(
    message: str, exit_code: ExitCode
) -> None:
    error = classify(REF, message)

    assert error.exit_code == exit_code
    assert message.split(":")[0] in error.message


@pytest.mark.parametrize(
    "message",
    [
        "received unexpected HTTP status: 503 Service Unavailable",
        "received unexpected HTTP status: 500 Internal Server Error",
        "toomanyrequests: Too Many Requests (HAP429)",
        "Patch https://r/v2/x/blobs/uploads/1: read: connection reset by peer",
        "Get https://r/v2/: net/http: TLS handshake timeout",
        "Put https://r/v2/x/manifests/v1: EOF",
    ],
)
def test_transient_push_failures_are_retried(message: str) -> None:
    error = classify(REF, message)

    assert isinstance(error, TransientError)
    assert error.exit_code == ExitCode.EXTERNAL


def test_a_final_failure_is_not_retried() -> None:
    assert not isinstance(classify(REF, "manifest invalid: manifest invalid"), TransientError)


def test_a_layer_is_done_when_sent_or_found() -> None:
    assert PushEvent("abc", "Pushed").final
    assert PushEvent("abc", "Layer already exists").final
    assert PushEvent("abc", "Mounted from p/other").final
    assert not PushEvent("abc", "Pushing", 10, 100).final


def test_a_push_result_feeds_github_outputs_and_the_job_summary(tmp_path) -> None:
    import io

    from mlrelease.output.render import Output
    from mlrelease.results.push import PushResult

    outputs, summary = tmp_path / "output", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    digest = "sha256:" + "d" * 64
    result = PushResult(
        ref=f"{REF.repository}:v1.2.0",
        uri=REF.repository,
        digest=digest,
        pushed=True,
        verified=True,
        dry_run=False,
        local_image="ml-service:v1.2.0",
        compressed_size_bytes=155_000_000,
        aliases=("v1.2", "latest"),
        attempts=1,
        credentials_source="GCP_SA_KEY: service account ci@p.iam.gserviceaccount.com",
        target="artifact-registry",
    )
    stdout = io.StringIO()

    assert Output(env=env, stdout=stdout, stderr=io.StringIO()).emit(result) == 0
    assert stdout.getvalue() == f"{REF.repository}@{digest}\n"
    assert outputs.read_text().splitlines() == [
        f"image={REF.repository}@{digest}",
        "tags=v1.2.0,v1.2,latest",
        f"digest={digest}",
        "size_bytes=155000000",
    ]
    text = summary.read_text()
    assert f"| digest | `{digest}` |" in text
    assert "| verified | yes |" in text
    assert "| aliases | `v1.2`, `latest` |" in text
