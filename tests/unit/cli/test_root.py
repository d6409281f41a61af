"""The frame every command stands on: help, exit codes, errors, the JSON envelope, output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import Result

from mlrelease import __version__
from mlrelease.errors import EXIT_CODE_MEANINGS, ExitCode, PreconditionError
from mlrelease.output.github import append_step_summary, markdown_table, write_github_outputs
from mlrelease.output.render import Output
from mlrelease.versions import bump
from tests.unit.conftest import Repo

Run = Callable[..., Result]


def test_help_lists_every_exit_code(run: Run) -> None:
    result = run("--help")

    assert result.exit_code == 0, result.output
    for command in ("version", "bump", "config"):
        assert command in result.stdout
    for option in ("--json", "--verbose", "--version"):
        assert option in result.stdout
    assert "Exit codes:" in result.stdout
    for code in ExitCode:
        line = f"{int(code):<4} {EXIT_CODE_MEANINGS[code]}"
        assert line in result.stdout, f"missing {line!r}"
    assert "MLRELEASE_DEBUG=1" in result.stdout


def test_version_flag(run: Run) -> None:
    result = run("--version")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"mlrelease {__version__}\n"


def test_python_dash_m(repo: Repo) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlrelease", "version"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "0.0.0\n"


# The JSON envelope contract: these keys, types and values are what scripts rely on.


def test_json_envelope_on_success(repo: Repo, run: Run) -> None:
    repo.tag("v1.4.0")
    head = repo.commit()

    result = run("--json", "bump", "minor")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "schema": 1,
        "command": "bump",
        "ok": True,
        "exit_code": 0,
        "data": {
            "previous": "1.4.0",
            "version": "1.5.0",
            "tag": "v1.5.0",
            "commit": head,
            "pushed": False,
        },
        "errors": [],
        "warnings": [],
    }
    assert result.stderr == ""


def test_json_envelope_on_failure(repo: Repo, run: Run) -> None:
    (repo.path / "file.txt").write_text("dirty\n")

    result = run("--json", "bump", "patch")

    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout) == {
        "schema": 1,
        "command": "bump",
        "ok": False,
        "exit_code": 3,
        "data": None,
        "errors": [
            {
                "code": "dirty_tree",
                "message": "the working tree has uncommitted changes: file.txt",
                "hint": "commit or stash your changes, then rerun",
            }
        ],
        "warnings": [],
    }
    assert result.stderr == ""


def test_json_envelope_on_a_usage_error(repo: Repo, run: Run) -> None:
    result = run("--json", "bump", "--no-such-option", "patch")

    assert result.exit_code == 2, result.output
    envelope = json.loads(result.stdout)
    assert envelope["command"] == "bump"
    assert envelope["ok"] is False
    assert envelope["exit_code"] == 2
    assert envelope["data"] is None
    assert envelope["errors"][0]["code"] == "usage"
    assert "--no-such-option" in envelope["errors"][0]["message"]
    assert envelope["errors"][0]["hint"] == "see `mlrelease bump --help`"


def test_json_envelope_for_an_unknown_command(run: Run) -> None:
    result = run("--json", "frobnicate")

    assert result.exit_code == 2, result.output
    envelope = json.loads(result.stdout)
    assert envelope["command"] is None
    assert "frobnicate" in envelope["errors"][0]["message"]


def test_json_after_the_command_is_a_global_option(repo: Repo, run: Run) -> None:
    result = run("bump", "patch", "--json")  # as gh, docker and kubectl accept it

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"]["version"] == "0.0.1"


# Errors: one `error:` line, one `hint:` line, the exit code; tracebacks only on request.


def test_a_usage_error_is_two_lines_on_stderr(run: Run) -> None:
    result = run("bump")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: Missing argument 'PART'. Choose from: major, minor, patch, prerelease",
        "hint: see `mlrelease bump --help`",
    ]


def test_no_command_is_a_usage_error(run: Run) -> None:
    result = run()

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: Missing command.")


def _explode(cwd: Path) -> None:
    raise RuntimeError("boom")


def test_an_unexpected_exception_is_an_internal_error(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bump, "describe", _explode)

    result = run("version")

    assert result.exit_code == 70, result.output
    assert result.stderr.splitlines() == [
        "error: internal error: RuntimeError: boom",
        "hint: this is a bug in mlrelease; rerun with MLRELEASE_DEBUG=1 and report the traceback",
    ]
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback_of_an_internal_error(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bump, "describe", _explode)
    monkeypatch.setenv("MLRELEASE_DEBUG", "1")

    result = run("version")

    assert result.exit_code == 70, result.output
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise RuntimeError("boom")' in result.stderr
    assert result.stderr.rstrip().endswith("report the traceback above")


def test_debug_shows_the_traceback_of_a_user_error(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo.path / "file.txt").write_text("dirty\n")

    quiet = run("bump", "patch")
    monkeypatch.setenv("MLRELEASE_DEBUG", "1")
    loud = run("bump", "patch")

    assert quiet.exit_code == loud.exit_code == 3, loud.output
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in loud.stderr
    assert "DirtyTreeError" in loud.stderr
    assert loud.stderr.splitlines()[-2].startswith("error: the working tree")


def test_debug_keeps_stdout_a_clean_envelope(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bump, "describe", _explode)
    monkeypatch.setenv("MLRELEASE_DEBUG", "1")

    result = run("--json", "version")

    assert result.exit_code == 70, result.output
    assert json.loads(result.stdout)["errors"][0]["code"] == "internal"
    assert "Traceback" in result.stderr


def test_ctrl_c_exits_130(repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(cwd: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bump, "describe", interrupted)

    result = run("version")

    assert result.exit_code == 130, result.output
    assert result.stderr.startswith("error: interrupted\nhint: ")


def test_the_console_script_shows_no_traceback(
    tmp_path: Path, run_script: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    proc = run_script("version", cwd=tmp_path)

    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == (
        f"error: {tmp_path} is not inside a git repository\n"
        "hint: run mlrelease inside the service's git repository\n"
    )


# Rendering: plain text off a terminal, Rich with colour on one unless NO_COLOR.


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_when_stderr_is_not_a_terminal() -> None:
    err = io.StringIO()
    Output(stderr=err, env={"TERM": "xterm-256color"}).fail(PreconditionError("no", hint="yes"))

    assert err.getvalue() == "error: no\nhint: yes\n"


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    err = _Terminal()

    Output(stderr=err).fail(PreconditionError("[no] tag", hint="yes"))

    assert "\x1b[" in err.getvalue()
    assert "[no] tag" in err.getvalue()  # brackets are text, not Rich markup


def test_no_color_is_honoured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    err = _Terminal()

    Output(stderr=err, env={"NO_COLOR": "1", "TERM": "xterm-256color"}).fail(
        PreconditionError("no", hint="yes")
    )

    assert "\x1b[" not in err.getvalue()
    assert "error: no" in err.getvalue()


def test_warnings_reach_stderr_in_json_mode_but_notes_do_not() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(json_mode=True, stdout=out, stderr=err)

    output.note("progress")
    output.warn("image is close to its budget")

    assert out.getvalue() == ""
    assert err.getvalue() == "warning: image is close to its budget\n"


# GitHub Actions


def test_github_outputs_are_appended(tmp_path: Path) -> None:
    target = tmp_path / "output"
    target.write_text("earlier=1\n")

    written = write_github_outputs(
        {"image": "r/p/img:v1", "tags": "v1\nsha-abc"}, env={"GITHUB_OUTPUT": str(target)}
    )

    assert written
    text = target.read_text()
    assert text.startswith("earlier=1\nimage=r/p/img:v1\ntags<<ghadelimiter_")
    delimiter = text.splitlines()[2].split("<<")[1]
    assert text.endswith(f"\nv1\nsha-abc\n{delimiter}\n")


def test_github_files_are_left_alone_when_unset(tmp_path: Path) -> None:
    assert not write_github_outputs({"a": "b"}, env={})
    assert not append_step_summary("# hi", env={})


def test_step_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"

    assert append_step_summary(
        markdown_table(["tag", "size"], [["v1|x", "84 MB"]]),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )

    assert summary.read_text() == "| tag | size |\n| --- | --- |\n| v1\\|x | 84 MB |\n"


def test_a_command_may_return_its_exit_code(run: Run) -> None:
    # For reports that render their own failures (doctor): return 1 instead of raising.
    import typer
    from typer.testing import CliRunner

    from mlrelease.cli.root import RootGroup

    probe_app = typer.Typer(cls=RootGroup)

    @probe_app.callback()
    def _root() -> None:
        """Probe."""

    @probe_app.command()
    def check() -> int:
        return 1

    @probe_app.command()
    def fine() -> None:
        return None

    runner = CliRunner()
    assert runner.invoke(probe_app, ["check"], catch_exceptions=False).exit_code == 1
    assert runner.invoke(probe_app, ["fine"], catch_exceptions=False).exit_code == 0


def test_a_result_with_its_own_exit_code_is_not_ok() -> None:
    @dataclass(frozen=True)
    class Report:
        exit_code: int = 1

        def to_data(self) -> dict[str, object]:
            return {"checks": [{"name": "engine", "status": "fail"}]}

    out = io.StringIO()

    code = Output(json_mode=True, command="doctor", stdout=out).emit(Report())

    assert code == 1
    assert json.loads(out.getvalue()) == {
        "schema": 1,
        "command": "doctor",
        "ok": False,
        "exit_code": 1,
        "data": {"checks": [{"name": "engine", "status": "fail"}]},
        "errors": [],
        "warnings": [],
    }


def test_the_command_list_summaries_are_the_first_lines_of_each_commands_help() -> None:
    import typer

    from mlrelease.cli.app import COMMANDS, app

    root = typer.main.get_command(app)
    for name, (_, summary) in COMMANDS.items():
        command = root.get_command(None, name)  # type: ignore[attr-defined]
        assert command is not None, name
        assert (command.help or "").splitlines()[0] == summary, name


def test_every_command_module_is_named_in_the_table() -> None:
    import importlib
    import pkgutil

    import typer

    import mlrelease.cli
    from mlrelease.cli.app import COMMANDS

    for module in pkgutil.iter_modules(mlrelease.cli.__path__):
        loaded = importlib.import_module(f"mlrelease.cli.{module.name}")
        group = getattr(loaded, "commands", None)
        if group is None:
            continue
        for name in typer.main.get_group(group).commands:
            assert COMMANDS[name][0] == loaded.__name__, name
