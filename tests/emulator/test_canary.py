"""The session-wide canary check (tests/conftest.py) catches a secret wherever a test shows it.

The leaky session runs in a subprocess without a terminal reporter, its results read from a JUnit
XML file, so the canary it shows never reaches this test's own captured output or log."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.emulator import CANARY

REPO = Path(__file__).resolve().parents[2]

LEAKY_TESTS = """
import logging
import sys

from tests.emulator import CANARY


def test_prints_a_token():
    print("token:", "ya29." + CANARY)


def test_writes_a_key_to_stderr():
    sys.stderr.write(CANARY)


def test_logs_a_token():
    logging.getLogger("mlrelease").warning("Authorization: Bearer %s", CANARY)


def test_fails_with_a_token_in_the_message():
    raise RuntimeError("refresh failed for " + CANARY)


def test_keeps_secrets():
    print("token: ***")
"""


def test_a_leak_fails_the_test_and_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    junit = pytester.path / "results.xml"

    result = pytester.runpytest_subprocess(
        "-p", "tests.conftest", "-p", "no:terminal", f"--junitxml={junit}"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    failures = {case.get("name"): case.find("failure") for case in cases}
    reasons = {name: None if f is None else f.get("message") for name, f in failures.items()}
    assert {name: r and r.splitlines()[0] for name, r in reasons.items()} == {
        "test_keeps_secrets": None,
        "test_prints_a_token": "a secret leaked into Captured stdout call",
        "test_writes_a_key_to_stderr": "a secret leaked into Captured stderr call",
        "test_logs_a_token": "a secret leaked into Captured log call",
        "test_fails_with_a_token_in_the_message": "a secret leaked into the failure text",
    }
    # The original failure stays readable, the canary masked.
    assert (
        "RuntimeError: refresh failed for <canary>"
        in reasons["test_fails_with_a_token_in_the_message"]
    )
    assert CANARY not in junit.read_text()
