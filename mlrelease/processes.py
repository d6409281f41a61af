"""Child processes that end with mlrelease: git, and whatever it starts (ssh, credential helpers).

A child stays in the CLI's process group, so Ctrl-C on a terminal reaches it directly and ssh
can still ask for a passphrase. When mlrelease alone is interrupted (`kill -INT`, `kill -TERM`,
a CI runner cancelling the step) or a child overruns its timeout, `run_all` stops the child and
every process below it: git does not pass a signal on to its ssh.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_GRACE_S = 2.0


def run_all(
    commands: Sequence[Sequence[str]], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> list[subprocess.CompletedProcess[str]]:
    """Run `commands` side by side to completion, their output captured (text, stdin closed),
    within one `timeout` for all; their results in the same order.

    On a failure to start one, a timeout or an interruption (KeyboardInterrupt, SIGTERM through
    `stop_on_sigterm`) every child still running is stopped, with its descendants, before the
    exception goes on.
    """
    deadline = time.monotonic() + timeout
    procs: list[subprocess.Popen[str]] = []
    results: list[subprocess.CompletedProcess[str]] = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(
                    list(command),
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                )
            )
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=max(deadline - time.monotonic(), 0))
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    except BaseException:
        for proc in procs[len(results) :]:
            stop(proc)
        raise
    return results


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate `proc` and its descendants; kill what is left after a short grace period."""
    tree = [*descendants(proc.pid), proc.pid]
    _signal_all(tree, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=_GRACE_S)
    # The child itself through Popen, which knows whether its pid is still its own.
    _signal_all([pid for pid in tree if pid != proc.pid], signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children before grandchildren (Linux /proc; elsewhere none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:  # it ended while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    queue = [pid]
    while queue:
        below = children.get(queue.pop(0), [])
        found.extend(below)
        queue.extend(below)
    return found


def _signal_all(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def stop_on_sigterm() -> None:
    """Treat SIGTERM (a CI runner cancelling the job) like Ctrl-C: the command unwinds, its
    children are stopped, and it exits 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
