"""The views of `release`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, View, presents

if TYPE_CHECKING:
    from mlrelease.results.pipeline import PipelineResult


@presents
def _present_pipeline(result: PipelineResult) -> View:
    outcome = "released" if result.pushed else "was already released; nothing pushed"
    uri = result.image.rpartition(":")[0]
    return View(
        data=(f"{uri}@{result.digest}",),
        notes=(Note(f"{result.tag} {outcome}: {result.image} ({result.digest})", "success"),),
    )
