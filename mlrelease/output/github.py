"""GitHub Actions: step outputs (`$GITHUB_OUTPUT`) and the job summary (`$GITHUB_STEP_SUMMARY`).

Both are appended to only when their variable is set, so the same command runs anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from mlrelease.errors import ExternalServiceError


def write_github_outputs(outputs: Mapping[str, str], env: Mapping[str, str] | None = None) -> bool:
    """Append step outputs to `$GITHUB_OUTPUT` when it is set; True if written."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return False
    import uuid

    lines = []
    for key, value in outputs.items():
        if "\n" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            lines.append(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{key}={value}\n")
    _append(path, "".join(lines), "GITHUB_OUTPUT")
    return True


def append_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append Markdown to `$GITHUB_STEP_SUMMARY` when it is set; True if written."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n", "GITHUB_STEP_SUMMARY")
    return True


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; `|` in cells is escaped."""

    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([row(columns), row(["---"] * len(columns)), *(row(r) for r in rows)]) + "\n"


def _append(path: str, text: str, variable: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise ExternalServiceError(
            f"cannot append to the {variable} file {path}: {err.strerror}",
            hint=f"check that {variable} names a writable file",
        ) from err
