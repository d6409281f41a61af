"""The one place that prints: data on stdout, people's lines on stderr, or the JSON envelope.

- A result becomes a `View` through `present` (one registered function per result type):
  `data` lines and an optional `table` go to stdout, `notes` to stderr.
- `--json` replaces all of stdout with one envelope (`SCHEMA`), on success and on failure:
  `{"schema", "command", "ok", "exit_code", "data", "errors": [{"code", "message", "hint"}]}`.
  Warnings still reach stderr; info notes do not.
- stderr goes through Rich only on a terminal without `NO_COLOR`; anywhere else it is plain
  text (no colour, no bold), and Rich is never imported.
- `write_github_outputs` / `append_step_summary` feed GitHub Actions when its variables are set.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import singledispatch
from typing import IO, TYPE_CHECKING, Any, Literal

from mlrelease.errors import ExitCode, ExternalServiceError, MlreleaseError
from mlrelease.results import (
    BuildResult,
    BumpResult,
    ConfigReport,
    Result,
    SmokeResult,
    VersionInfo,
)

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = 1

Level = Literal["info", "success", "warning", "detail"]


@dataclass(frozen=True)
class Note:
    """A line for people (stderr). `detail` lines show only with --verbose."""

    text: str
    level: Level = "info"


@dataclass(frozen=True)
class Table:
    """Rows of data for stdout, printed as aligned plain columns under a header."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class View:
    """How a result looks without --json."""

    data: tuple[str, ...] = ()
    table: Table | None = None
    notes: tuple[Note, ...] = ()


@singledispatch
def present(result: object) -> View:
    """The human view of a result; register one function per result type."""
    raise TypeError(f"no view registered for {type(result).__name__}")


@present.register
def _present_version(result: VersionInfo) -> View:
    notes: list[Note] = []
    if result.commit is None:
        notes.append(Note("the repository has no commits yet"))
    elif result.tag is None:
        notes.append(Note(f"no version tags yet; HEAD is {result.commit[:7]}"))
    elif result.at_head:
        notes.append(Note(f"HEAD {result.commit[:7]} is at {result.tag}"))
    else:
        notes.append(Note(f"HEAD {result.commit[:7]} is not at {result.tag}"))
    if result.ignored_tags:
        ignored = ", ".join(result.ignored_tags)
        notes.append(Note(f"ignored tags that are not v+semver: {ignored}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))


@present.register
def _present_bump(result: BumpResult) -> View:
    short = result.commit[:7]
    if result.dry_run:
        notes = [
            Note(
                f"dry run: would tag {result.tag} at {short} (previous {result.previous}) "
                f"with message {result.message!r}"
            )
        ]
        if result.remote:
            notes.append(Note(f"dry run: would push {result.tag} to {result.remote}"))
        notes.append(Note("dry run: nothing was changed"))
    else:
        notes = [Note(f"Tagged {result.tag} at {short} (previous {result.previous})", "success")]
        if result.pushed:
            notes.append(Note(f"Pushed {result.tag} to {result.remote}", "success"))
    notes.append(Note(f"tag message: {result.message!r}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))


@present.register
def _present_config(result: ConfigReport) -> View:
    rows = tuple((e.key, _display_value(e.value), e.source) for e in result.entries)
    where = result.pyproject or "no pyproject.toml (defaults and environment only)"
    return View(
        table=Table(("KEY", "VALUE", "SOURCE"), rows),
        notes=(Note(f"project root {result.root}; read {where}"),),
    )


@present.register
def _present_build(result: BuildResult) -> View:
    cached = f"{len(result.cached_steps)} of {result.steps} steps from the cache"
    notes = [
        Note(f"Built {result.image_id[7:19]}: {_mb(result.size_bytes)}, {cached}", "success"),
        *(Note(f"tagged {tag}") for tag in result.tags),
        Note("largest layers:"),
    ]
    largest = sorted(result.layers, key=lambda layer: layer.size_bytes, reverse=True)[:5]
    for layer in largest:
        step = " ".join(layer.created_by.replace("/bin/sh -c #(nop) ", "").split()) or "(base)"
        notes.append(Note(f"  {_mb(layer.size_bytes):>10}  {step[:90]}"))
    return View(data=(result.tags[0],), notes=tuple(notes))


@present.register
def _present_smoke(result: SmokeResult) -> View:
    return View(
        data=(result.image,),
        notes=(
            Note(
                f"Smoke test passed: /health after {result.startup_seconds:.1f} s, /ready, "
                f"/predict gave {result.prediction!r} for the model's example",
                "success",
            ),
        ),
    )


@singledispatch
def step_summary(result: object) -> str | None:
    """Markdown for the GitHub Actions job summary, for the results that have one."""
    return None


@step_summary.register
def _build_summary(result: BuildResult) -> str:
    rows = [
        ("image", f"`{result.tags[0]}`"),
        ("tags", ", ".join(f"`{tag}`" for tag in result.tags)),
        ("size", _mb(result.size_bytes)),
        ("from the cache", f"{len(result.cached_steps)} of {result.steps} steps"),
    ]
    return "### mlrelease build\n\n" + markdown_table(("", ""), rows)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _display_value(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Output:
    """Where one invocation writes. `json_mode`, `verbose` and `command` are set by the CLI
    once the global options are parsed."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        verbose: bool = False,
        command: str | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self.command = command
        self._stdout = stdout
        self._stderr = stderr
        self._env = os.environ if env is None else env
        self._console: Console | None = None

    @property
    def stdout(self) -> IO[str]:
        # Resolved late: test runners swap sys.stdout per invocation.
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return self._stderr or sys.stderr

    # Results and errors

    def emit(self, result: Result) -> int:
        """Print a command's result (the envelope with --json, else its view); return the exit
        code: the result's own `exit_code` if it has one (a report with failing rows), else 0."""
        code = int(getattr(result, "exit_code", ExitCode.OK))
        if hasattr(result, "github_outputs"):
            write_github_outputs(result.github_outputs(), self._env)
        if (summary := step_summary(result)) is not None:
            append_step_summary(summary, self._env)
        if self.json_mode:
            self._envelope(ok=code == 0, exit_code=code, data=result.to_data(), errors=[])
            return code
        view = present(result)
        for line in view.data:
            self.data(line)
        if view.table is not None:
            for line in _format_table(view.table):
                self.data(line)
        for note in view.notes:
            self.note(note.text, note.level)
        return code

    def fail(self, error: MlreleaseError) -> None:
        """Report an error: `error:` and `hint:` lines on stderr, or the failure envelope."""
        if self.json_mode:
            entry = {"code": error.code, "message": error.message, "hint": error.hint}
            self._envelope(ok=False, exit_code=error.exit_code, data=None, errors=[entry])
            return
        # One line each, whatever the message: scripts and CI logs grep for `error:`.
        self._line("error: ", " ".join(error.message.split("\n")), "bold red")
        self._line("hint: ", " ".join(error.hint.split("\n")), "yellow")

    def traceback(self, exc: BaseException) -> None:
        """The full traceback on stderr (MLRELEASE_DEBUG=1)."""
        import traceback

        traceback.print_exception(exc, file=self.stderr)

    # Lines

    def data(self, text: str) -> None:
        """One line of data on stdout. Under --json the envelope is all of stdout, so results
        go through `emit`, which calls this only without --json."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def note(self, text: str, level: Level = "info") -> None:
        """A line for people on stderr; quiet under --json except warnings."""
        if level == "detail" and not self.verbose:
            return
        if self.json_mode and level != "warning":
            return
        if level == "warning":
            self._line("warning: ", text, "bold yellow")
        else:
            self._line("", text, {"info": "", "success": "green", "detail": "dim"}[level])

    def build_log(self, line: str) -> None:
        """A line of the engine's build log: the steps always, their output with --verbose."""
        self.note(line, "info" if line.startswith("Step ") else "detail")

    def warn(self, text: str) -> None:
        """A warning on stderr, also under --json."""
        self.note(text, "warning")

    def _envelope(
        self, *, ok: bool, exit_code: int, data: dict[str, Any] | None, errors: list[Any]
    ) -> None:
        envelope = {
            "schema": SCHEMA,
            "command": self.command,
            "ok": ok,
            "exit_code": int(exit_code),
            "data": data,
            "errors": errors,
        }
        self.stdout.write(json.dumps(envelope, indent=2) + "\n")
        self.stdout.flush()

    def _line(self, prefix: str, text: str, style: str) -> None:
        console = self._rich_console()
        if console is None:
            self.stderr.write(prefix + text + "\n")
            self.stderr.flush()
            return
        from rich.text import Text

        line = Text.assemble((prefix, style), text) if prefix else Text(text, style=style)
        console.print(line)

    def _rich_console(self) -> Console | None:
        if self._console is None:
            if (
                not _isatty(self.stderr)
                or self._env.get("TERM") == "dumb"
                or self._env.get("NO_COLOR")
            ):
                return None
            from rich.console import Console

            self._console = Console(file=self.stderr, highlight=False, soft_wrap=True)
        return self._console


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _format_table(table: Table) -> list[str]:
    rows = [table.columns, *table.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# GitHub Actions


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
