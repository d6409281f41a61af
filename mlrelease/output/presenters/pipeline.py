"""The views of `release`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.presenters.scan import scan_notes, scan_summary
from mlrelease.output.views import Note, View, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.pipeline import PipelineResult


@presents
def _present_pipeline(result: PipelineResult) -> View:
    outcome = "released" if result.pushed else "was already released; nothing pushed"
    uri = result.image.rpartition(":")[0]
    notes = [Note(f"{result.tag} {outcome}: {result.image} ({result.digest})", "success")]
    if result.scan is not None:
        notes += scan_notes(result.scan)
    return View(data=(f"{uri}@{result.digest}",), notes=tuple(notes))


@summarises
def _pipeline_summary(result: PipelineResult) -> str | None:
    return scan_summary(result.scan) if result.scan is not None else None
