"""The one place that prints: data on stdout, people's lines on stderr, or the JSON envelope.

- A result becomes a `views.View` through `views.present`: `data` lines and an optional `table`
  go to stdout, `notes` to stderr.
- `--json` replaces all of stdout with one envelope (`SCHEMA`), on success and on failure:
  `{"schema", "command", "ok", "exit_code", "data", "errors": [{"code", "message", "hint"}],
  "warnings": [...]}`. Warnings also reach stderr; info notes do not.
- stderr goes through Rich only on a terminal without `NO_COLOR`; anywhere else it is plain
  text (no colour, no bold), and Rich is never imported.
- Results with GitHub outputs or a job summary feed GitHub Actions (`github.py`) when its
  variables are set.
- Everything written, to the streams and to those files, passes through `redact.redact`.
- Writing cannot crash: a closed stream is written to nothing (as git treats a closed stdout),
  a broken pipe on stdout ends the output quietly, and any other failure to write stdout (a full
  disk) is kept in `stdout_failure` for the CLI to report on stderr, keeping the exit code.
- People's lines are one line each, cut at `LINE_LIMIT` characters unless --verbose; an
  error's raw cause (the third-party exception text) shows only with --verbose.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from mlrelease.errors import ExitCode, MlreleaseError
from mlrelease.output.github import append_step_summary, write_github_outputs
from mlrelease.secrets import redact, redact_data

if TYPE_CHECKING:
    from rich.console import Console

    from mlrelease.output.views import Level, StatusRow, Table
    from mlrelease.results.core import Result


SCHEMA = 1
_STATUS_STYLES = {
    "ok": "green",
    "warn": "bold yellow",
    "fail": "bold red",
    "error": "bold magenta",
    "skip": "dim",
}


LINE_LIMIT = 500  # past this a line is a dump (a 100 kB tag message), not a message


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
        self.warnings: list[str] = []  # every warning so far, for the JSON envelope
        self.stdout_failure: OSError | None = None  # why stdout could not be written, if so
        self._stdout_gone = False  # a broken pipe or a failure: write nothing more there
        self._stderr_gone = False
        self._pinned = False  # stdout fixed by `owning_stdout`

    @property
    def stdout(self) -> IO[str] | None:
        # Resolved late: test runners swap sys.stdout per invocation. None when fd 1 is closed.
        return self._stdout if self._pinned or self._stdout else sys.stdout

    @contextmanager
    def owning_stdout(self) -> Iterator[None]:
        """While it lasts, whatever writes to sys.stdout (click's help, a library's print) goes
        through this Output: redacted, and never raising on a closed, full or broken stream."""
        real = self.stdout
        self._stdout, self._pinned = real, True
        sys.stdout = _StdoutThroughOutput(self, real)  # type: ignore[assignment]
        try:
            yield
        finally:
            sys.stdout = real  # type: ignore[assignment]

    @property
    def stderr(self) -> IO[str] | None:
        return self._stderr or sys.stderr

    # Results and errors

    def emit(self, result: Result) -> int:
        """Print a command's result (the envelope with --json, else its view); return the exit
        code: the result's own `exit_code` if it has one (a report with failing rows), else 0.
        A result's `failure` (built, but over its budget) follows its data as an error."""
        # The views are loaded by the first result, not by `--help` or a usage error.
        from mlrelease.output.views import present, step_summary

        code = int(getattr(result, "exit_code", ExitCode.OK))
        failure: MlreleaseError | None = getattr(result, "failure", None)
        if hasattr(result, "github_outputs"):
            outputs = {key: redact(value) for key, value in result.github_outputs().items()}
            write_github_outputs(outputs, self._env)
        if (summary := step_summary(result)) is not None:
            append_step_summary(redact(summary), self._env)
        if self.json_mode:
            for warning in getattr(result, "warnings", ()):
                self.warn(warning)
            errors = [self._error_entry(failure)] if failure is not None else []
            self._envelope(ok=code == 0, exit_code=code, data=result.to_data(), errors=errors)
            return code
        view = present(result)
        for line in view.data:
            self.data(line)
        if view.table is not None:
            for line in _format_table(view.table):
                self.data(line)
        if view.report:
            self.status_report(view.report)
        for note in view.notes:
            if note.level == "warning":
                self.warn(note.text)
            else:
                self.note(note.text, note.level)
        if failure is not None:
            self.fail(failure)
        return code

    def fail(self, error: MlreleaseError) -> None:
        """Report an error: `error:` and `hint:` lines on stderr, or the failure envelope. When
        stdout cannot take the envelope, the lines go to stderr instead."""
        detail = error_detail(error)
        if self.json_mode and not self._stdout_gone:
            entry = self._error_entry(error)
            data = dict(error.data) if error.data is not None else None
            self._envelope(ok=False, exit_code=error.exit_code, data=data, errors=[entry])
            if not self._stdout_gone:
                return
        # One line each, whatever the message: scripts and CI logs grep for `error:`.
        self._line("error: ", error.message, "bold red")
        self._line("hint: ", error.hint, "yellow")
        if self.verbose and detail:
            self._line("detail: ", detail, "dim")

    def _error_entry(self, error: MlreleaseError) -> dict[str, str]:
        """An error as the envelope lists it; its raw cause only with --verbose."""
        entry = {"code": error.code, "message": error.message, "hint": error.hint}
        if self.verbose and (detail := error_detail(error)):
            entry["detail"] = detail
        return entry

    def program_version(self, version: str) -> None:
        """mlrelease's own version (`--version`): a line, or an envelope under --json."""
        if self.json_mode:
            data = {"name": "mlrelease", "version": version}
            self._envelope(ok=True, exit_code=ExitCode.OK, data=data, errors=[])
        else:
            self.data(f"mlrelease {version}")

    def traceback(self, exc: BaseException) -> None:
        """The full traceback on stderr (MLRELEASE_DEBUG=1), secrets masked like the rest."""
        import traceback

        self._write_stderr("".join(traceback.format_exception(exc)))

    # Lines

    def data(self, text: str) -> None:
        """One line of data on stdout. Under --json the envelope is all of stdout, so results
        go through `emit`, which calls this only without --json."""
        self._write_stdout(text + "\n")

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

    def status_report(self, rows: tuple[StatusRow, ...]) -> None:
        """Rows of a status report on stderr: a Rich table on a terminal, else one plain line
        per row (and one `fix:` line under it when there is a fix)."""
        if not rows:
            return
        console = self._rich_console()
        if console is None:
            width = max(len(row.name) for row in rows)
            for row in rows:
                self._write_stderr(f"{row.status:<5}  {row.name:<{width}}  {row.text}\n")
                if row.fix:
                    self._write_stderr(f"{'':<5}  {'':<{width}}  fix: {row.fix}\n")
            return
        from rich.table import Table as RichTable
        from rich.text import Text

        table = RichTable("", "CHECK", "FINDING", "FIX", show_lines=True, header_style="bold")
        for row in rows:
            style = _STATUS_STYLES.get(row.status, "")
            table.add_row(
                Text(row.status, style=style), row.name, redact(row.text), redact(row.fix)
            )
        console.print(table)

    def build_log(self, line: str) -> None:
        """A line of the engine's build log: the steps always, their output with --verbose."""
        self.note(line, "info" if line.startswith("Step ") else "detail")

    def progress(self, line: str) -> None:
        """A line of a long operation's progress (a push): shown on stderr, quiet under --json."""
        self.note(line)

    def live_console(self) -> Console | None:
        """The Rich console for a live view on stderr (progress bars), None when stderr is not
        a terminal, colour is off, or the output is JSON."""
        return None if self.json_mode else self._rich_console()

    def warn(self, text: str) -> None:
        """A warning on stderr, also under --json, where the envelope lists it too."""
        self.warnings.append(text)
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
            "warnings": list(self.warnings),
        }
        import json  # only under --json: ~1 ms of start-up otherwise

        # Masked value by value, never as text: a secret that happens to equal a key or a piece
        # of JSON syntax must not break the envelope.
        self._write_stdout(json.dumps(redact_data(envelope), indent=2) + "\n", redacted=True)

    def _line(self, prefix: str, text: str, style: str) -> None:
        text = redact(" ".join(text.split("\n")))
        if len(text) > LINE_LIMIT and not self.verbose:
            more = len(text) - LINE_LIMIT
            text = f"{text[:LINE_LIMIT]}... ({more} more characters; --verbose shows all)"
        if self._stderr_gone:
            return
        console = self._rich_console()
        if console is None:
            self._write_stderr(prefix + text + "\n")
            return
        from rich.text import Text

        line = Text.assemble((prefix, style), text) if prefix else Text(text, style=style)
        try:
            console.print(line)
        except (OSError, ValueError):
            self._stderr_gone = True

    # Streams that cannot crash the command

    def _write_stdout(self, text: str, *, redacted: bool = False) -> None:
        stream = self.stdout
        if stream is None or self._stdout_gone:
            return
        try:
            _write(stream, text if redacted else redact(text))
        except BrokenPipeError:
            # The reader left (`| head`): end quietly, as git does.
            self._stdout_gone = True
            _silence(stream)
        except (OSError, ValueError) as err:
            self._stdout_gone = True
            self.stdout_failure = err if isinstance(err, OSError) else OSError(errno.EBADF, "")
            _silence(stream)

    def _write_stderr(self, text: str) -> None:
        stream = self.stderr
        if stream is None or self._stderr_gone:
            return
        try:
            _write(stream, redact(text))
        except (OSError, ValueError):
            self._stderr_gone = True  # nowhere left to say anything; the exit code remains
            _silence(stream)

    def _rich_console(self) -> Console | None:
        if self._console is None:
            if (
                not is_terminal(self.stderr)
                or self._env.get("TERM") == "dumb"
                or self._env.get("NO_COLOR")
            ):
                return None
            from rich.console import Console

            self._console = Console(file=self.stderr, highlight=False, soft_wrap=True)
        return self._console


class _StdoutThroughOutput:
    """A stand-in for sys.stdout that writes through an Output; other attributes (encoding,
    isatty, fileno) are the real stream's."""

    def __init__(self, output: Output, real: IO[str] | None) -> None:
        self._output = output
        self._real = real

    def write(self, text: str) -> int:
        self._output._write_stdout(text)
        return len(text)

    def flush(self) -> None:
        """Every write is flushed already."""

    def isatty(self) -> bool:
        return is_terminal(self._real)

    def __getattr__(self, name: str) -> Any:
        if self._real is None:
            raise AttributeError(name)
        return getattr(self._real, name)


def error_detail(error: MlreleaseError) -> str | None:
    """The raw text behind an error: its own `detail`, else the third-party exception it was
    translated from. Shown only with --verbose."""
    if error.detail:
        return error.detail
    cause = error.__cause__
    if cause is None or isinstance(cause, MlreleaseError):
        return None
    return f"{type(cause).__name__}: {cause}"


def _write(stream: IO[str], text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:  # a terminal in the C locale, a name with undecodable bytes
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def _silence(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null, so that the interpreter's final flush of
    what is left in its buffer cannot fail (and print an "Exception ignored" at exit)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether `stream` is an open terminal (False for None, a closed or a plain file)."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _format_table(table: Table) -> list[str]:
    rows = [table.columns, *table.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
