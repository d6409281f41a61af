"""The views of `promote`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, View, mb, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.promote import PromoteResult


@presents
def _present_promote(result: PromoteResult) -> View:
    notes = [Note(text, "warning") for text in result.warnings]
    counts = ", ".join(
        f"{result.count(action)} {action}"
        for action in ("present", "mounted", "uploaded", "missing")
        if result.count(action)
    )
    blobs = f"{len(result.blobs)} blobs ({counts or 'none'})"
    if result.dry_run:
        notes += [
            Note(f"dry run: preflight passed; {result.ref} would receive {result.digest}"),
            Note(f"dry run: {blobs}; nothing was copied"),
        ]
        return View(data=(result.ref,), notes=tuple(notes))
    if result.promoted:
        sent = f", {mb(result.bytes_sent)} sent" if result.bytes_sent else ""
        notes.append(Note(f"Promoted {result.source} to {result.ref}: {blobs}{sent}", "success"))
    else:
        notes.append(Note(f"{result.ref} already holds {result.digest}: nothing copied"))
    if result.verified:
        notes.append(Note(f"Verified: {result.ref} resolves to {result.digest}", "success"))
    return View(data=(f"{result.uri}@{result.digest}",), notes=tuple(notes))


@summarises
def _promote_summary(result: PromoteResult) -> str | None:
    if result.dry_run:
        return None
    rows = [
        ("from", f"`{result.source}`"),
        ("to", f"`{result.ref}`"),
        ("digest", f"`{result.digest}`"),
        ("promoted", "yes" if result.promoted else "no, already there"),
        ("blobs", ", ".join(f"{result.count(a)} {a}" for a in ("present", "mounted", "uploaded"))),
        ("verified", "yes" if result.verified else "no"),
    ]
    return "### mlrelease promote\n\n" + markdown_table(("", ""), rows)
