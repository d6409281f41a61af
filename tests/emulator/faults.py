"""Injected faults: error answers and dropped connections (`fail_next`), and requests held
without an answer (`hang_next`). Every hang ends by itself: after its seconds, at `release()`,
or at MAX_HANG_S at the latest, so that no test and no `stop()` waits forever."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

# Where faults land (see GarEmulator.fail_next and GarEmulator.hang_next).
FAULT_TARGETS = ("registry", "push", "api", "token", "registry-token")
HANG_TARGETS = ("api", "token", "registry", "registry-token")
MAX_HANG_S = 300.0


@dataclass(frozen=True)
class Fault:
    status: int
    drop: bool


@dataclass(frozen=True)
class Hang:
    seconds: float
    released: threading.Event  # set by release(): every hang queued before it ends at once


class Faults:
    """Queues of faults and hangs per target, taken one per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, list[Fault]] = {}
        self._hangs: dict[str, list[Hang]] = {}
        self._released = threading.Event()
        self._held: Counter[str] = Counter()

    def fail_next(self, n: int, target: str, status: int, drop: bool) -> None:
        if target not in FAULT_TARGETS:
            raise ValueError(f"target must be one of {FAULT_TARGETS}, not {target!r}")
        with self._lock:
            self._faults.setdefault(target, []).extend([Fault(status, drop)] * n)

    def take_fault(self, target: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(target)
            return queue.pop(0) if queue else None

    def hang_next(self, n: int, target: str, seconds: float | None, after: int = 0) -> None:
        if target not in HANG_TARGETS:
            raise ValueError(f"target must be one of {HANG_TARGETS}, not {target!r}")
        bounded = MAX_HANG_S if seconds is None else min(max(seconds, 0.0), MAX_HANG_S)
        with self._lock:
            # The first `after` requests pass (a hang of no time), then n are held.
            queue = self._hangs.setdefault(target, [])
            queue.extend([Hang(0.0, self._released)] * after)
            queue.extend([Hang(bounded, self._released)] * n)

    def take_hang(self, target: str) -> Hang | None:
        with self._lock:
            queue = self._hangs.get(target)
            return queue.pop(0) if queue else None

    def hold(self, hang: Hang, target: str) -> None:
        """Block the calling request's thread until the hang ends."""
        with self._lock:
            self._held[target] += 1
        try:
            hang.released.wait(hang.seconds)
        finally:
            with self._lock:
                self._held[target] -= 1

    def held(self, target: str) -> int:
        """How many requests to `target` are being held right now."""
        with self._lock:
            return self._held[target]

    def release(self) -> None:
        """End every hang now, held or queued; later hang_next calls queue new ones."""
        with self._lock:
            self._released.set()
            self._released = threading.Event()
            self._hangs.clear()

    def clear(self) -> None:
        self.release()
        with self._lock:
            self._faults.clear()
