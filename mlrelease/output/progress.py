"""What a long command shows while it runs: the build's steps and the push's layers.

On a terminal (stderr, colour allowed, not --json) a Rich progress view; elsewhere plain lines
through `render.Output`, so CI logs read as a list of steps. Every text passes the redaction
seam before it is printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mlrelease.secrets import redact

if TYPE_CHECKING:
    from mlrelease.output.render import Output
    from mlrelease.results.push import PushEvent

_STEP = re.compile(r"Step (\d+)/(\d+) : (.*)")
# BuildKit's plain progress: `#7 [stage-1 3/3] RUN ...` starts a step (x of y in its stage).
_BUILDKIT_STEP = re.compile(r"#\d+ \[(?:(\S+) )?(\d+)/(\d+)\] (.*)")
_BUILDKIT_NOTE = re.compile(r"#\d+ (?:CACHED|ERROR: .*)")
# A remote builder's own lines (the build's ID and log, the upload): always shown.
_BUILDER_NOTE = re.compile(r"Cloud Build: .*")


@contextmanager
def push_progress(out: Output) -> Iterator[Callable[[PushEvent], None]]:
    """Where a push's progress goes: on a terminal, a Rich bar per layer; elsewhere, one
    plain line per layer when it is done, and the push's own messages."""
    console = out.live_console()
    if console is None:

        def plain(event: PushEvent) -> None:
            if event.layer is None:
                out.note(event.status)
            elif event.final:
                out.note(f"{event.layer}: {event.status}")

        yield plain
        return
    from rich.progress import BarColumn, DownloadColumn, Progress

    with Progress(
        "{task.description}", BarColumn(), DownloadColumn(), console=console, transient=True
    ) as progress:
        tasks: dict[str, Any] = {}

        def show(event: PushEvent) -> None:
            if event.layer is None:
                progress.console.print(redact(event.status), markup=False, highlight=False)
                return
            if event.layer not in tasks:
                tasks[event.layer] = progress.add_task(event.layer, total=None)
            task = tasks[event.layer]
            description = f"{event.layer} {event.status}"
            if event.final:
                done = progress.tasks[task].total or 1
                progress.update(task, description=description, total=done, completed=done)
            else:
                progress.update(
                    task,
                    description=description,
                    completed=event.current or 0,
                    total=event.total,
                )

        yield show


@contextmanager
def build_progress(out: Output, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """Where a build's log goes while it runs: nowhere with `quiet`; on a terminal, a Rich
    progress view of the steps; elsewhere, plain step lines (`build_log`)."""
    if quiet:
        yield lambda line: None
        return
    console = out.live_console()
    if console is None:

        def plain(line: str) -> None:
            if (
                _BUILDKIT_STEP.match(line)
                or _BUILDKIT_NOTE.fullmatch(line)
                or _BUILDER_NOTE.fullmatch(line)
            ):
                out.note(line)
            else:
                out.build_log(line)

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("starting the build", total=None)

        def on_log(line: str) -> None:
            if match := _STEP.match(line):
                step, total, what = int(match[1]), int(match[2]), match[3]
                progress.update(task, completed=step - 1, total=total, description=what[:60])
            elif match := _BUILDKIT_STEP.match(line):
                step, total = int(match[2]), int(match[3])
                what = f"{match[1]} {match[4]}" if match[1] else match[4]
                progress.update(task, completed=step - 1, total=total, description=what[:60])
            elif line.endswith(" CACHED") and _BUILDKIT_NOTE.fullmatch(line):
                progress.update(task, description=f"{progress.tasks[0].description[:52]} CACHED")
            elif _BUILDER_NOTE.fullmatch(line):
                progress.console.print(redact(line), markup=False, highlight=False)
            elif out.verbose:
                progress.console.print(redact(line), style="dim", markup=False, highlight=False)

        yield on_log
        progress.update(task, completed=progress.tasks[0].total or 0, description="built")
