"""The service's own Python environment: where its pins and its test interpreter come from.

mlrelease usually runs from a virtualenv of its own, whose packages say nothing about the
service's: versions are read from the service's environment's `*.dist-info/METADATA` files,
never from the interpreter running mlrelease.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from email.parser import HeaderParser
from functools import cached_property
from pathlib import Path

# Where the service's environment is looked for, in this order.
SEARCHED = "$VIRTUAL_ENV, ./.venv or ./venv"


def canonical_name(name: str) -> str:
    """A distribution name as PEP 503 compares them (`Scikit_Learn` is `scikit-learn`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Environment:
    """A virtualenv: its directory, how it was found, its interpreter and its packages."""

    path: Path
    origin: str  # "$VIRTUAL_ENV" or "./.venv"
    shown: str  # as the user sees it: `.venv`, or an absolute path outside the project

    @property
    def python(self) -> Path | None:
        """The environment's interpreter, None when it has none."""
        for candidate in ("bin/python", "bin/python3", "Scripts/python.exe"):
            if (self.path / candidate).is_file():
                return self.path / candidate
        return None

    @cached_property
    def versions(self) -> dict[str, str]:
        """Installed distributions (canonical name -> version) from its site-packages."""
        found: dict[str, str] = {}
        patterns = ("lib/python*/site-packages/*.dist-info", "Lib/site-packages/*.dist-info")
        for pattern in patterns:
            for info in sorted(self.path.glob(pattern)):
                try:
                    text = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                headers = HeaderParser().parsestr(text, headersonly=True)
                if headers["Name"] and headers["Version"]:
                    found.setdefault(canonical_name(headers["Name"]), headers["Version"].strip())
        return found

    def describe(self) -> str:
        """How a finding names it: `.venv (./.venv)`."""
        return f"{self.shown} ({self.origin})"


def find_environment(root: Path, environ: dict[str, str] | None = None) -> Environment | None:
    """The service's environment: `$VIRTUAL_ENV`, else `./.venv`, else `./venv` (a directory
    with a `pyvenv.cfg`); None when there is none."""
    environ = dict(os.environ) if environ is None else environ
    candidates = []
    if environ.get("VIRTUAL_ENV"):
        candidates.append((Path(environ["VIRTUAL_ENV"]), "$VIRTUAL_ENV"))
    candidates += [(root / ".venv", "./.venv"), (root / "venv", "./venv")]
    for path, origin in candidates:
        if (path / "pyvenv.cfg").is_file():
            try:
                shown = path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                shown = str(path)
            return Environment(path, origin, shown)
    return None
