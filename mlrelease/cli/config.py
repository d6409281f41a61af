"""`config`: every effective setting and where it came from."""

from pathlib import Path
from typing import Annotated

import typer

from mlrelease.cli.root import command_output, typer_app

commands = typer_app()


@commands.command("config")
def config_command(
    ctx: typer.Context,
    image: Annotated[str | None, typer.Option("--image", help="Override `image`.")] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Override `gcp_project`.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Override `region`.")] = None,
    repository: Annotated[
        str | None, typer.Option("--repository", help="Override `repository`.")
    ] = None,
) -> int:
    """Print each effective setting and where it came from (secrets masked)."""
    from mlrelease.config.settings import Flag, explain

    flags = {
        "image": Flag("--image", image),
        "gcp_project": Flag("--project", project),
        "region": Flag("--region", region),
        "repository": Flag("--repository", repository),
    }
    return command_output(ctx).emit(explain(Path.cwd(), flags=flags))
