"""Child processes side by side: `run_all` runs its commands at once, keeps their order, and
leaves none running when one times out or cannot start."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from mlrelease import processes


def _running(marker: str) -> list[int]:
    """The live (not zombie) processes whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _none_left(marker: str) -> bool:
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(marker)


def _sleeper(marker: Path) -> list[str]:
    # sh stays (no exec), so the marker is in a command line while it and its sleep run.
    return ["sh", "-c", "sleep 30; true", str(marker)]


def test_the_commands_run_at_once_and_their_results_keep_their_order(tmp_path: Path) -> None:
    # The first waits for a file that only the second makes: run one after the other, the
    # first would time out.
    flag = tmp_path / "flag"
    waits = f"while [ ! -e {flag} ]; do sleep 0.01; done; echo first"
    makes = f"touch {flag}; echo second >&2; exit 3"

    first, second = processes.run_all(
        [["sh", "-c", waits], ["sh", "-c", makes]], cwd=tmp_path, env=os.environ, timeout=10
    )

    assert (first.args, first.returncode, first.stdout, first.stderr) == (
        ["sh", "-c", waits],
        0,
        "first\n",
        "",
    )
    assert (second.returncode, second.stdout, second.stderr) == (3, "", "second\n")


def test_a_timeout_stops_every_command_still_running(tmp_path: Path) -> None:
    commands = [_sleeper(tmp_path / "a"), _sleeper(tmp_path / "b")]

    with pytest.raises(subprocess.TimeoutExpired):
        processes.run_all(commands, cwd=tmp_path, env=os.environ, timeout=1)

    assert _none_left(str(tmp_path))


def test_a_command_that_cannot_start_stops_the_ones_started(tmp_path: Path) -> None:
    commands = [_sleeper(tmp_path / "a"), [str(tmp_path / "missing")]]

    with pytest.raises(FileNotFoundError):
        processes.run_all(commands, cwd=tmp_path, env=os.environ, timeout=10)

    assert _none_left(str(tmp_path))
