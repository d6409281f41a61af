"""`build`, `size` and `smoke`: the image of HEAD, what it weighs, whether it serves."""

from typing import Annotated

import typer

from mlrelease.cli.options import SizeBudgetOption, SizeWarnOption
from mlrelease.cli.root import command_output, typer_app

commands = typer_app()


@commands.command()
def build(
    ctx: typer.Context,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", metavar="IMAGE", help="Override `base_image`."),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option("--network", metavar="MODE", help="Override `build_network` (e.g. host)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Rebuild every step, ignoring the cache.")
    ] = False,
    cache_from: Annotated[
        list[str] | None,
        typer.Option(
            "--cache-from",
            metavar="REF",
            help="Reuse the layers of this image (pulled first if absent), or with BuildKit a "
            "cache spec (type=registry,ref=R|gha|local,src=D); repeatable; overrides "
            "`cache_from`.",
        ),
    ] = None,
    cache_to: Annotated[
        list[str] | None,
        typer.Option(
            "--cache-to",
            metavar="SPEC",
            help="BuildKit: export the cache (type=inline|registry,ref=R|gha|local,dest=D); "
            "repeatable; overrides `cache_to`.",
        ),
    ] = None,
    builder: Annotated[
        str | None,
        typer.Option(
            "--builder", metavar="classic|buildkit|cloud-build|auto", help="Override `builder`."
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option("--platform", metavar="OS/ARCH", help="BuildKit: override `platform`."),
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            metavar="id=ID,src=PATH",
            help="BuildKit: a build secret, instead of `secrets`; repeatable.",
        ),
    ] = None,
    size_budget_mb: SizeBudgetOption = None,
    size_warn_mb: SizeWarnOption = None,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="Smoke-test the image once it is built.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide the step log.")] = False,
) -> int:
    """Build the service image for HEAD; print its first tag (sha-<7>) on stdout.

    Exit 1 over `size_budget_mb` (the image stays tagged) or when --smoke fails."""
    from mlrelease.build.image import build as build_image
    from mlrelease.config.settings import Flag, load_settings
    from mlrelease.output import progress

    out = command_output(ctx)
    settings = load_settings(
        flags={
            "base_image": Flag("--base-image", base_image),
            "build_network": Flag("--network", network),
            "builder": Flag("--builder", builder),
            "cache_from": Flag("--cache-from", cache_from or None),
            "cache_to": Flag("--cache-to", cache_to or None),
            "platform": Flag("--platform", platform),
            "secrets": Flag("--secret", secret or None),
            "size_budget_mb": Flag("--size-budget-mb", size_budget_mb),
            "size_warn_mb": Flag("--size-warn-mb", size_warn_mb),
        }
    )
    with progress.build_progress(out, quiet=quiet) as on_log:
        result = build_image(
            settings,
            no_cache=no_cache,
            smoke=smoke,
            on_log=on_log,
        )
    return out.emit(result)


@commands.command()
def size(
    ctx: typer.Context,
    image: Annotated[
        str | None,
        typer.Argument(help="The image to report on (default: this HEAD's sha-<7> build)."),
    ] = None,
    size_budget_mb: SizeBudgetOption = None,
    size_warn_mb: SizeWarnOption = None,
) -> int:
    """Report an image's size, largest layers, change against earlier builds and budget."""
    from mlrelease.build.image import size_report
    from mlrelease.config.settings import Flag, load_settings

    settings = load_settings(
        flags={
            "size_budget_mb": Flag("--size-budget-mb", size_budget_mb),
            "size_warn_mb": Flag("--size-warn-mb", size_warn_mb),
        }
    )
    return command_output(ctx).emit(size_report(settings, image))


@commands.command()
def smoke(
    ctx: typer.Context,
    image: Annotated[
        str | None,
        typer.Argument(help="The image to test (default: this HEAD's sha-<7> build)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Override `timeout_s` of [tool.mlrelease.smoke]: how long the service may "
            "take to answer.",
        ),
    ] = None,
) -> int:
    """Run the image and check that it answers its smoke requests ([tool.mlrelease.smoke]).

    Or what [tool.mlrelease.smoke] says: the port, its variable, the health path, the requests
    and their expected answers. Exit 1 when an answer is wrong; the container is always
    removed."""
    from mlrelease.build.image import smoke_image
    from mlrelease.config.settings import Flag, load_settings

    settings = load_settings(flags={"smoke_timeout_s": Flag("--timeout", timeout)})
    return command_output(ctx).emit(smoke_image(settings, image))
