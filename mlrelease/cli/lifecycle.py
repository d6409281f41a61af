"""`promote`, `retention` and `scan`: a release's life after the push."""

from typing import Annotated

import typer

from mlrelease.cli.options import KeyFileOption
from mlrelease.cli.root import command_output, typer_app

commands = typer_app()

TagArgument = Annotated[str, typer.Argument(metavar="vX.Y.Z", help="The release tag.")]


@commands.command()
def promote(
    ctx: typer.Context,
    tag: TagArgument,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="REPOSITORY|HOST/PATH",
            help="The destination repository (default: the `promote_to` setting), or "
            "HOST/PATH on a plain registry.",
        ),
    ] = None,
    to_project: Annotated[
        str | None,
        typer.Option("--to-project", metavar="PROJECT", help="The destination's GCP project."),
    ] = None,
    to_region: Annotated[
        str | None,
        typer.Option("--to-region", metavar="REGION", help="The destination's region."),
    ] = None,
    key_file: KeyFileOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Run the preflight and say what would be copied; copy nothing."
        ),
    ] = False,
    no_artifacts: Annotated[
        bool,
        typer.Option(
            "--no-artifacts",
            help="Copy the image alone, not the signature, SBOM and provenance attached to it.",
        ),
    ] = False,
) -> int:
    """Copy a release by digest to another repository (no rebuild, no pull), verify it."""
    from mlrelease.config.settings import load_settings
    from mlrelease.supply.promotion import promote_with_artifacts

    out = command_output(ctx)
    result = promote_with_artifacts(
        load_settings(),
        tag,
        to=to,
        to_project=to_project,
        to_region=to_region,
        key_file=key_file,
        dry_run=dry_run,
        artifacts=not no_artifacts,
        on_progress=out.progress,
    )
    return out.emit(result)


@commands.command()
def retention(
    ctx: typer.Context,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Show the policies and what they delete today; change nothing."
        ),
    ] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Write the policies (Artifact Registry; in Google's dry-run mode unless "
            "--no-dry-run), or delete the planned images (a plain registry).",
        ),
    ] = False,
    no_dry_run: Annotated[
        bool,
        typer.Option("--no-dry-run", help="With --apply: let Artifact Registry delete for real."),
    ] = False,
    key_file: KeyFileOption = None,
) -> int:
    """Cleanup policies as code ([tool.mlrelease.retention]): diff, plan, apply."""
    from mlrelease.config.settings import load_settings
    from mlrelease.registry.retention import retention as run_retention

    result = run_retention(
        load_settings(), apply=apply, plan_only=plan, no_dry_run=no_dry_run, key_file=key_file
    )
    return command_output(ctx).emit(result)


@commands.command()
def scan(
    ctx: typer.Context,
    tag: TagArgument,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 1 when a finding this severe or more has a fix: CRITICAL, HIGH, MEDIUM, "
            "LOW or MINIMAL (default: the `scan_fail_on` setting, CRITICAL).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="How long to wait for the scan to finish (default: `scan_timeout_s`, 600).",
        ),
    ] = None,
    key_file: KeyFileOption = None,
) -> int:
    """Show Artifact Registry's vulnerability findings for a release; fail on fixable ones."""
    from mlrelease.config.settings import Flag, load_settings
    from mlrelease.supply.scan import scan_release

    out = command_output(ctx)
    settings = load_settings(
        flags={
            "scan_fail_on": Flag("--fail-on", fail_on),
            "scan_timeout_s": Flag("--timeout", timeout),
        }
    )
    return out.emit(scan_release(settings, tag, key_file=key_file, on_progress=out.progress))
