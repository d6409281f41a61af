"""Start-up: the light commands must not import docker, google or sklearn.

Each case runs the CLI in a fresh interpreter and then lists the loaded modules, so an import
added anywhere on the path (cli, config, render, a core module) fails it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import Repo

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
