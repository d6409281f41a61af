"""The command line: thin adapters from options to core functions.

A command parses its options, calls one core function and returns what `render.Output.emit`
makes of the result. The root group (`cli_group.RootGroup`) takes the global options wherever
they are typed and turns every error into its exit code. Heavy modules (docker, google,
sklearn) are never imported here; command bodies import what they need.

Adding a command: a frozen result with `to_data()` in results.py, a `present` function for it
in views.py, a core function returning it, and here a `@app.command()` whose body is
`return command_output(ctx).emit(core_function(...))`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from mlrelease.cli.root import EPILOG, RootGroup, command_output, show_version
from mlrelease.errors import UsageError
from mlrelease.output.render import is_terminal
from mlrelease.versions import bump as versions_bump
from mlrelease.versions.rules import DEFAULT_PRE_TOKEN, Part

app = typer.Typer(
    cls=RootGroup,
    epilog=EPILOG,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Rich help costs ~70 ms of start-up: worth it on a terminal, not in scripts and CI.
    rich_markup_mode="rich" if is_terminal(sys.stdout) else None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


@app.command()
def version(ctx: typer.Context) -> int:
    """Print the current version (highest vX.Y.Z tag, 0.0.0 if none); say if HEAD is at it."""
    return command_output(ctx).emit(versions_bump.describe(Path.cwd()))


@app.command()
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
    if remote is not None and not push:
        raise UsageError(
            "--remote names where to push, but --push is not given",
            hint="add --push to push the new tag, or drop --remote",
        )
    result = versions_bump.bump(
        Path.cwd(),
        part,
        pre_token=pre,
        message=message,
        dry_run=dry_run,
        push=push,
        remote=remote or "origin",
    )
    return command_output(ctx).emit(result)


@app.command("config")
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


@app.command()
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
            help="Reuse the layers of this image (pulled first if absent); repeatable.",
        ),
    ] = None,
    size_budget_mb: Annotated[
        float | None,
        typer.Option("--size-budget-mb", metavar="MB", help="Override `size_budget_mb`."),
    ] = None,
    size_warn_mb: Annotated[
        float | None,
        typer.Option("--size-warn-mb", metavar="MB", help="Override `size_warn_mb`."),
    ] = None,
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
            "size_budget_mb": Flag("--size-budget-mb", size_budget_mb),
            "size_warn_mb": Flag("--size-warn-mb", size_warn_mb),
        }
    )
    with progress.build_progress(out, quiet=quiet) as on_log:
        result = build_image(
            settings, no_cache=no_cache, cache_from=cache_from or (), smoke=smoke, on_log=on_log
        )
    return out.emit(result)


@app.command()
def size(
    ctx: typer.Context,
    image: Annotated[
        str | None,
        typer.Argument(help="The image to report on (default: this HEAD's sha-<7> build)."),
    ] = None,
    size_budget_mb: Annotated[
        float | None,
        typer.Option("--size-budget-mb", metavar="MB", help="Override `size_budget_mb`."),
    ] = None,
    size_warn_mb: Annotated[
        float | None,
        typer.Option("--size-warn-mb", metavar="MB", help="Override `size_warn_mb`."),
    ] = None,
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


@app.command()
def smoke(
    ctx: typer.Context,
    image: Annotated[
        str | None,
        typer.Argument(help="The image to test (default: this HEAD's sha-<7> build)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="How long to wait for /health.")
    ] = 60.0,
) -> int:
    """Run the image, wait for /health, check /ready and /predict the model's example."""
    from mlrelease.build.smoke import smoke_test
    from mlrelease.config.settings import load_settings

    if image is None:
        from mlrelease.build.image import default_image

        image = default_image(load_settings())
    return command_output(ctx).emit(smoke_test(image, timeout=timeout))


KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        metavar="PATH",
        help="A Google credentials file; takes precedence over GCP_SA_KEY and ADC.",
    ),
]

AttemptsOption = Annotated[
    int,
    typer.Option("--attempts", metavar="N", min=1, help="Tries for transient registry failures."),
]


@app.command()
def auth(ctx: typer.Context, key_file: KeyFileOption = None) -> int:
    """Find the Google credentials, get a token, print their identity (never the token)."""
    from mlrelease.config.settings import load_settings
    from mlrelease.registry import credentials as google_credentials

    return command_output(ctx).emit(google_credentials.check(load_settings(), key_file=key_file))


@app.command()
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
    attempts: AttemptsOption = 3,
) -> int:
    """Push the image of a release tag, verify it in the registry, print URI@DIGEST."""
    from mlrelease.config.settings import load_settings
    from mlrelease.output import progress
    from mlrelease.registry.push import push_release

    out = command_output(ctx)
    with progress.push_progress(out) as on_progress:
        result = push_release(
            load_settings(),
            tag,
            key_file=key_file,
            force=force,
            dry_run=dry_run,
            attempts=attempts,
            on_progress=on_progress,
        )
    return out.emit(result)


@app.command()
def releases(ctx: typer.Context, key_file: KeyFileOption = None) -> int:
    """List the versions in the registry, newest first, with digest, size and upload time."""
    from mlrelease.config.settings import load_settings
    from mlrelease.registry.push import list_releases

    return command_output(ctx).emit(list_releases(load_settings(), key_file=key_file))


@app.command("release")
def release_command(
    ctx: typer.Context,
    part: Annotated[
        Part, typer.Argument(metavar="PART", help="major, minor or patch (or prerelease).")
    ],
    key_file: KeyFileOption = None,
    attempts: AttemptsOption = 3,
) -> int:
    """Bump, build at the new tag, smoke-test, push and verify; rerun to resume a failed one."""
    from mlrelease.config.settings import load_settings
    from mlrelease.output import progress
    from mlrelease.pipeline import run_release

    out = command_output(ctx)
    with progress.push_progress(out) as on_push:
        result = run_release(
            load_settings(),
            part,
            key_file=key_file,
            attempts=attempts,
            on_step=out.progress,
            on_log=out.build_log,
            on_push=on_push,
        )
    return out.emit(result)


def _check_ids(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@app.command()
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


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `mlrelease` console script."""
    from mlrelease.processes import stop_on_sigterm

    stop_on_sigterm()
    command = typer.main.get_command(app)
    sys.exit(command.main(args=argv, prog_name="mlrelease", standalone_mode=False))
