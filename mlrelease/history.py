"""The build history: what was built when, how big, from which commit, and whether it passed
its smoke test. Written by `build` and `smoke`, read by `size`, `doctor` and `push`.

The history is `.mlrelease/builds.jsonl` under the project root: one JSON object per line, one
line appended by every `mlrelease build` that produced an image (also one over its budget):

    {"image": "ml-service", "ref": "ml-service:sha-1a2b3c4", "tags": ["ml-service:sha-1a2b3c4"],
     "image_id": "sha256:...", "size_bytes": 399519563, "time": "2026-12-01T04:30:00Z",
     "commit": "<40 hex digits>", "version": "v1.2.0"}

`image` is the name without a tag, `ref` the first tag, `time` when the build finished (UTC,
RFC 3339) and `version` the release tag the image got, or null. A smoke test of the image
(`build --smoke`, `mlrelease smoke`) adds `"smoke": "passed"|"failed"` and `"smoked_at"` to
every line of that image ID (the file is rewritten whole, atomically); an image ID the history
has no build of gets a line of its own, `{"image_id", "smoke", "smoked_at"}`, which is no build
record. Lines that do not parse are skipped, so a hand-edited or truncated file never stops a
build. The directory holds a
`.gitignore` of `*`: the history is local state, and never makes the working tree dirty.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

STATE_DIR = ".mlrelease"
HISTORY_FILE = "builds.jsonl"


@dataclass(frozen=True)
class BuildRecord:
    """One line of the build history (see the module docstring for the format)."""

    image: str
    ref: str
    tags: tuple[str, ...]
    image_id: str
    size_bytes: int
    time: str
    commit: str
    version: str | None
    smoke: Literal["passed", "failed"] | None = None  # None: never smoke-tested
    smoked_at: str | None = None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> BuildRecord:
        """A record from one parsed line; KeyError, TypeError or ValueError if malformed."""
        return cls(
            image=str(item["image"]),
            ref=str(item["ref"]),
            tags=tuple(str(tag) for tag in item["tags"]),
            image_id=str(item["image_id"]),
            size_bytes=int(item["size_bytes"]),
            time=str(item["time"]),
            commit=str(item["commit"]),
            version=None if item.get("version") is None else str(item["version"]),
            smoke=_outcome(item.get("smoke")),
            smoked_at=None if item.get("smoked_at") is None else str(item["smoked_at"]),
        )


def _outcome(value: object) -> Literal["passed", "failed"] | None:
    if value == "passed":
        return "passed"
    return "failed" if value == "failed" else None


def history_path(settings: Settings) -> Path:
    """Where the build history of the project lives."""
    return settings.root / STATE_DIR / HISTORY_FILE


def read_history(settings: Settings) -> list[BuildRecord]:
    """Every readable record, oldest first; empty when there is no history yet."""
    try:
        lines = history_path(settings).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            records.append(BuildRecord.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return records


def record_build(settings: Settings, record: BuildRecord) -> None:
    """Append `record` to the history, creating the git-ignored state directory if needed."""
    path = history_path(settings)
    _ensure_state_dir(path)
    with path.open("a", encoding="utf-8") as handle:
        item = asdict(record) | {"tags": list(record.tags)}
        if record.smoke is None:  # the line format of an untested build stays as it was
            del item["smoke"], item["smoked_at"]
        handle.write(json.dumps(item) + "\n")


def record_smoke(
    settings: Settings, image_id: str, *, passed: bool, when: datetime | None = None
) -> None:
    """Record that the image `image_id` passed (or failed) a smoke test at `when` (default:
    now), on every build line of that image, or on a line of its own when there is none."""
    moment = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    outcome = {"smoke": "passed" if passed else "failed", "smoked_at": moment}
    path = history_path(settings)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    kept, matched = [], False
    for line in lines:
        item = _parsed(line)
        if item is not None and item.get("image_id") == image_id and "ref" in item:
            line, matched = json.dumps(item | outcome), True
        kept.append(line)
    if not matched:
        kept.append(json.dumps({"image_id": image_id, **outcome}))
    _ensure_state_dir(path)
    # Written beside the history, then renamed over it: a reader never sees half a file.
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=".builds.", delete=False
    ) as handle:
        temporary = Path(handle.name)
        try:
            handle.write("".join(f"{line}\n" for line in kept))
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
    os.replace(temporary, path)


def smoke_record(settings: Settings, image_id: str) -> Literal["passed", "failed"] | None:
    """The latest smoke-test outcome recorded for `image_id`; None if it was never tested."""
    try:
        lines = history_path(settings).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        item = _parsed(line)
        outcome = _outcome(item.get("smoke")) if item is not None else None
        if outcome and item is not None and item.get("image_id") == image_id:
            return outcome
    return None


def _parsed(line: str) -> dict[str, Any] | None:
    try:
        item = json.loads(line)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


def _ensure_state_dir(path: Path) -> None:
    """The history's directory, with the `.gitignore` that keeps it out of git."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# mlrelease's local state\n*\n", encoding="utf-8")


def last_build(settings: Settings, image: str | None = None) -> BuildRecord | None:
    """The most recent build of `image` (default: the configured one), None if never built."""
    name = image or settings.image
    builds = [record for record in read_history(settings) if record.image == name]
    return builds[-1] if builds else None


def recorded_before(history: Sequence[BuildRecord], image_id: str) -> list[BuildRecord]:
    """The records older than the last one of `image_id`; all of them if it is not there."""
    for index in range(len(history) - 1, -1, -1):
        if history[index].image_id == image_id:
            return list(history[:index])
    return list(history)
