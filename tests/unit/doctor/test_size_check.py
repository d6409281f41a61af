"""`size`: the last recorded build against the budget, each state on the fixture service."""

from __future__ import annotations

from mlrelease.build.sizes import MB
from mlrelease.config.settings import load_settings
from mlrelease.history import BuildRecord, record_build
from tests.unit.doctor.conftest import ServiceRepo


def _record(service: ServiceRepo, size_mb: float) -> None:
    settings = load_settings(service.path)
    record_build(
        settings,
        BuildRecord(
            image=settings.image,
            ref=f"{settings.image}:sha-{service.head[:7]}",
            tags=(f"{settings.image}:sha-{service.head[:7]}",),
            image_id="sha256:" + "a" * 64,
            size_bytes=int(size_mb * MB),
            time="2026-12-01T04:30:00Z",
            commit=service.head,
            version=None,
        ),
    )


def test_no_build_yet_is_skipped(service: ServiceRepo) -> None:
    check = service.check("size")

    assert check.status == "skip"
    assert "no build of svc recorded yet" in check.finding


def test_the_last_build_within_the_budget_is_ok(service: ServiceRepo, monkeypatch) -> None:
    monkeypatch.setenv("MLRELEASE_SIZE_BUDGET_MB", "500")
    _record(service, 900)
    _record(service, 420)

    check = service.check("size")

    assert check.status == "ok"
    assert check.finding.endswith("is 420.0 MB, within the budget of 500 MB")


def test_a_build_over_the_warning_threshold_warns(service: ServiceRepo, monkeypatch) -> None:
    monkeypatch.setenv("MLRELEASE_SIZE_WARN_MB", "400")
    _record(service, 420)

    check = service.check("size")

    assert check.status == "warn"
    assert "over the warning threshold of 400 MB" in check.finding
    assert "size_warn_mb" in check.fix


def test_a_build_over_the_budget_fails_with_the_fix(service: ServiceRepo, monkeypatch) -> None:
    monkeypatch.setenv("MLRELEASE_SIZE_BUDGET_MB", "400")
    _record(service, 420)

    check = service.check("size")

    assert check.status == "fail"
    assert "is 420.0 MB, over the budget of 400 MB" in check.finding
    assert check.fix.startswith("`mlrelease size` names the largest layers")
