"""The root command group: global options anywhere on the line, and every error to an exit.

A command returns what `render.Output.emit` makes of its result: the exit code, 0 unless the
result carries its own (a report with failing rows). Every error becomes an exit in
`RootGroup.main`, the only place that does so:

- `MlreleaseError`: its message, hint and exit code;
- a click usage error (unknown option, bad argument): exit 2 in the same format;
- Ctrl-C: exit 130;
- anything else is a bug: exit 70, `error: internal error: ...`.

With `--json` the failure is the JSON envelope on stdout instead; with `MLRELEASE_DEBUG=1` the
traceback precedes it on stderr. When stdout cannot be written (a full disk) the error goes to
stderr with the exit code the command had, or 1 after a success; a broken pipe ends quietly.

Global options (the root's flags: `--json`, `--verbose`, `--version`) are accepted anywhere
before `--`, as gh, docker and kubectl accept them: they are moved in front of the command
(`_split_global_options`), skipping the values of the command's own options.
"""

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from mlrelease.errors import (
    EXIT_CODE_MEANINGS,
    Interrupted,
    MlreleaseError,
    OutputError,
    UsageError,
)
from mlrelease.output.render import Output, is_terminal
from mlrelease.secrets import registered_for_the_command

try:  # typer >= 0.26 vendors click and does not re-export its exception base publicly
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - typer with click as a dependency
    from click.exceptions import ClickException  # type: ignore[assignment,no-redef,unused-ignore]

DEBUG_ENV = "MLRELEASE_DEBUG"

EPILOG = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):<4} {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())
    + f"\n\n\bSet {DEBUG_ENV}=1 to see the traceback of an error."
)


class RootGroup(TyperGroup):
    """The root group: runs a command and turns whatever it raises into an exit code.

    Its commands come from `catalog` (name -> (module, summary)): a module is imported when
    one of its commands is looked up, and the command list in `--help` is made from the
    summaries, so it imports none.
    """

    catalog: Mapping[str, tuple[str, str]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(name for name in self.catalog if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.catalog:
            return self.commands.get(cmd_name)
        commands: typer.Typer = importlib.import_module(self.catalog[cmd_name][0]).commands
        # Only the command asked for: each is made from its signature, ~0.5 ms apiece.
        for info in commands.registered_commands:
            name = info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))
            if name == cmd_name:
                self.commands[cmd_name] = typer.main.get_command_from_info(
                    info,
                    pretty_exceptions_short=commands.pretty_exceptions_short,
                    rich_markup_mode=commands.rich_markup_mode,
                )
                break
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        from typer._click.utils import make_default_short_help

        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(self._summary(ctx, name), limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _summary(self, ctx: Any, name: str) -> str:
        if name in self.catalog:
            return self.catalog[name][1]
        return str(self.get_command(ctx, name).get_short_help_str())

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        hoisted, rest = self._split_global_options(list(sys.argv[1:] if args is None else args))
        out = Output()
        # Known before parsing, for --version and for errors in parsing itself.
        out.json_mode = "--json" in hoisted
        out.verbose = "--verbose" in hoisted or "-v" in hoisted
        # The secrets a command registers are masked until its last line is written.
        with registered_for_the_command():
            code = self._run(out, hoisted + rest, prog_name or "mlrelease", complete_var, extra)
            if out.stdout_failure is not None:
                reason = out.stdout_failure.strerror or "the stream is closed"
                failure = OutputError(f"cannot write the output to stdout: {reason}")
                _report(out, failure, out.stdout_failure)
                code = code or int(failure.exit_code)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(
        self,
        out: Output,
        argv: list[str],
        prog_name: str,
        complete_var: str | None,
        extra: dict[str, Any],
    ) -> int:
        try:
            with out.owning_stdout():
                returned = super().main(
                    args=argv,
                    prog_name=prog_name,
                    complete_var=complete_var,
                    standalone_mode=False,
                    obj=out,
                    **extra,
                )
        except MlreleaseError as err:
            return _report(out, err, err)
        except ClickException as err:
            ctx = getattr(err, "ctx", None)
            if ctx is not None and ctx.parent is not None:
                out.command = ctx.info_name
            path = ctx.command_path if ctx is not None else prog_name
            # One line (click wraps lists of choices), without the "Value error, " that typer's
            # pydantic-based coercion puts before its reason.
            message = " ".join(err.format_message().split()).replace(": Value error, ", ": ")
            return _report(out, UsageError(message, hint=f"see `{path} --help`"), err)
        except (KeyboardInterrupt, typer.Abort) as err:
            return _report(out, Interrupted("interrupted"), err)
        except Exception as err:
            debug = _debug()
            hint = "this is a bug in mlrelease; " + (
                "report the traceback above"
                if debug
                else f"rerun with {DEBUG_ENV}=1 and report the traceback"
            )
            bug = MlreleaseError(f"internal error: {type(err).__name__}: {err}", hint=hint)
            return _report(out, bug, err)
        # typer returns Exit codes (--help, --version) and the command's own return value.
        return returned if type(returned) is int else 0

    def _split_global_options(self, argv: list[str]) -> tuple[list[str], list[str]]:
        """(the root's flags, wherever they were typed; the other arguments, in order).

        A flag a command defines itself stays its own; a value of a command's option (`-m
        --json`) and everything after `--` are left where they are.
        """
        hoisted: list[str] = []
        rest: list[str] = []
        global_flags = {
            name
            for param in self.params
            if param.param_type_name == "option" and getattr(param, "is_flag", False)
            for name in param.opts
        }
        command: Any = self
        takes_value = _value_options(self)
        own: set[str] = set()
        tokens = iter(argv)
        for token in tokens:
            if token == "--":
                rest.extend([token, *tokens])
                break
            if token in takes_value:
                rest.append(token)
                value = next(tokens, None)
                if value is not None:
                    rest.append(value)
                continue
            if token in global_flags and token not in own:
                hoisted.append(token)
                continue
            rest.append(token)
            sub = command.get_command(None, token) if hasattr(command, "commands") else None
            if sub is not None and not token.startswith("-"):
                command = sub
                takes_value = _value_options(sub)
                own = {name for param in sub.params for name in getattr(param, "opts", [])}
        return hoisted, rest

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        # typer turns Ctrl-C into a silent exit 130; make it an error that is reported.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as err:
            raise Interrupted("interrupted") from err


def _report(out: Output, error: MlreleaseError, cause: BaseException) -> int:
    if _debug():
        out.traceback(cause)
    out.fail(error)
    return int(error.exit_code)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _value_options(command: Any) -> set[str]:
    """The option names of `command` that take a value (the next token is theirs)."""
    return {
        name
        for param in command.params
        if param.param_type_name == "option"
        and not getattr(param, "is_flag", False)
        and not getattr(param, "count", False)
        for name in (*param.opts, *param.secondary_opts)
    }


def typer_app(**settings: Any) -> typer.Typer:
    """A Typer app as every mlrelease command module makes its own: plain help off a terminal
    (Rich help costs ~70 ms of start-up), no completion, no pretty tracebacks."""
    return typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich" if is_terminal(sys.stdout) else None,
        context_settings={"help_option_names": ["-h", "--help"]},
        **settings,
    )


def command_output(ctx: typer.Context) -> Output:
    out = ctx.find_root().obj
    if not isinstance(out, Output):  # pragma: no cover - only if invoked around RootGroup.main
        raise TypeError("the CLI must be run through mlrelease.cli.app.main")
    return out


def show_version(ctx: typer.Context, value: bool) -> None:
    if value:
        from mlrelease import __version__  # importlib.metadata is slow; only when asked

        command_output(ctx).program_version(__version__)
        raise typer.Exit()
