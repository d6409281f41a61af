"""The build history, size comparisons, budgets, and how a build over budget is reported."""

from __future__ import annotations

import io
import json

import pytest

from mlrelease.build.sizes import budget_error, check_budget, compare
from mlrelease.config.settings import load_settings
from mlrelease.history import (
    BuildRecord,
    history_path,
    last_build,
    read_history,
    record_build,
    recorded_before,
)
from mlrelease.output.progress import build_progress
from mlrelease.output.render import Output
from mlrelease.results.build import Budget, BuildResult, SizeChange
from tests.unit.conftest import Repo


def _record(ref: str, image_id: str, size: int, version: str | None = None) -> BuildRecord:
    return BuildRecord(
        image=ref.rpartition(":")[0],
        ref=ref,
        tags=(ref,),
        image_id=image_id,
        size_bytes=size,
        time="2026-12-01T04:00:00Z",
        commit="c" * 40,
        version=version,
    )


def test_history_round_trips_and_keeps_the_tree_clean(repo: Repo) -> None:
    settings = load_settings(repo.path)
    first = _record("ml-service:sha-1111111", "sha256:1", 400_000_000, "v1.0.0")
    second = _record("ml-service:sha-2222222", "sha256:2", 410_000_000)

    record_build(settings, first)
    record_build(settings, second)

    assert read_history(settings) == [first, second]
    assert last_build(settings) == second
    assert last_build(settings, "other") is None
    # The state directory ignores itself: a build never makes the next one dirty.
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    line = json.loads(history_path(settings).read_text().splitlines()[0])
    assert line == {
        "image": "ml-service",
        "ref": "ml-service:sha-1111111",
        "tags": ["ml-service:sha-1111111"],
        "image_id": "sha256:1",
        "size_bytes": 400_000_000,
        "time": "2026-12-01T04:00:00Z",
        "commit": "c" * 40,
        "version": "v1.0.0",
    }


def test_unreadable_history_lines_are_skipped(repo: Repo) -> None:
    settings = load_settings(repo.path)
    good = _record("ml-service:sha-1111111", "sha256:1", 1)
    record_build(settings, good)
    with history_path(settings).open("a") as handle:
        handle.write('not json\n{"image": "ml-service"}\n{"truncated": \n')

    assert read_history(settings) == [good]


def test_compare_gives_the_previous_build_and_the_last_release_of_the_image() -> None:
    history = [
        _record("ml-service:v1", "sha256:1", 400_000_000, "v1.0.0"),
        _record("other:x", "sha256:9", 1),
        _record("ml-service:sha-2", "sha256:2", 420_000_000),
    ]

    previous, release = compare(history, "ml-service", 441_000_000)

    assert previous is not None and release is not None
    assert previous.to_data() == {
        "ref": "ml-service:sha-2",
        "size_bytes": 420_000_000,
        "delta_bytes": 21_000_000,
        "delta_percent": 5.0,
    }
    assert (release.ref, release.delta_bytes) == ("ml-service:v1", 41_000_000)
    assert compare(history, "new-image", 5) == (None, None)


def test_an_existing_image_is_compared_with_what_was_built_before_it() -> None:
    history = [
        _record("ml-service:a", "sha256:1", 1),
        _record("ml-service:b", "sha256:2", 2),
        _record("ml-service:c", "sha256:3", 3),
    ]

    assert [r.ref for r in recorded_before(history, "sha256:2")] == ["ml-service:a"]
    assert recorded_before(history, "sha256:unknown") == history


@pytest.mark.parametrize(
    ("warn", "fail", "size", "status"),
    [
        (None, None, 10**9, "ok"),
        (300, 400, 300_000_000, "ok"),
        (300, 400, 300_000_001, "warn"),
        (300, 400, 400_000_001, "fail"),
        (None, 400, 400_000_001, "fail"),
        (300, None, 10**9, "warn"),
    ],
)
def test_budget_status(
    repo: Repo, warn: int | None, fail: int | None, size: int, status: str
) -> None:
    given = {"MLRELEASE_SIZE_WARN_MB": warn, "MLRELEASE_SIZE_BUDGET_MB": fail}
    env = {name: str(value) for name, value in given.items() if value}
    settings = load_settings(repo.path, env=env)

    assert check_budget(settings, size) == Budget(warn, fail, status)


def test_budget_error_gives_size_budget_and_overshoot_in_one_line() -> None:
    error = budget_error("ml-service:sha-1", 412_300_000, Budget(None, 400, "fail"))

    assert error is not None
    assert error.exit_code == 1
    assert error.message == (
        "ml-service:sha-1 is 412.3 MB, over the size budget of 400 MB by 12.3 MB (3.1%); "
        "the image stays tagged"
    )
    assert budget_error("ml-service:sha-1", 1, Budget(None, 400, "ok")) is None


def _over_budget() -> BuildResult:
    budget = Budget(None, 400, "fail")
    return BuildResult(
        image_id="sha256:" + "c" * 64,
        tags=("acme/svc:sha-1234567",),
        size_bytes=412_300_000,
        steps=3,
        cached_steps=(),
        budget=budget,
        failure=budget_error("acme/svc:sha-1234567", 412_300_000, budget),
    )


def test_a_build_over_budget_prints_its_data_then_the_failure() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()

    code = Output(stdout=stdout, stderr=stderr, env={}).emit(_over_budget())

    assert code == 1
    assert stdout.getvalue() == "acme/svc:sha-1234567\n"
    lines = stderr.getvalue().splitlines()
    assert lines[-2].startswith("error: acme/svc:sha-1234567 is 412.3 MB, over the size budget")
    assert lines[-1].startswith("hint: `mlrelease size` shows the largest layers")


def test_a_build_over_budget_in_json_has_data_and_the_error() -> None:
    stdout = io.StringIO()

    code = Output(
        json_mode=True, command="build", stdout=stdout, stderr=io.StringIO(), env={}
    ).emit(_over_budget())

    envelope = json.loads(stdout.getvalue())
    assert code == 1
    assert (envelope["ok"], envelope["exit_code"]) == (False, 1)
    assert envelope["data"]["ref"] == "acme/svc:sha-1234567"
    assert envelope["data"]["image"] == "acme/svc"
    assert envelope["data"]["budget"] == {"warn_mb": None, "fail_mb": 400, "status": "fail"}
    assert envelope["data"]["previous"] is None
    assert [error["code"] for error in envelope["errors"]] == ["size_budget"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


LOG = ["Step 1/2 : FROM base", " ---> 1234", "Step 2/2 : RUN make", "compiling"]


def test_the_build_log_is_plain_step_lines_off_a_terminal() -> None:
    stderr = io.StringIO()
    out = Output(stderr=stderr, env={})

    with build_progress(out) as on_log:
        for line in LOG:
            on_log(line)

    assert stderr.getvalue().splitlines() == ["Step 1/2 : FROM base", "Step 2/2 : RUN make"]


def test_the_build_log_is_a_progress_view_on_a_terminal_and_nothing_when_quiet() -> None:
    terminal = _Terminal()
    with build_progress(Output(stderr=terminal, env={"TERM": "xterm"})) as on_log:
        for line in LOG:
            on_log(line)
    shown = terminal.getvalue()
    assert "built" in shown and "2/2" in shown, shown  # a bar counting the steps
    assert "Step 1/2" not in shown and "compiling" not in shown

    quiet = _Terminal()
    with build_progress(Output(stderr=quiet, env={"TERM": "xterm"}), quiet=True) as on_log:
        for line in LOG:
            on_log(line)
    assert quiet.getvalue() == ""


def test_the_job_summary_gives_the_change_and_the_budget(tmp_path) -> None:
    summary = tmp_path / "summary"
    result = BuildResult(
        image_id="sha256:" + "c" * 64,
        tags=("acme/svc:sha-1234567",),
        size_bytes=420_000_000,
        steps=3,
        cached_steps=(),
        previous=SizeChange("acme/svc:sha-7654321", 400_000_000, 20_000_000),
        budget=Budget(410, 500, "warn"),
    )

    Output(env={"GITHUB_STEP_SUMMARY": str(summary)}, stdout=io.StringIO(),
           stderr=io.StringIO()).emit(result)  # fmt: skip

    text = summary.read_text()
    assert "| against the previous build | +20.0 MB (+5.0%) vs `acme/svc:sha-7654321` |" in text
    assert "| budget | warn (warn 410 MB, fail 500 MB) |" in text
