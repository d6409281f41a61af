"""Image size over time: the build history, the change against earlier builds, the budget.

The history is `.mlrelease/builds.jsonl` under the project root: one JSON object per line, one
line appended by every `mlrelease build` that produced an image (also one over its budget):

    {"image": "ml-service", "ref": "ml-service:sha-1a2b3c4", "tags": ["ml-service:sha-1a2b3c4"],
     "image_id": "sha256:...", "size_bytes": 399519563, "time": "2026-12-01T04:30:00Z",
     "commit": "<40 hex digits>", "version": "v1.2.0"}

`image` is the name without a tag, `ref` the first tag, `time` when the build finished (UTC,
RFC 3339) and `version` the release tag the image got, or null. Lines that do not parse are
skipped, so a hand-edited or truncated file never stops a build. The directory holds a
`.gitignore` of `*`: the history is local state, and never makes the working tree dirty.

Sizes are in bytes; budgets are in megabytes of 1,000,000 bytes, as the reports print them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrelease.errors import SizeBudgetExceeded
from mlrelease.results.build import Budget, SizeChange

if TYPE_CHECKING:
    from mlrelease.config.settings import Settings

STATE_DIR = ".mlrelease"
HISTORY_FILE = "builds.jsonl"
MB = 1_000_000


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
        )


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
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# mlrelease's local state\n*\n", encoding="utf-8")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(record) | {"tags": list(record.tags)}) + "\n")


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


def compare(
    history: Sequence[BuildRecord], image: str, size_bytes: int
) -> tuple[SizeChange | None, SizeChange | None]:
    """The change against the latest build of `image` in `history` and against its latest
    version-tagged build; None where there is none."""
    builds = [record for record in history if record.image == image]
    releases = [record for record in builds if record.version]

    def change(record: BuildRecord) -> SizeChange:
        return SizeChange(record.ref, record.size_bytes, size_bytes - record.size_bytes)

    return (
        change(builds[-1]) if builds else None,
        change(releases[-1]) if releases else None,
    )


def check_budget(settings: Settings, size_bytes: int) -> Budget:
    """Where `size_bytes` stands against `size_warn_mb` and `size_budget_mb`."""
    warn, fail = settings.size_warn_mb, settings.size_budget_mb
    status = "ok"
    if fail is not None and size_bytes > fail * MB:
        status = "fail"
    elif warn is not None and size_bytes > warn * MB:
        status = "warn"
    return Budget(warn_mb=warn, fail_mb=fail, status=status)


def budget_error(ref: str, size_bytes: int, budget: Budget) -> SizeBudgetExceeded | None:
    """The failure to report when `budget` failed: the size, the budget and the overshoot."""
    if budget.status != "fail" or budget.fail_mb is None:
        return None
    over = size_bytes - budget.fail_mb * MB
    return SizeBudgetExceeded(
        f"{ref} is {size_bytes / MB:.1f} MB, over the size budget of {budget.fail_mb:g} MB "
        f"by {over / MB:.1f} MB ({over / (budget.fail_mb * MB):.1%}); the image stays tagged",
        hint="`mlrelease size` shows the largest layers; shrink them, or raise size_budget_mb "
        "(--size-budget-mb, MLRELEASE_SIZE_BUDGET_MB, [tool.mlrelease])",
    )
