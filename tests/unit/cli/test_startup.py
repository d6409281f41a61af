"""Start-up: the light commands must not import docker, google or sklearn, and `bump` and
`version` pay for little more than typer and two git processes (benchmarks/startup.py).

Each case runs the CLI in a fresh interpreter and then lists the loaded modules, so an import
added anywhere on the path (cli, config, render, a core module) fails it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from mlrelease import processes
from tests.unit.conftest import MLRELEASE, Repo

HEAVY = ("docker", "google", "sklearn")

PROBE = """
import json, sys
preload = sys.argv[1]
if preload:
    __import__(preload)
from mlrelease.cli.app import main
try:
    main(sys.argv[2:])
except SystemExit as done:
    code = done.code
roots = {name.split(".")[0] for name in sys.modules}
print(json.dumps({"code": code, "roots": sorted(roots), "modules": sorted(sys.modules)}),
      file=sys.stderr)
"""


def probe(cwd: Path, *args: str, preload: str = "") -> tuple[int, set[str]]:
    report = _report(cwd, args, preload)
    return report["code"], set(report["roots"])


def probe_modules(cwd: Path, *args: str) -> tuple[int, set[str]]:
    report = _report(cwd, args, "")
    return report["code"], set(report["modules"])


def _report(cwd: Path, args: tuple[str, ...], preload: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, preload, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(proc.stderr.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["version"],
        ["bump", "--dry-run", "patch"],
        ["--json", "bump", "--dry-run", "minor"],
    ],
    ids=["help", "version", "bump-dry-run", "json-bump-dry-run"],
)
def test_light_commands_import_no_heavy_module(repo: Repo, args: list[str]) -> None:
    repo.tag("v1.2.3")
    repo.commit()

    code, roots = probe(repo.path, *args)

    assert code == 0, args
    assert roots.isdisjoint(HEAVY), sorted(roots & set(HEAVY))


def test_help_imports_no_command_and_nothing_heavy(repo: Repo) -> None:
    code, roots = probe(repo.path, "--help")

    assert code == 0
    banned = {*HEAVY, "requests", "urllib3", "semver", "rich"}
    assert roots.isdisjoint(banned), sorted(roots & banned)


def test_help_loads_no_command_module(repo: Repo) -> None:
    code, modules = probe_modules(repo.path, "--help")

    assert code == 0
    loaded = {name for name in modules if name.startswith("mlrelease.")}
    assert not loaded & {f"mlrelease.cli.{m}" for m in ("build", "registry", "release")}
    assert not any(name.startswith(("mlrelease.build", "mlrelease.registry")) for name in loaded)


def test_off_a_terminal_rich_is_not_loaded(repo: Repo) -> None:
    repo.commit()

    code, roots = probe(repo.path, "bump", "--dry-run", "patch")

    assert code == 0
    assert "rich" not in roots


@pytest.mark.skipif(importlib.util.find_spec("docker") is None, reason="docker-py not installed")
def test_the_probe_sees_a_heavy_import(repo: Repo) -> None:
    code, roots = probe(repo.path, "--help", preload="docker")

    assert code == 0
    assert "docker" in roots


# Not needed to bump: semver and argparse (~3 ms: the rules parse versions themselves),
# importlib.metadata (~10 ms: only --version reads mlrelease's own version), Rich's help,
# dataclasses (its results and views are NamedTuples).
NOT_ON_THE_BUMP_PATH = (
    *HEAVY,
    "requests",
    "urllib3",
    "semver",
    "argparse",
    "dataclasses",
    "rich",
    "typer.rich_utils",
    "importlib.metadata",
    "mlrelease.config",
    "mlrelease.build",
    "mlrelease.registry",
    "mlrelease.supply",
    "mlrelease.doctor",
    "mlrelease.pipeline",
)


@pytest.mark.parametrize(
    "args",
    [
        ["bump", "--dry-run", "patch"],
        ["--json", "bump", "--dry-run", "minor"],
        ["version"],
    ],
    ids=["bump-dry-run", "json-bump-dry-run", "version"],
)
def test_bump_and_version_load_only_their_own_path(repo: Repo, args: list[str]) -> None:
    repo.tag("v1.2.3", annotated=True)
    repo.commit()

    code, modules = probe_modules(repo.path, *args)

    assert code == 0, args
    loaded = sorted(
        name
        for name in modules
        for banned in NOT_ON_THE_BUMP_PATH
        if name == banned or name.startswith(banned + ".")
    )
    assert not loaded, loaded


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bump", "--dry-run", "patch"], [["status"], ["for-each-ref"]]),
        (["bump", "patch"], [["status"], ["for-each-ref"], ["rev-parse"], ["tag"]]),
        (["version"], [["rev-parse"], ["for-each-ref"]]),
    ],
    ids=["bump-dry-run", "bump", "version"],
)
def test_git_processes_per_command(
    repo: Repo,
    run: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    expected: list[list[str]],
) -> None:
    # Each git process costs ~2 ms of a ~60 ms start: one per question, none to find the tree.
    repo.tag("v1.2.3", annotated=True)
    repo.commit()
    started: list[list[str]] = []
    real_run_all = processes.run_all

    def counting_run_all(commands: list[list[str]], **kwargs: Any) -> Any:
        started.extend(list(command) for command in commands)
        return real_run_all(commands, **kwargs)

    monkeypatch.setattr(processes, "run_all", counting_run_all)

    result = run(*args)

    assert result.exit_code == 0, result.output
    assert [command[1:2] for command in started] == expected
    assert all(command[0] == "git" for command in started)


def test_the_entry_point_runs_the_command_with_collection_on() -> None:
    # mlrelease.__main__ imports the command line with the collector off, then freezes what it
    # imported; the command itself runs with collection on.
    code = (
        "import gc, mlrelease.cli.app as app\n"
        "app.main = lambda: print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "from mlrelease.__main__ import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)

    assert proc.stdout.split() == ["True", "True"], proc.stderr


@pytest.mark.skipif(not MLRELEASE.exists(), reason="console script not installed")
def test_the_console_script_is_the_entry_point() -> None:
    assert "from mlrelease.__main__ import main" in MLRELEASE.read_text()
