"""The doctor's frame: selection, errors, remote checks in parallel, --offline, output, exits."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable

import pytest
from typer.testing import Result

from mlrelease.doctor import catalog, diagnose
from mlrelease.doctor.frame import (
    LocalCheck,
    Outcome,
    Project,
    Remote,
    RemoteCheck,
    fail,
    ok,
    select,
    warn,
)
from mlrelease.errors import GitError, UsageError
from mlrelease.output.render import Output
from tests.unit.doctor.conftest import ServiceRepo

Run = Callable[..., Result]
# `engine` is left out (no engine in unit tests); `size` skips (nothing built yet); `signing`
# warns (no key is configured).
LOCAL_IDS = [
    spec.id
    for spec in catalog.CHECKS
    if isinstance(spec, LocalCheck) and spec.id not in ("engine", "size", "signing")
]
REMOTE_IDS = [spec.id for spec in catalog.CHECKS if isinstance(spec, RemoteCheck)]


def _always(outcome: Outcome) -> Callable[[object], Outcome]:
    return lambda subject: outcome


def test_a_healthy_service_passes_every_local_check(service: ServiceRepo) -> None:
    report = diagnose(service.path, skipped=["engine"], offline=True)

    assert [(c.id, c.status) for c in report.checks] == [
        *((i, "ok") for i in LOCAL_IDS),
        ("size", "skip"),
        ("signing", "warn"),
        *((i, "skip") for i in REMOTE_IDS),
    ]
    assert report.exit_code == 0


def test_a_check_that_raises_is_an_error_and_the_others_still_run(service: ServiceRepo) -> None:
    def explode(project: Project) -> Outcome:
        raise RuntimeError("the parser fell over")

    checks = (
        LocalCheck("first", "First", _always(ok("fine"))),
        LocalCheck("broken", "Broken", explode),
        LocalCheck("after", "After", _always(ok("still fine"))),
        RemoteCheck("remote", "Remote", _always(ok("answered"))),
    )

    report = diagnose(service.path, checks=checks)

    by_id = {check.id: check for check in report.checks}
    assert by_id["broken"].status == "error"
    assert by_id["broken"].finding == (
        "the check itself failed: RuntimeError: the parser fell over"
    )
    assert "bug in mlrelease" in by_id["broken"].fix
    assert "RuntimeError: the parser fell over" in (by_id["broken"].traceback or "")
    assert [by_id[i].status for i in ("first", "after", "remote")] == ["ok", "ok", "ok"]
    assert report.exit_code == 1


def test_a_check_raising_an_mlrelease_error_is_an_error_with_its_hint(
    service: ServiceRepo,
) -> None:
    def git_breaks(project: Project) -> Outcome:
        raise GitError("`git status` failed: index file corrupt", hint="rebuild the index")

    (check,) = diagnose(service.path, checks=(LocalCheck("g", "G", git_breaks),)).checks

    assert (check.status, check.finding, check.fix) == (
        "error",
        "`git status` failed: index file corrupt",
        "rebuild the index",
    )
    assert check.traceback is None


def test_remote_checks_run_concurrently_and_get_the_settings(service: ServiceRepo) -> None:
    # Each check waits for the other at the barrier: run one after the other, the first
    # would time out and break it.
    barrier = threading.Barrier(2, timeout=10)
    seen: list[Remote] = []

    def meet(remote: Remote) -> Outcome:
        seen.append(remote)
        barrier.wait()
        return ok(f"met in thread {threading.current_thread().name}")

    checks = (RemoteCheck("remote.a", "A", meet), RemoteCheck("remote.b", "B", meet))

    report = diagnose(service.path, checks=checks)

    assert [c.status for c in report.checks] == ["ok", "ok"], report.checks
    assert report.checks[0].finding != report.checks[1].finding  # two threads
    assert [r.settings.root for r in seen] == [service.path, service.path]
    assert seen[0].settings.image == "svc"
    assert seen[0] is seen[1]  # one Remote per run: what the checks share is made once


def test_offline_skips_remote_checks_without_calling_them(service: ServiceRepo) -> None:
    called: list[str] = []

    def remote(shared: Remote) -> Outcome:
        called.append("remote")
        return fail("unreachable", "never")

    checks = (LocalCheck("local", "Local", _always(ok("here"))), RemoteCheck("r", "R", remote))

    report = diagnose(service.path, checks=checks, offline=True)

    assert [(c.id, c.status, c.finding) for c in report.checks] == [
        ("local", "ok", "here"),
        ("r", "skip", "--offline: not checked"),
    ]
    assert called == []
    assert report.exit_code == 0


def test_an_invalid_configuration_fails_config_and_the_rest_runs(service: ServiceRepo) -> None:
    service.write("pyproject.toml", '[tool.mlrelease]\nregoin = "europe-west1"\n')
    service.commit_all()
    remote = RemoteCheck("credentials", "Credentials", _always(ok("never asked")))

    report = diagnose(service.path, checks=(*catalog.CHECKS, remote), skipped=["engine"])

    by_id = {check.id: check for check in report.checks}
    assert by_id["config"].status == "fail"
    assert by_id["config"].finding == "unknown key 'regoin' in pyproject.toml [tool.mlrelease]"
    assert by_id["config"].fix.startswith("did you mean 'region'?")
    for needs_settings in ("dockerfile.present", "dockerfile.user", "model", "credentials"):
        assert by_id[needs_settings].status == "skip"
        assert "configuration is invalid (see config)" in by_id[needs_settings].finding
    for independent in ("git.repository", "requirements.pinned", "workflow", "secrets.files"):
        assert by_id[independent].status == "ok", by_id[independent]
    assert report.exit_code == 1


def test_selectors_are_ids_or_prefixes() -> None:
    specs = catalog.CHECKS

    assert [s.id for s in select(specs, only=["git", "model"])] == [
        "model",
        "git.repository",
        "git.tags",
        "git.clean",
    ]
    without = [s.id for s in select(specs, skipped=["dockerfile", "tests.collect"])]
    assert not any(i.startswith("dockerfile") or i == "tests.collect" for i in without)
    assert "tests.paths" in without
    assert "docker" not in [s.id for s in select(specs, only=["dockerfile"])]
    with pytest.raises(UsageError, match="no doctor check is called 'docker'"):
        select(specs, only=["docker"])  # a prefix selects whole dotted parts only


def test_strict_makes_warnings_fail(service: ServiceRepo) -> None:
    checks = (LocalCheck("soft", "Soft", _always(warn("meh", "do better"))),)

    assert diagnose(service.path, checks=checks).exit_code == 0
    assert diagnose(service.path, checks=checks, strict=True).exit_code == 1


# The command


def test_json_lists_every_check_with_a_summary(service: ServiceRepo, run: Run) -> None:
    service.remove("Dockerfile")
    service.commit_all()

    result = run("--json", "doctor", "--offline", "--skip", "engine,tests.collect")

    assert result.exit_code == 1, result.output
    envelope = json.loads(result.stdout)
    assert (envelope["command"], envelope["ok"], envelope["exit_code"]) == ("doctor", False, 1)
    data = envelope["data"]
    checks = {check["id"]: check for check in data["checks"]}
    assert set(checks) == (set(LOCAL_IDS) | {"size", "signing"} | set(REMOTE_IDS)) - {
        "tests.collect"
    }
    assert set(checks["dockerfile.present"]) == {
        "id",
        "title",
        "status",
        "finding",
        "fix",
        "seconds",
    }
    assert checks["dockerfile.present"]["status"] == "fail"
    assert checks["dockerfile.present"]["title"] == "Dockerfile present"
    statuses = [check["status"] for check in data["checks"]]
    assert data["summary"] == {
        s: statuses.count(s) for s in ("ok", "warn", "fail", "skip", "error")
    }
    # Every other dockerfile.* check needs the file; the remote ones are offline.
    assert data["summary"]["skip"] == 7 + 1 + len(REMOTE_IDS)  # and size: nothing built
    assert data["seconds"] >= max(check["seconds"] for check in data["checks"])
    assert (data["offline"], data["strict"]) == (True, False)


def test_plain_output_is_a_line_per_check_and_a_fix_line(service: ServiceRepo, run: Run) -> None:
    service.write("requirements.txt", "fastapi\n")
    service.commit_all()

    result = run("doctor", "--only", "requirements,git.tags")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].split() == [
        "fail",
        "requirements.pinned",
        "not",
        "pinned:",
        "requirements.txt:1",
        "`fastapi`",
    ]
    assert lines[1].split()[0] == "fix:"
    assert lines[2].split()[:2] == ["ok", "git.tags"]
    assert lines[3].startswith("2 checks in ")
    assert lines[3].endswith("1 ok, 1 fail")


def test_warnings_pass_unless_strict(service: ServiceRepo, run: Run) -> None:
    service.write("notes.txt", "uncommitted\n")

    assert run("doctor", "--only", "git.clean").exit_code == 0
    strict = run("doctor", "--only", "git.clean", "--strict")
    assert strict.exit_code == 1, strict.output
    assert "(warnings fail under --strict)" in strict.stderr


def test_an_unknown_check_is_a_usage_error(service: ServiceRepo, run: Run) -> None:
    result = run("doctor", "--only", "dockerfle")

    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == "error: no doctor check is called 'dockerfle'"
    assert result.stderr.splitlines()[1].startswith(
        "hint: name checks or their prefixes from: config, engine,"
    )


def test_a_registered_remote_check_is_skipped_offline_by_the_command(
    service: ServiceRepo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = RemoteCheck("remote", "Remote answers", _always(fail("gone", "create it")))
    monkeypatch.setattr(catalog, "CHECKS", (*catalog.CHECKS, remote))

    offline = run("--json", "doctor", "--offline", "--only", "remote")
    online = run("--json", "doctor", "--only", "remote")

    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout)["data"]["checks"][0]["status"] == "skip"
    assert online.exit_code == 1, online.output
    (check,) = json.loads(online.stdout)["data"]["checks"]
    assert (check["status"], check["finding"], check["fix"]) == ("fail", "gone", "create it")


def test_verbose_shows_the_traceback_of_an_error(
    service: ServiceRepo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(project: Project) -> Outcome:
        raise KeyError("stages")

    monkeypatch.setattr(catalog, "CHECKS", (LocalCheck("broken", "Broken", explode),))

    quiet = run("doctor")
    verbose = run("--verbose", "doctor")

    assert quiet.exit_code == verbose.exit_code == 1
    assert "the check itself failed: KeyError: 'stages'" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in verbose.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_report_is_a_table(service: ServiceRepo) -> None:
    report = diagnose(service.path, only=["git"])
    stderr = _Terminal()
    out = Output(stdout=io.StringIO(), stderr=stderr, env={"TERM": "xterm"})

    code = out.emit(report)

    assert code == 0
    text = stderr.getvalue()
    assert "CHECK" in text and "FINDING" in text and "FIX" in text
    assert "│" in text  # a Rich table, not plain lines
    assert "git.repository" in text and "git.clean" in text
