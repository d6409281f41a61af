"""The smoke outcome of an image, kept in the build history for `push --require-smoke`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mlrelease.config.settings import load_settings
from mlrelease.history import (
    BuildRecord,
    history_path,
    read_history,
    record_build,
    record_smoke,
    smoke_record,
)

WHEN = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def _record(image_id: str, ref: str = "svc:sha-1111111") -> BuildRecord:
    return BuildRecord("svc", ref, (ref,), image_id, 100, "2026-12-01T04:00:00Z", "c" * 40, None)


def _settings(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.mlrelease]\nimage = "svc"\n')
    return load_settings(tmp_path)


def test_an_untested_build_has_no_smoke_record_and_its_line_is_unchanged(tmp_path) -> None:
    settings = _settings(tmp_path)
    record_build(settings, _record("sha256:a"))

    assert smoke_record(settings, "sha256:a") is None
    assert "smoke" not in json.loads(history_path(settings).read_text())


def test_the_outcome_is_recorded_on_every_build_of_the_image_and_the_latest_wins(
    tmp_path,
) -> None:
    settings = _settings(tmp_path)
    record_build(settings, _record("sha256:a"))
    record_build(settings, _record("sha256:b", "svc:sha-2222222"))
    record_build(settings, _record("sha256:a", "svc:sha-3333333"))

    record_smoke(settings, "sha256:a", passed=False, when=WHEN)
    assert smoke_record(settings, "sha256:a") == "failed"
    record_smoke(settings, "sha256:a", passed=True, when=WHEN)

    assert smoke_record(settings, "sha256:a") == "passed"
    assert smoke_record(settings, "sha256:b") is None
    history = read_history(settings)
    assert [(r.image_id, r.smoke, r.smoked_at) for r in history] == [
        ("sha256:a", "passed", "2026-12-01T04:30:00Z"),
        ("sha256:b", None, None),
        ("sha256:a", "passed", "2026-12-01T04:30:00Z"),
    ]


def test_an_image_the_history_never_built_gets_a_line_that_is_no_build(tmp_path) -> None:
    settings = _settings(tmp_path)
    history_path(settings).parent.mkdir()
    history_path(settings).write_text("not json\n")

    record_smoke(settings, "sha256:elsewhere", passed=True, when=WHEN)

    assert smoke_record(settings, "sha256:elsewhere") == "passed"
    assert read_history(settings) == []
    assert history_path(settings).read_text().startswith("not json\n")  # kept as it was
