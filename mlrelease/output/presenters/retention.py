"""The views of `retention`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, Table, View, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.retention import RetentionResult


@presents
def _present_retention(result: RetentionResult) -> View:
    notes = [Note(text, "warning") for text in result.warnings]
    notes += [Note(text) for text in result.notes]
    notes += [
        Note(
            f"policy {change.id}: {change.change}", "info" if change.change != "same" else "detail"
        )
        for change in result.changes
    ]
    count = f"{len(result.deletions)} of {result.images} images in {result.repository}"
    if result.target == "registry" and result.applied:
        notes.append(
            Note(f"Deleted {result.deleted} of {result.images} images ({count})", "success")
        )
    else:
        notes.append(Note(f"The policies delete {count} today"))
    if result.applied and result.target == "artifact-registry":
        mode = "dry-run mode (nothing is deleted)" if result.policy_dry_run else "active"
        notes.append(Note(f"Applied {len(result.policies)} cleanup policies, {mode}", "success"))
    elif result.changed:
        notes.append(Note("run `mlrelease retention --apply` to write the policies"))
    rows = tuple(
        (d.digest[:19], ",".join(d.tags) or "(untagged)", d.uploaded or "-", d.policy)
        for d in result.deletions
    )
    return View(table=Table(("DIGEST", "TAGS", "UPLOADED", "POLICY"), rows), notes=tuple(notes))


@summarises
def _retention_summary(result: RetentionResult) -> str:
    rows: list[tuple[str, str]] = [("repository", f"`{result.repository}`")]
    rows += [(f"policy `{c.id}`", c.change) for c in result.changes]
    if result.target == "artifact-registry":
        mode = "dry-run mode" if result.policy_dry_run else "active"
        rows.append(("applied", f"yes, {mode}" if result.applied else "no (plan)"))
    rows.append(
        ("images deleted by the policies today", f"{len(result.deletions)} of {result.images}")
    )
    if result.target == "registry":
        rows.append(("deleted", str(result.deleted) if result.applied else "none (plan)"))
    rows += [("warning", text) for text in result.warnings]
    summary = "### mlrelease retention\n\n" + markdown_table(("", ""), rows)
    if result.deletions:
        # A plain registry's --apply deletes them itself: say which went.
        deleting = result.target == "registry"
        columns = ("digest", "tags", "uploaded", "policy", *(("deleted",) if deleting else ()))
        deletions = [
            (
                f"`{d.digest[:19]}`",
                ", ".join(d.tags) or "(untagged)",
                d.uploaded or "-",
                d.policy,
                *((("yes" if d.deleted else "no"),) if deleting else ()),
            )
            for d in result.deletions
        ]
        summary += "\n#### Deletions\n\n" + markdown_table(columns, deletions)
    return summary
