"""`release`: bump, build, smoke-test, push and verify in one command."""

from typing import Annotated

import typer

from mlrelease.cli.options import AttemptsOption, KeyFileOption
from mlrelease.cli.root import command_output, typer_app
from mlrelease.versions.rules import Part

commands = typer_app()


@commands.command("release")
def release_command(
    ctx: typer.Context,
    part: Annotated[
        Part, typer.Argument(metavar="PART", help="major, minor or patch (or prerelease).")
    ],
    key_file: KeyFileOption = None,
    attempts: AttemptsOption = None,
    smoke_timeout: Annotated[
        float | None,
        typer.Option(
            "--smoke-timeout",
            metavar="SECONDS",
            help="Override `timeout_s` of [tool.mlrelease.smoke].",
        ),
    ] = None,
    no_smoke: Annotated[
        bool,
        typer.Option("--no-smoke", help="Skip the smoke test (push warns that it was skipped)."),
    ] = False,
) -> int:
    """Bump, build at the new tag, smoke-test, push and verify; rerun to resume a failed one."""
    from mlrelease.config.settings import Flag, load_settings
    from mlrelease.output import progress
    from mlrelease.pipeline import run_release

    out = command_output(ctx)
    with progress.push_progress(out) as on_push:
        result = run_release(
            load_settings(
                flags={
                    "attempts": Flag("--attempts", attempts),
                    "smoke_timeout_s": Flag("--smoke-timeout", smoke_timeout),
                }
            ),
            part,
            smoke=not no_smoke,
            key_file=key_file,
            on_step=out.progress,
            on_log=out.build_log,
            on_push=on_push,
        )
    return out.emit(result)
