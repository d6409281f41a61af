"""The views of `push` and `releases`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, Table, View, mb, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.push import PushResult, ReleasesResult


@presents
def _present_push(result: PushResult) -> View:
    notes = [Note(text, "warning") for text in result.warnings]
    notes += [Note(text) for text in result.notes]
    where = result.credentials_source or "no credentials (plain registry)"
    if result.dry_run:
        action = (
            "already holds this image" if result.digest else f"would receive {result.local_image}"
        )
        notes += [
            Note(f"dry run: preflight passed; {result.ref} {action}, with {where}"),
            *(Note(f"dry run: would move {alias}") for alias in result.aliases),
            Note("dry run: nothing was pushed"),
        ]
        return View(data=(result.ref,), notes=tuple(notes))
    size = (
        f", {mb(result.compressed_size_bytes)} compressed" if result.compressed_size_bytes else ""
    )
    if result.pushed:
        tries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        notes.append(Note(f"Pushed {result.local_image} to {result.ref}{tries}{size}", "success"))
    else:
        notes.append(Note(f"{result.ref} already holds {result.local_image}: nothing pushed"))
    notes.append(Note(f"Verified: {result.ref} resolves to {result.digest}", "success"))
    notes += [Note(f"moved {alias}") for alias in result.aliases]
    if result.attached:
        notes.append(
            Note(
                f"Signed: {result.attached['signature_tag']}, with the SBOM and provenance "
                f"beside it ({result.attached['referrers']})",
                "success",
            )
        )
    notes.append(Note(f"credentials: {where}", "detail"))
    return View(data=(f"{result.uri}@{result.digest}",), notes=tuple(notes))


@presents
def _present_releases(result: ReleasesResult) -> View:
    rows = tuple(
        (
            entry.version,
            ",".join(entry.tags),
            entry.digest[:19],
            mb(entry.compressed_size_bytes),
            entry.upload_time or "-",
            (entry.model_sha256 or "-")[:12],
            entry.model_metric or "-",
        )
        for entry in result.releases
    )
    count = f"{len(rows)} release{'s' if len(rows) != 1 else ''} in {result.repository}"
    columns = ("VERSION", "TAGS", "DIGEST", "SIZE", "UPLOADED", "MODEL", "METRIC")
    return View(table=Table(columns, rows), notes=(Note(count),))


@summarises
def _push_summary(result: PushResult) -> str | None:
    if result.dry_run:
        return None
    rows = [
        ("image", f"`{result.ref}`"),
        ("digest", f"`{result.digest}`"),
        ("pushed", "yes" if result.pushed else "no, already there"),
        ("verified", "yes" if result.verified else "no"),
    ]
    if result.aliases:
        rows.append(("aliases", ", ".join(f"`{a}`" for a in result.aliases)))
    summary = "### mlrelease push\n\n" + markdown_table(("", ""), rows)
    if result.changes:
        summary += "\n" + _changes_summary(result.changes)
    return summary


def _changes_summary(changes: Mapping[str, Any]) -> str:
    """The diff against the previous release, as `mlrelease diff` gives it, in Markdown."""
    rows = [
        (f"{p['kind']} `{p['name']}`", p.get("change", ""), p["before"] or "-", p["after"] or "-")
        for p in changes["packages"]
    ]
    rows += [
        (v["name"], "changed", v["before"] or "-", v["after"] or "-")
        for v in changes["values"]
        if v["changed"]
    ]
    title = f"#### Changes since {changes['before']['tag']}\n\n"
    if not rows:
        return title + "none\n"
    return title + markdown_table(("", "", "before", "after"), rows)
