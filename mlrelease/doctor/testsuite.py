"""`tests.*`: the tests are collectable from the root and hold no paths of one machine."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from mlrelease.doctor.environment import SEARCHED, find_environment
from mlrelease.doctor.frame import Outcome, Project, fail, ok, warn

COLLECT_TIMEOUT_S = 120
_COLLECTED = re.compile(r"(\d+) tests? collected")
_ERROR_IN = re.compile(r"^ERROR (?:collecting )?(\S+)", re.MULTILINE)
_EXCEPTION = re.compile(r"^E\s+(\w+(?:Error|Exception)\b.*)$", re.MULTILINE)
# A home directory or a Windows drive: a path that exists on one machine only.
_MACHINE_PATH = re.compile(r"/home/[^/\s]+/|/Users/[^/\s]+/|[A-Za-z]:[\\/]+Users[\\/]")
_PRUNED = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mlrelease", "build", "dist"}


def check_collect(project: Project) -> Outcome:
    """`python -m pytest --collect-only` from the root, with the service's own interpreter,
    finds tests and imports them all. mlrelease's interpreter lacks the service's packages."""
    environment = find_environment(project.root)
    python = environment.python if environment else None
    if environment is None or python is None:
        where = f"{environment.describe()} has no interpreter" if environment else SEARCHED
        return warn(
            f"no environment of the service to collect the tests with ({where}); not run "
            "with mlrelease's own Python, which lacks the service's packages",
            "make one: `python -m venv .venv && .venv/bin/pip install -r requirements.txt "
            "pytest`, or activate the service's virtualenv before `mlrelease doctor`",
        )
    interpreter = project.relative(python)
    command = [str(python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    shown = f"`{' '.join([interpreter, *command[1:]])}`"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONHOME", None)
    try:
        proc = subprocess.run(
            command,
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=COLLECT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return fail(
            f"{shown} did not finish within {COLLECT_TIMEOUT_S} s",
            "find the test module that does work at import time (`python -X importtime -m "
            "pytest --collect-only`) and move that work into a fixture",
        )
    output = proc.stdout + proc.stderr
    if "No module named pytest" in output:
        dev = [p.name for p in sorted(project.root.glob("requirements-dev*.txt"))]
        what = f"-r {dev[0]}" if dev else "pytest"
        return fail(
            f"pytest is not installed in {environment.describe()}",
            f"install it there: `{interpreter} -m pip install {what}`",
        )
    if proc.returncode == 0 and (found := _COLLECTED.search(output)):
        return ok(f"{found[1]} tests collected from the root ({shown})")
    if proc.returncode == 5:
        return warn(
            f"{shown} collected no tests",
            "put tests in tests/ as test_*.py files, or set testpaths under "
            "[tool.pytest.ini_options] in pyproject.toml",
        )
    modules = sorted(set(_ERROR_IN.findall(output)))
    reason = _EXCEPTION.search(output)
    detail = f": {reason[1].strip()}" if reason else ""
    where = f" in {', '.join(modules)}" if modules else ""
    first = modules[0] if modules else "the failing module"
    return fail(
        f"{shown} failed (exit {proc.returncode}){where}{detail}",
        f"run {shown} from the repository root and fix {first}: tests must import from the "
        "root without an installed package or a set PYTHONPATH",
    )


def check_paths(project: Project) -> Outcome:
    """No string in the tests names a path of one machine (a home directory, a drive)."""
    found = [
        (project.relative(path), line, text)
        for path in _test_files(project.root)
        for line, text in _machine_paths(path)
    ]
    if not found:
        return ok("no machine-specific absolute paths in the tests")
    listed = "; ".join(f"{file}:{line} {text!r}" for file, line, text in found)
    return fail(
        f"tests name paths of one machine: {listed}",
        "take the model path from MODEL_PATH (`os.environ['MODEL_PATH']`) or a fixture "
        "(`tmp_path`, a trained model per session) instead of "
        + ", ".join(f"{file}:{line}" for file, line, _ in found),
    )


def _test_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in _PRUNED]
        parts = Path(directory).relative_to(root).parts
        in_tests = "tests" in parts or "test" in parts
        for name in files:
            if name.endswith(".py") and (
                in_tests or name.startswith("test_") or name == "conftest.py"
            ):
                yield Path(directory) / name


def _machine_paths(path: Path) -> Iterator[tuple[int, str]]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return  # not importable: tests.collect reports it
    strings = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    yield from sorted((line, text) for line, text in strings if _MACHINE_PATH.match(text))
