"""`signing`: whether releases are signed; the key itself never appears in the finding."""

from __future__ import annotations

import pytest

from tests.unit.doctor.conftest import ServiceRepo
from tests.unit.supply.keys import new_key_pair


def test_without_a_key_releases_are_unsigned_and_doctor_warns(service: ServiceRepo) -> None:
    check = service.check("signing")

    assert check.status == "warn"
    assert "MLRELEASE_SIGNING_KEY" in check.fix


def test_a_signing_key_is_reported_by_where_it_came_from(
    service: ServiceRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = new_key_pair()
    monkeypatch.setenv("MLRELEASE_SIGNING_KEY", keys.private_pem)

    check = service.check("signing")

    assert (check.status, check.finding) == (
        "ok",
        "releases are signed with the key from env MLRELEASE_SIGNING_KEY",
    )
    assert keys.private_pem.splitlines()[1] not in check.finding + check.fix


def test_a_key_that_is_no_key_fails(service: ServiceRepo, monkeypatch) -> None:
    monkeypatch.setenv("MLRELEASE_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nnot a key\n")

    check = service.check("signing")

    assert check.status == "fail"
