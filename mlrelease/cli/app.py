"""The `mlrelease` program: the root command, its global options, and where each command lives.

A command parses its options, calls one core function and returns what `Output.emit` makes of
the result. Command modules are imported only when their command runs or shows its help
(`COMMANDS`, read by `RootGroup`), so start-up pays for one command, not for all of them;
`mlrelease --help` lists them from the same table without importing any.

Adding a command: a frozen result with `to_data()` in results/, a `@presents` function for it
in output/presenters/ (the module named like its results module), a core function returning
it, and a `@commands.command()` in a module here whose body is
`return command_output(ctx).emit(core_function(...))`, named in `COMMANDS`. The modules here
do without `from __future__ import annotations`: Typer reads every command's annotations, and
objects spare it evaluating strings, ~0.7 ms a command at start-up.
"""

import sys
from collections.abc import Sequence
from typing import Annotated, NoReturn

import typer

from mlrelease.cli.root import EPILOG, RootGroup, command_output, show_version, typer_app

# name -> (module, one-line summary for the command list). The summary is the first line of
# the command's own help, checked by a test.
COMMANDS: dict[str, tuple[str, str]] = {
    "version": (
        "mlrelease.cli.versions",
        "Print the current version (highest vX.Y.Z tag, 0.0.0 if none); say if HEAD is at it.",
    ),
    "bump": (
        "mlrelease.cli.versions",
        'Tag HEAD with the next version and print that version (no "v") on stdout.',
    ),
    "config": (
        "mlrelease.cli.config",
        "Print each effective setting and where it came from (secrets masked).",
    ),
    "build": (
        "mlrelease.cli.build",
        "Build the service image for HEAD; print its first tag (sha-<7>) on stdout.",
    ),
    "size": (
        "mlrelease.cli.build",
        "Report an image's size, largest layers, change against earlier builds and budget.",
    ),
    "smoke": (
        "mlrelease.cli.build",
        "Run the image and check that it answers its smoke requests ([tool.mlrelease.smoke]).",
    ),
    "auth": (
        "mlrelease.cli.registry",
        "Find the Google credentials, get a token, print their identity (never the token).",
    ),
    "push": (
        "mlrelease.cli.registry",
        "Push the image of a release tag, verify it in the registry, print URI@DIGEST.",
    ),
    "releases": (
        "mlrelease.cli.registry",
        "List the versions in the registry, newest first, with digest, size and upload time.",
    ),
    "promote": (
        "mlrelease.cli.lifecycle",
        "Copy a release by digest to another repository (no rebuild, no pull), verify it.",
    ),
    "retention": (
        "mlrelease.cli.lifecycle",
        "Cleanup policies as code ([tool.mlrelease.retention]): diff, plan, apply.",
    ),
    "scan": (
        "mlrelease.cli.lifecycle",
        "Show Artifact Registry's vulnerability findings for a release; fail on fixable ones.",
    ),
    "release": (
        "mlrelease.cli.release",
        "Bump, build at the new tag, smoke-test, push and verify; rerun to resume a failed one.",
    ),
    "sbom": (
        "mlrelease.cli.supply",
        "Show the CycloneDX SBOM of a built image: its packages and model files.",
    ),
    "verify": (
        "mlrelease.cli.supply",
        "Check a release's signature, SBOM and provenance in the registry; one line per check.",
    ),
    "diff": (
        "mlrelease.cli.supply",
        "Compare two releases from the registry: packages, models, base image, size.",
    ),
    "doctor": (
        "mlrelease.cli.doctor",
        "Check the repository, the build and the cloud set-up; name the fix for what fails.",
    ),
}


class Mlrelease(RootGroup):
    catalog = COMMANDS


app = typer_app(cls=Mlrelease, epilog=EPILOG)


@app.callback()
def _root(
    ctx: typer.Context,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON envelope on stdout instead of text."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show details on stderr.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=show_version,
            is_eager=True,
            help="Print mlrelease's own version and exit.",
        ),
    ] = False,
) -> None:
    """Build, version and push the ML service image to Google Artifact Registry."""
    out = command_output(ctx)
    out.json_mode = json_output
    out.verbose = verbose
    out.command = ctx.invoked_subcommand


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The command line, which the `mlrelease` console script (`mlrelease.__main__`) runs."""
    from mlrelease.processes import stop_on_sigterm

    stop_on_sigterm()
    command = typer.main.get_command(app)
    sys.exit(command.main(args=argv, prog_name="mlrelease", standalone_mode=False))
