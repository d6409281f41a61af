"""`version` and `bump`: the version from git tags, and the next one."""

from pathlib import Path
from typing import Annotated

import typer

from mlrelease.cli.root import command_output, typer_app
from mlrelease.versions.rules import DEFAULT_PRE_TOKEN, Part

commands = typer_app()


@commands.command()
def version(ctx: typer.Context) -> int:
    """Print the current version (highest vX.Y.Z tag, 0.0.0 if none); say if HEAD is at it."""
    from mlrelease.versions.bump import describe

    return command_output(ctx).emit(describe(Path.cwd()))


@commands.command()
def bump(
    ctx: typer.Context,
    part: Annotated[
        Part, typer.Argument(metavar="PART", help="The part of the version to increment.")
    ],
    pre: Annotated[
        str,
        typer.Option(
            "--pre", metavar="TOKEN", help="Prerelease token for `prerelease` (1.2.4-TOKEN.1)."
        ),
    ] = DEFAULT_PRE_TOKEN,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Run every check, print the next version, change nothing."),
    ] = False,
    push: Annotated[bool, typer.Option("--push", help="Push the new tag (only it).")] = False,
    remote: Annotated[
        str | None,
        typer.Option("--remote", metavar="NAME", help="The git remote for --push (origin)."),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(
            "--message",
            "-m",
            metavar="TEXT",
            help="The annotated tag's message (default: Release vX.Y.Z).",
        ),
    ] = None,
) -> int:
    """Tag HEAD with the next version and print that version (no "v") on stdout."""
    from mlrelease.errors import UsageError
    from mlrelease.versions.bump import bump as bump_version

    if remote is not None and not push:
        raise UsageError(
            "--remote names where to push, but --push is not given",
            hint="add --push to push the new tag, or drop --remote",
        )
    result = bump_version(
        Path.cwd(),
        part,
        pre_token=pre,
        message=message,
        dry_run=dry_run,
        push=push,
        remote=remote or "origin",
    )
    return command_output(ctx).emit(result)
