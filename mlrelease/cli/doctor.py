"""`doctor`: the runbook's troubleshooting as checks."""

from pathlib import Path
from typing import Annotated

import typer

from mlrelease.cli.root import command_output, typer_app

commands = typer_app()


def _check_ids(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@commands.command()
def doctor(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip the checks that ask Google Cloud.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option("--only", metavar="ID,...", help="Run only these checks (ids or prefixes)."),
    ] = None,
    skip: Annotated[
        str | None,
        typer.Option("--skip", metavar="ID,...", help="Leave out these checks (ids or prefixes)."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
) -> int:
    """Check the repository, the build and the cloud set-up; name the fix for what fails."""
    from mlrelease.doctor import diagnose

    report = diagnose(
        Path.cwd(), offline=offline, only=_check_ids(only), skipped=_check_ids(skip), strict=strict
    )
    return command_output(ctx).emit(report)
