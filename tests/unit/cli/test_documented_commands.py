"""Every `mlrelease ...` command line in the docs and the workflow parses against the real CLI.

The command lines are taken from README.md and RUNBOOK.md (fenced code blocks and inline code)
and from the `run:` scripts of .github/workflows. Each is split as the shell would split it;
a word holding a shell variable or a `${{ ... }}` expression becomes a plain value. The real
click command tree then resolves the command and parses its options and arguments, types and
required ones included, without running anything: an unknown command or option, a missing
argument or a bad value fails the test with click's own message.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import typer.main
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from mlrelease.cli.app import app
from mlrelease.output.render import Output

try:  # typer >= 0.26 vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - typer with click as a dependency
    from click.exceptions import ClickException  # type: ignore[assignment,no-redef,unused-ignore]

REPO = Path(__file__).resolve().parents[3]
DOCUMENTS = ("README.md", "RUNBOOK.md")
WORKFLOWS = REPO / ".github" / "workflows"
ROOT = typer.main.get_command(app)

# A value for words the shell would expand: valid wherever mlrelease takes a string, a number
# or a path, so only the command and option names decide whether a line parses.
_EXPANDED = "1"
_GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_REDIRECTION = re.compile(r"(?:\d|&)?>>?(?:&\d|\s*[^\s;|&)]+)|<\s*[^\s;|&)]+")
_OPERATORS = {"|", "||", "&", "&&", ";", "(", ")", "$(", "`"}
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class CommandLine:
    """One `mlrelease` invocation found in a file: where, and the words after `mlrelease`."""

    source: str
    line: int
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: mlrelease {shlex.join(self.args)}"


def invocations(shell: str) -> Iterator[tuple[str, ...]]:
    """The argument lists of every `mlrelease` command in one line of shell."""
    shell = _REDIRECTION.sub(" ", _GITHUB_EXPRESSION.sub("$EXPR", shell))
    lexer = shlex.shlex(shell, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: prose, not a command
        return
    at_command_start = True
    for index, token in enumerate(tokens):
        if token in _OPERATORS or token.endswith("$"):  # `$(` arrives as `...$` then `(`
            at_command_start = True
            continue
        if at_command_start and token == "mlrelease":
            args = []
            for word in tokens[index + 1 :]:
                if word in _OPERATORS:
                    break
                args.append(_EXPANDED if "$" in word else word)
            if args:  # a bare `mlrelease` names the tool, it is no command line
                yield tuple(args)
        # `NAME=value mlrelease ...`: an assignment keeps the command position.
        at_command_start = bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", token))


def _markdown_shell(text: str) -> Iterator[tuple[int, str]]:
    """(line number, shell) for fenced code lines and inline code spans of a Markdown text."""
    fenced = False
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            yield number, line
        else:
            for span in _INLINE_CODE.findall(line):
                yield number, span


def _workflow_shell(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, shell) for every line of every `run:` script of a workflow."""
    workflow = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    for job in (workflow.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if "run" not in step:
                continue
            # ruamel counts lines from 0; a block scalar (`run: |`) starts on the next line.
            first = step.lc.value("run")[0] + 1
            script = step["run"]
            if isinstance(script, LiteralScalarString | FoldedScalarString):
                first += 1
            for index, line in enumerate(str(script).splitlines()):
                yield first + index, line


def _joined(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Backslash-continued lines joined, numbered by their first line."""
    pending, start = "", 0
    for number, line in lines:
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def documented_command_lines() -> list[CommandLine]:
    """Every `mlrelease` command line in the README, the runbook and the workflows."""
    sources: list[tuple[str, Iterator[tuple[int, str]]]] = [
        (name, _markdown_shell((REPO / name).read_text(encoding="utf-8")))
        for name in DOCUMENTS
        if (REPO / name).exists()
    ]
    sources += [
        (str(path.relative_to(REPO)), _workflow_shell(path))
        for path in sorted(WORKFLOWS.glob("*.y*ml"))
    ]
    return [
        CommandLine(source, number, args)
        for source, lines in sources
        for number, shell in _joined(lines)
        for args in invocations(shell)
    ]


def parse_with_cli(args: tuple[str, ...]) -> None:
    """Resolve the command and parse its parameters with the real CLI; never run it.

    Raises click's UsageError (unknown command or option, missing or bad value). Global options
    anywhere on the line are taken first, as the CLI itself does.
    """
    hoisted, others = ROOT._split_global_options(list(args))
    args = (*hoisted, *others)
    root_options = {
        name
        for param in ROOT.params
        if param.param_type_name == "option"
        and not getattr(param, "is_flag", False)
        and not getattr(param, "count", False)
        for name in param.opts
    }
    split = 0
    while split < len(args) and args[split].startswith("-"):
        split += 2 if args[split] in root_options else 1
    root_args, rest = list(args[:split]), list(args[split:])
    try:
        ctx = ROOT.make_context("mlrelease", root_args, resilient_parsing=False, obj=Output())
        if not rest:
            raise AssertionError("no command after the global options")
        command = ROOT.get_command(ctx, rest[0])
        if command is None:
            raise AssertionError(f"no such command {rest[0]!r}")
        command.make_context(rest[0], rest[1:], parent=ctx, resilient_parsing=False)
    except typer.Exit as done:  # --help and --version answer and stop: the line is valid
        assert done.exit_code == 0


COMMAND_LINES = documented_command_lines()


@pytest.mark.parametrize("command_line", COMMAND_LINES, ids=str)
def test_documented_command_line_parses(command_line: CommandLine) -> None:
    try:
        parse_with_cli(command_line.args)
    except ClickException as err:
        pytest.fail(f"{command_line}\n  does not parse: {err.format_message()}")


def test_every_source_documents_commands() -> None:
    found = {command_line.source for command_line in COMMAND_LINES}
    expected = {*DOCUMENTS, *(str(p.relative_to(REPO)) for p in WORKFLOWS.glob("*.y*ml"))}
    assert found == expected, f"no mlrelease command line found in {sorted(expected - found)}"


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("mlrelease build --no-cache", [("build", "--no-cache")]),
        (
            'v=$(mlrelease bump patch) && mlrelease push "v$v" --dry-run  # then check',
            [
                ("bump", "patch"),
                ("push", "1", "--dry-run"),
            ],
        ),
        ("GAR_REGION=europe-west4 mlrelease releases 2>/dev/null | head", [("releases",)]),
        ("mlrelease push ${{ github.ref_name }}", [("push", "1")]),
        ("pip install -e . && python -m mlrelease", []),
        ("the `mlrelease` tool and mlrelease/cli/app.py", []),
    ],
)
def test_command_lines_are_found_as_the_shell_splits_them(
    shell: str, expected: list[tuple[str, ...]]
) -> None:
    assert list(invocations(shell)) == expected


@pytest.mark.parametrize(
    "args",
    [("nonexistent",), ("build", "--no-such-option"), ("push",), ("bump", "sideways")],
)
def test_a_wrong_command_line_does_not_parse(args: tuple[str, ...]) -> None:
    with pytest.raises((ClickException, AssertionError)):
        parse_with_cli(args)
