"""CLI start-up: mlrelease against bare `python -c pass`, the typer+rich import floor, and
commitizen's `cz bump`.

Times each command as a child process (wall clock, median of --runs after one warm-up run) on
a throwaway git repository with a few tags. commitizen is installed with pip into a throwaway
virtualenv in the same temporary directory; if that fails the table says so and goes on.
The children run in a scrubbed environment without PYTHONDONTWRITEBYTECODE: bytecode is cached
as on a user's machine (pip compiles it at install for the wheel and for commitizen; the
editable checkout caches it at the warm-up run) instead of every module being compiled again
on every run. The git processes each tool starts are counted through a logging `git` on PATH.
Run from the repository root with the project's virtualenv:

    .venv/bin/python benchmarks/startup.py [--runs 15] [--no-cz]
"""

from __future__ import annotations

import argparse
import os
import pty
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the root

from benchmarks.startup_installs import install_commitizen, installed_copy

PYTHON = Path(sys.executable)
MLRELEASE = PYTHON.with_name("mlrelease")
RUN_TIMEOUT_S = 30
CZ_CONFIG = '[tool.commitizen]\nversion_provider = "scm"\ntag_format = "v$version"\n'


@dataclass
class Row:
    label: str
    median_ms: float | None
    min_ms: float | None
    note: str = ""


def isolated_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLRELEASE_", "GIT_", "GAR_", "GCP_", "GOOGLE_"))
        and key != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1")
    return env


def git(repo: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(root: Path, env: dict[str, str]) -> Path:
    """A repository with conventional commits and tags v1.0.0 .. v1.2.3 plus non-version tags."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, env, "init", "--quiet", "--initial-branch", "main")
    git(repo, env, "config", "user.name", "Bench")
    git(repo, env, "config", "user.email", "bench@example.com")
    (repo / ".cz.toml").write_text(CZ_CONFIG)
    tags = ["v1.0.0", "v1.1.0", "v1.2.0", "latest", "v1.2.3"]
    for number, tag in enumerate(tags):
        (repo / "app.py").write_text(f"VALUE = {number}\n")
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "--quiet", "--message", f"fix: change {number}")
        git(repo, env, "tag", "--annotate", "--message", tag, tag)
    (repo / "app.py").write_text("VALUE = 99\n")
    git(repo, env, "commit", "--quiet", "--all", "--message", "fix: the change to release")
    return repo


def run_once(
    command: Sequence[str], cwd: Path, env: dict[str, str], tty: bool
) -> tuple[float, int, str]:
    """(seconds, exit status, combined output) of one run; `tty` puts it on a pseudo-terminal."""
    if not tty:
        start = time.perf_counter()
        proc = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
        elapsed = time.perf_counter() - start
        return elapsed, proc.returncode, proc.stdout + proc.stderr
    master, slave = pty.openpty()
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    returncode = child.wait(timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    os.close(master)
    return elapsed, returncode, b"".join(chunks).decode(errors="replace")


@dataclass
class Case:
    label: str
    command: Sequence[str]
    tty: bool = False
    expect: str | None = None


def measure(cases: dict[str, Case], *, cwd: Path, env: dict[str, str], runs: int) -> dict[str, Row]:
    """Median and minimum wall time of each case over `runs` rounds, after a checked warm-up
    run of each. A round runs every case once, so that a burst of load from elsewhere on the
    machine falls on all of them alike instead of on whichever was being timed."""
    rows: dict[str, Row] = {}
    for key, case in cases.items():
        try:
            _, code, output = run_once(case.command, cwd, env, case.tty)
        except (subprocess.TimeoutExpired, OSError) as err:
            rows[key] = Row(case.label, None, None, f"did not run: {err}")
            continue
        if code != 0:
            last = output.strip().splitlines()[-1:]
            rows[key] = Row(case.label, None, None, f"exit {code}: {last}")
        elif case.expect is not None and case.expect not in output:
            rows[key] = Row(case.label, None, None, f"unexpected output: {output.strip()!r}")
    live = [key for key in cases if key not in rows]
    times: dict[str, list[float]] = {key: [] for key in live}
    for _ in range(runs):
        for key in live:
            case = cases[key]
            times[key].append(run_once(case.command, cwd, env, case.tty)[0] * 1000)
    for key in live:
        rows[key] = Row(cases[key].label, statistics.median(times[key]), min(times[key]))
    return {key: rows[key] for key in cases}


def git_processes(command: Sequence[str], cwd: Path, env: dict[str, str], root: Path) -> list[str]:
    """The git subcommands one run of `command` starts, in order, seen through a `git` first on
    PATH that logs its first argument and runs the real git."""
    real = shutil.which("git", path=env.get("PATH"))
    if real is None:
        return []
    shim = Path(tempfile.mkdtemp(prefix="git-shim-", dir=root))
    log = shim / "calls"
    (shim / "git").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$1" >> {shlex.quote(str(log))}\n'
        f'exec {shlex.quote(real)} "$@"\n'
    )
    (shim / "git").chmod(0o755)
    shimmed = {**env, "PATH": f"{shim}{os.pathsep}{env.get('PATH', '')}"}
    subprocess.run(command, cwd=cwd, env=shimmed, capture_output=True, timeout=RUN_TIMEOUT_S)
    return log.read_text().split() if log.exists() else []


def import_breakdown(cwd: Path, env: dict[str, str], args: Sequence[str]) -> list[str]:
    """The slowest imports of one run of `python -m mlrelease` (`-X importtime`), two levels
    deep, as lines `cumulative-ms  module`; typer's pydantic layer is shown wherever it loads."""
    proc = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-m", "mlrelease", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    lines = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, column = line[len("import time:") :].split("|")
        name = column.strip()
        level = (len(column) - len(column.lstrip()) - 1) // 2
        ms = int(cumulative) / 1000
        if ms >= 2 and (level <= 1 or name in ("typer._adapters", "importlib.metadata")):
            lines.append(f"  {ms:7.1f}  {'  ' * min(level, 2)}{name}")
    return lines[::-1]  # importtime lists a module after its imports: put parents first


def print_table(rows: list[Row], baseline: Row) -> None:
    width = max(len(row.label) for row in rows)
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'x python -c pass':>16}")
    for row in rows:
        if row.median_ms is None or row.min_ms is None:
            print(f"{row.label:<{width}}  {'-':>9}  {'-':>7}  {'-':>16}  {row.note}")
            continue
        ratio = row.median_ms / baseline.median_ms if baseline.median_ms else float("nan")
        print(
            f"{row.label:<{width}}  {row.median_ms:>9.1f}  {row.min_ms:>7.1f}  {ratio:>15.2f}x"
            + (f"  {row.note}" if row.note else "")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument("--no-cz", action="store_true", help="skip installing commitizen")
    args = parser.parse_args()
    if not MLRELEASE.exists():
        print(f"{MLRELEASE} not found: run `pip install -e .` in this virtualenv first")
        return 1

    with tempfile.TemporaryDirectory(prefix="mlrelease-startup-") as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        env = isolated_env(root / "home")
        repo = make_repo(root, env)
        cz, cz_note = (None, "skipped (--no-cz)") if args.no_cz else install_commitizen(root, env)

        installed, installed_note = installed_copy(root, env)
        bump = ["bump", "--dry-run", "patch"]
        cz_bump = ["bump", "--dry-run", "--yes", "--increment", "PATCH"]
        cases = {
            "pass": Case("python -c pass", [str(PYTHON), "-c", "pass"]),
            "floor": Case(
                "python -c 'import typer, rich' (the floor)",
                [str(PYTHON), "-c", "import typer, rich"],
            ),
            "help": Case("mlrelease --help", [str(MLRELEASE), "--help"], expect="Exit codes"),
            "help-tty": Case(
                "mlrelease --help (on a terminal: Rich help)",
                [str(MLRELEASE), "--help"],
                tty=True,
                expect="Exit codes",
            ),
            "version": Case("mlrelease version", [str(MLRELEASE), "version"], expect="1.2.3"),
        }
        if installed is not None:
            cases["help-wheel"] = Case(
                "mlrelease --help (installed from a wheel)",
                [str(installed), "--help"],
                expect="Exit codes",
            )
            cases["bump-wheel"] = Case(
                "mlrelease bump --dry-run patch (installed from a wheel)",
                [str(installed), *bump],
                expect="1.2.4",
            )
        cases["bump"] = Case(
            "mlrelease bump --dry-run patch", [str(MLRELEASE), *bump], expect="1.2.4"
        )
        if cz is not None:
            cases["cz"] = Case(
                f"cz bump --dry-run --increment PATCH (commitizen {cz_note})",
                [str(cz), *cz_bump],
                expect="1.2.4",
            )
        cases["git-status"] = Case(
            "git status (as bump runs it)",
            ["git", "status", "--porcelain=v2", "--branch", "--no-ahead-behind", "-z", "-uno"],
        )
        cases["git-tags"] = Case(
            "git for-each-ref refs/tags (as bump runs it)", ["git", "for-each-ref", "refs/tags"]
        )
        measured = measure(cases, cwd=repo, env=env, runs=args.runs)
        baseline, floor, help_row, bump_row = (
            measured[k] for k in ("pass", "floor", "help", "bump")
        )
        cz_row = measured.get("cz", Row("cz bump --dry-run --increment PATCH", None, None, cz_note))
        bump_installed = measured.get(
            "bump-wheel", Row("installed copy", None, None, installed_note)
        )
        rows = list(measured.values())
        if cz is None:
            rows.insert(rows.index(bump_row) + 1, cz_row)
        if installed is None:
            rows.insert(rows.index(bump_row), bump_installed)
        bump_git = git_processes([str(MLRELEASE), *bump], repo, env, root)
        cz_git = git_processes([str(cz), *cz_bump], repo, env, root) if cz is not None else []

        print(
            f"start-up, wall clock, median of {args.runs} rounds after a warm-up, each round "
            f"running every command once (python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs)"
        )
        print("repository: 6 commits, tags v1.0.0 v1.1.0 v1.2.0 latest v1.2.3; both tools -> 1.2.4")
        print()
        print_table(rows, baseline)
        print()
        if help_row.median_ms and floor.median_ms:
            print(
                f"mlrelease --help / the typer+rich import floor: "
                f"{help_row.median_ms / floor.median_ms:.2f}"
            )
        if cz is None:
            print(
                f"commitizen: {cz_note}"
                if args.no_cz
                else f"commitizen could not be installed: {cz_note}"
            )
        elif bump_row.median_ms and cz_row.median_ms:
            print(
                f"mlrelease bump --dry-run / cz bump --dry-run: "
                f"{bump_row.median_ms / cz_row.median_ms:.2f} "
                f"(cz takes {cz_row.median_ms / bump_row.median_ms:.1f}x as long)"
            )
        else:
            print(f"no ratio against commitizen: {cz_row.note}")
        if cz_row.median_ms and bump_installed.median_ms:
            print(
                f"installed from a wheel: mlrelease bump --dry-run / cz bump --dry-run: "
                f"{bump_installed.median_ms / cz_row.median_ms:.2f} "
                f"(cz takes {cz_row.median_ms / bump_installed.median_ms:.1f}x as long)"
            )
        print(
            f"git processes: mlrelease bump --dry-run {len(bump_git)} ({', '.join(bump_git)})"
            + (f"; cz bump --dry-run {len(cz_git)} ({', '.join(cz_git)})" if cz else "")
        )
        print()
        print("where `mlrelease bump --dry-run patch` spends its import time (cumulative ms):")
        for line in import_breakdown(repo, env, ["bump", "--dry-run", "patch"]):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
