"""Apply a doctor fix as written: the text a user reads is the edit a test makes.

Each kind of fix doctor prints has one shape, parsed here: a whole file to replace, lines to add
to a file, requirement lines to replace, Dockerfile lines to add or move, a command to run, a
workflow's steps. A fix this module cannot parse fails the test: it is not machine-applicable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

_REPLACE = re.compile(r"replace (\S+) with:\n(.*)", re.DOTALL)
_LINES = re.compile(r"(?:create (\S+) with these lines|add these lines to (\S+)): (.+)")
_PIN = re.compile(r"(\S+):(\d+) `([^`]+)`")
_ADD = re.compile(r"add ((?:`[^`]+`(?: and )?)+) above line (\d+)")
_MOVE = re.compile(r"move line (\d+) \(`[^`]*`\) above line (\d+)")
_RUN_COMMAND = re.compile(r"^(?:re)?train it: `([^`]+)`")
_WORKFLOW = re.compile(r"add (\.github/workflows/\S+) with steps (.+)")


def apply_fix(root: Path, check_id: str, fix: str, env: dict[str, str] | None = None) -> None:
    """Make the edit (or run the command) that `fix` names, in the project at `root`."""
    if match := _REPLACE.search(fix):
        (root / match[1]).write_text(match[2])
    elif match := _LINES.fullmatch(fix):
        path = root / (match[1] or match[2])
        old = path.read_text() if path.exists() else ""
        added = "\n".join(match[3].split(", "))
        path.write_text(old + ("\n" if old and not old.endswith("\n") else "") + added + "\n")
    elif check_id == "requirements.pinned" and fix.startswith("pin them to "):
        for file, number, requirement in _PIN.findall(fix.partition(": ")[2]):
            lines = (root / file).read_text().splitlines()
            lines[int(number) - 1] = requirement
            (root / file).write_text("\n".join(lines) + "\n")
    elif check_id.startswith("dockerfile.") and (_ADD.search(fix) or _MOVE.search(fix)):
        _edit_dockerfile(root / "Dockerfile", fix)
    elif match := _RUN_COMMAND.match(fix):
        subprocess.run(match[1], shell=True, cwd=root, env=env, check=True, capture_output=True)
    elif match := _WORKFLOW.match(fix):
        steps = re.findall(r"`run: ([^`]+)`", match[2])
        workflow = root / match[1]
        workflow.parent.mkdir(parents=True, exist_ok=True)
        workflow.write_text(
            "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
            + "".join(f"      - run: {step}\n" for step in steps)
        )
    else:
        raise AssertionError(f"{check_id}: not a machine-applicable fix: {fix!r}")


def _edit_dockerfile(path: Path, fix: str) -> None:
    """Line numbers in a fix are those of the Dockerfile as doctor read it."""
    lines = path.read_text().splitlines()
    before: dict[int, list[str]] = {}
    moved: set[int] = set()
    for part in re.split(r" and (?=move line|add `)", fix):
        if match := _MOVE.search(part):
            source, target = int(match[1]), int(match[2])
            before.setdefault(target, []).append(lines[source - 1])
            moved.add(source)
        elif match := _ADD.search(part):
            added = re.findall(r"`([^`]+)`", match[1])
            before.setdefault(int(match[2]), []).extend(added)
    result = []
    for number, line in enumerate(lines, 1):
        result += before.get(number, [])
        if number not in moved:
            result.append(line)
    path.write_text("\n".join(result) + "\n")


def project_environment(root: Path, name: str = ".venv", **versions: str) -> Path:
    """A virtualenv of the project at `root/name`: its interpreter sees this test run's
    packages (through a .pth), and its site-packages lists `versions` as installed."""
    path = root / name
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    site = next(path.glob("lib/python*/site-packages"))
    own = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "_mlrelease_test.pth").write_text(own + "\n")
    for distribution, version in versions.items():
        info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
    return path


def activated(env: dict[str, str], environment: Path) -> dict[str, str]:
    """`env` as after `source <environment>/bin/activate`."""
    return {
        **env,
        "VIRTUAL_ENV": str(environment),
        "PATH": f"{environment / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }
