"""The views of `promote`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, View, mb, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.promote import PromoteResult

_ACTIONS = {"present": "present", "copied": "copied", "merged": "merged", "missing": "to copy"}


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
        if result.already_there:
            notes.append(Note(f"dry run: {result.ref} already holds {result.digest}"))
        else:
            notes.append(
                Note(f"dry run: preflight passed; {result.ref} would receive {result.digest}")
            )
            notes.append(Note(f"dry run: {blobs}"))
        notes += _artifact_notes(result)
        notes.append(Note("dry run: nothing was copied"))
        return View(data=(result.ref,), notes=tuple(notes))
    if result.promoted:
        sent = f", {mb(result.bytes_sent)} sent" if result.bytes_sent else ""
        notes.append(Note(f"Promoted {result.source} to {result.ref}: {blobs}{sent}", "success"))
    else:
        notes.append(Note(f"{result.ref} already holds {result.digest}: nothing copied"))
    notes += _artifact_notes(result)
    if result.verified:
        notes.append(Note(f"Verified: {result.ref} resolves to {result.digest}", "success"))
    return View(data=(f"{result.uri}@{result.digest}",), notes=tuple(notes))


def _artifact_notes(result: PromoteResult) -> list[Note]:
    """One line for the artifacts carried along, and one per artifact with --verbose."""
    prefix = "dry run: " if result.dry_run else ""
    if not result.artifacts_carried:
        return [Note(f"{prefix}the signature, SBOM and provenance stay behind (--no-artifacts)")]
    if not result.artifacts:
        return [Note(f"{prefix}no signature, SBOM or provenance is attached to {result.digest}")]
    listed = ", ".join(f"{a.kind} {_ACTIONS[a.action]}" for a in result.artifacts)
    moved = [a for a in result.artifacts if a.action in ("copied", "merged")]
    sent = sum(a.bytes_sent for a in result.artifacts)
    tail = f" ({mb(sent)} sent)" if sent else ""
    notes = [Note(f"{prefix}artifacts: {listed}{tail}", "success" if moved else "info")]
    notes += [
        Note(f"{a.kind} {a.digest} ({a.stored_as}): {_ACTIONS[a.action]}", "detail")
        for a in result.artifacts
    ]
    return notes


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
        ("bytes sent", str(result.bytes_sent)),
        ("verified", "yes" if result.verified else "no"),
    ]
    summary = "### mlrelease promote\n\n" + markdown_table(("", ""), rows)
    if result.artifacts:
        artifacts = [
            (a.kind, f"`{a.digest}`", a.stored_as, a.action, str(a.bytes_sent))
            for a in result.artifacts
        ]
        columns = ("artifact", "digest", "stored as", "action", "bytes sent")
        summary += "\n#### Artifacts\n\n" + markdown_table(columns, artifacts)
    elif not result.artifacts_carried:
        summary += "\nArtifacts: not copied (`--no-artifacts`).\n"
    return summary
