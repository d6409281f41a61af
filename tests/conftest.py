"""For every test: the GAR emulator's fixtures, and the proof that no secret leaks.

The emulator plants CANARY in every private key and token it issues. A test whose captured
stdout, stderr or log, or whose failure text, contains it fails, and with it the session. The
report then shows the canary masked, so that the session's own output never carries it.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from tests.emulator import CANARY

pytest_plugins = ["pytester", "tests.emulator.fixtures", "tests.emulator.cloud_fixtures"]

MASK = "<canary>"

# Application Default Credentials would probe the GCE metadata server, off this machine; make
# google-auth skip it (read when google.auth is first imported, so set before any test runs).
os.environ["NO_GCE_CHECK"] = "true"
os.environ["GCE_METADATA_HOST"] = os.environ["GCE_METADATA_IP"] = "127.0.0.1:9"


@pytest.fixture(autouse=True)
def _fresh_secrets() -> None:
    """Each test starts as a new process would: no secret registered by an earlier test's
    settings masks this test's output."""
    from mlrelease.secrets import forget_secrets

    forget_secrets()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A report carries the sections of the phases before it too: look at this phase's own.
    leaks = [
        title
        for title, content in report.sections
        if title.endswith(f" {report.when}") and CANARY in content
    ]
    failure = report.longreprtext if report.failed else ""
    if CANARY in failure:
        leaks.append("the failure text")
    if leaks:
        report.outcome = "failed"
        report.longrepr = "\n\n".join(
            filter(
                None, [f"a secret leaked into {', '.join(leaks)}", failure.replace(CANARY, MASK)]
            )
        )
        report.sections = [(title, text.replace(CANARY, MASK)) for title, text in report.sections]
    return report
