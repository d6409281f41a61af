"""Global options anywhere on the line, as gh, docker and kubectl accept them: before the command,
after it, between its arguments; never after `--` and never as an option's value."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import typer
from typer.testing import Result

from mlrelease.cli.app import app
from tests.unit.conftest import Repo

Run = Callable[..., Result]

ROOT = typer.main.get_command(app)
GLOBAL_OPTIONS = [
    name
    for param in ROOT.params
    if param.param_type_name == "option" and not getattr(param, "is_eager", False)
    for name in param.opts
]
# Arguments that run each command without side effects or an engine. A command added later
# without an entry here is still covered, with --help.
SAMPLE_ARGS: dict[str, list[str]] = {
    "version": [],
    "bump": ["patch", "--dry-run"],
    "config": ["--region", "europe-west4"],
    "build": [],  # no trained model in the test repository: exit 3 before the engine
    "smoke": ["NOT A REFERENCE"],  # exit 2 before the engine
}
CASES = [
    (name, option)
    for name in ROOT.list_commands(None)  # type: ignore[attr-defined]
    for option in GLOBAL_OPTIONS
]


def test_the_global_options_are_known() -> None:
    assert set(GLOBAL_OPTIONS) == {"--json", "--verbose", "-v"}


def _same(first: Result, second: Result) -> None:
    assert first.exit_code == second.exit_code, (first.output, second.output)
    assert first.stdout == second.stdout
    assert first.stderr == second.stderr


@pytest.mark.parametrize(("command", "option"), CASES)
def test_a_global_option_means_the_same_before_and_after_the_command(
    repo: Repo, run: Run, command: str, option: str
) -> None:
    repo.tag("v1.2.3")
    repo.commit()
    args = SAMPLE_ARGS.get(command, ["--help"])

    before = run(option, command, *args)
    after = run(command, *args, option)
    between = run(command, option, *args)

    assert "No such option" not in after.output
    _same(before, after)
    _same(before, between)
    if option == "--json" and args != ["--help"]:
        envelope = json.loads(after.stdout)
        assert envelope["command"] == command
        assert envelope["exit_code"] == after.exit_code


def test_the_examples_from_the_readme(repo: Repo, run: Run) -> None:
    repo.commit()

    assert run("version", "--json").stdout == run("--json", "version").stdout
    assert (
        run("bump", "patch", "--json", "--dry-run").stdout
        == run("--json", "bump", "--dry-run", "patch").stdout
    )
    assert json.loads(run("bump", "patch", "--json", "--dry-run").stdout)["data"]["version"] == (
        "0.0.1"
    )


def test_all_global_options_together_after_the_command(repo: Repo, run: Run) -> None:
    result = run("version", "--verbose", "--json", "-v")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["command"] == "version"


def test_not_after_double_dash(repo: Repo, run: Run) -> None:
    result = run("smoke", "--", "--json")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # no envelope: --json was the image argument
    assert result.stderr.startswith("error: '--json' is not a valid image reference")


def test_not_as_the_value_of_an_option(repo: Repo, run: Run) -> None:
    repo.commit()

    result = run("bump", "patch", "--dry-run", "-m", "--json")

    assert result.exit_code == 0, result.output
    assert result.stdout == "0.0.1\n"
    assert "with message '--json'" in result.stderr


def test_version_flag_after_a_command(run: Run) -> None:
    assert run("version", "--version").stdout == run("--version").stdout


def test_a_usage_error_after_the_command_still_honours_json(repo: Repo, run: Run) -> None:
    result = run("bump", "sideways", "--json")

    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["errors"][0]["code"] == "usage"
