"""`sbom`, `verify` and `diff`: what an image holds, the proofs of a release, and the changes
between two releases."""

from typing import Annotated

import typer

from mlrelease.cli.options import KeyFileOption
from mlrelease.cli.root import command_output, typer_app

commands = typer_app()

TagArgument = Annotated[str, typer.Argument(metavar="vX.Y.Z", help="A release tag.")]


@commands.command()
def sbom(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(metavar="[IMAGE]", help="A local image (default: HEAD's build)."),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Read the image again instead of the kept SBOM.")
    ] = False,
) -> int:
    """Show the CycloneDX SBOM of a built image: its packages and model files."""
    from mlrelease.config.settings import load_settings
    from mlrelease.supply.sbom import show_sbom

    return command_output(ctx).emit(show_sbom(load_settings(), ref, refresh=refresh))


@commands.command()
def verify(
    ctx: typer.Context,
    tag: TagArgument,
    repository: Annotated[
        str | None,
        typer.Option(
            "--repository",
            metavar="REPOSITORY|HOST/PATH",
            help="Where to check (default: the release repository): a repository promoted "
            "to, named as `promote --to` names it.",
        ),
    ] = None,
    key_file: KeyFileOption = None,
) -> int:
    """Check a release's signature, SBOM and provenance in the registry; one line per check."""
    from mlrelease.config.settings import load_settings
    from mlrelease.supply.verify import verify_release

    result = verify_release(load_settings(), tag, key_file=key_file, repository=repository)
    return command_output(ctx).emit(result)


@commands.command()
def diff(
    ctx: typer.Context,
    before: TagArgument,
    after: TagArgument,
    key_file: KeyFileOption = None,
) -> int:
    """Compare two releases from the registry: packages, models, base image, size."""
    from mlrelease.config.settings import load_settings
    from mlrelease.supply.diff import diff_releases

    return command_output(ctx).emit(
        diff_releases(load_settings(), before, after, key_file=key_file)
    )
