"""`auth`, `push` and `releases`: credentials, the push of a release, what the registry holds."""

from typing import Annotated

import typer

from mlrelease.cli.options import AttemptsOption, KeyFileOption
from mlrelease.cli.root import command_output, typer_app

commands = typer_app()


@commands.command()
def auth(ctx: typer.Context, key_file: KeyFileOption = None) -> int:
    """Find the Google credentials, get a token, print their identity (never the token)."""
    from mlrelease import credentials
    from mlrelease.config.settings import load_settings

    return command_output(ctx).emit(credentials.check(load_settings(), key_file=key_file))


@commands.command()
def push(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(metavar="vX.Y.Z", help="The release tag to push.")],
    key_file: KeyFileOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the tag when it holds another image (mutable tags)."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Run every check and the preflight; push nothing."),
    ] = False,
    attempts: AttemptsOption = None,
    require_smoke: Annotated[
        bool | None,
        typer.Option(
            "--require-smoke",
            help="Refuse an image that failed or never ran its smoke test (`require_smoke`).",
        ),
    ] = None,
) -> int:
    """Push the image of a release tag, verify it in the registry, print URI@DIGEST."""
    from mlrelease.config.settings import Flag, load_settings
    from mlrelease.output import progress
    from mlrelease.supply.publish import push_signed

    out = command_output(ctx)
    with progress.push_progress(out) as on_progress:
        result = push_signed(
            load_settings(
                flags={
                    "attempts": Flag("--attempts", attempts),
                    "require_smoke": Flag("--require-smoke", require_smoke),
                }
            ),
            tag,
            key_file=key_file,
            force=force,
            dry_run=dry_run,
            on_progress=on_progress,
        )
    return out.emit(result)


@commands.command()
def releases(ctx: typer.Context, key_file: KeyFileOption = None) -> int:
    """List the versions in the registry, newest first, with digest, size and upload time."""
    from mlrelease.config.settings import load_settings
    from mlrelease.registry.releases import list_releases

    return command_output(ctx).emit(list_releases(load_settings(), key_file=key_file))
