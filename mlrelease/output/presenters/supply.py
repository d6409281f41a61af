"""The views of `sbom`, `verify`, `diff` and `attach`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, StatusRow, Table, View, presents

if TYPE_CHECKING:
    from mlrelease.results.supply import AttachResult, DiffResult, SbomResult, VerifyResult


@presents
def _present_sbom(result: SbomResult) -> View:
    rows = tuple(
        (
            component.kind,
            component.name,
            component.version or "-",
            component.sha256[:12] if component.sha256 else (component.licence or "-"),
        )
        for component in result.components
    )
    counts = ", ".join(
        f"{result.count(kind)} {label}"
        for kind, label in (("pypi", "Python"), ("deb", "Debian"), ("model", "model"))
        if result.count(kind)
    )
    notes = [Note(text, "warning") for text in result.warnings]
    where = f", kept in {result.path}" if result.path else ""
    notes.append(
        Note(f"CycloneDX {result.spec_version} of {result.image_id[:19]}: {counts}{where}")
    )
    return View(
        table=Table(("KIND", "NAME", "VERSION", "LICENCE/SHA256"), rows), notes=tuple(notes)
    )


@presents
def _present_verify(result: VerifyResult) -> View:
    rows = tuple(StatusRow(c.status, c.name, c.text) for c in result.checks)
    if result.exit_code == 0:
        summary = Note(f"Verified {result.ref} ({result.digest})", "success")
    else:
        bad = [c.name for c in result.checks if c.status != "ok"]
        summary = Note(f"{result.ref} ({result.digest}) failed: {', '.join(bad)}")
    return View(data=(f"{result.ref}@{result.digest}",), report=rows, notes=(summary,))


@presents
def _present_diff(result: DiffResult) -> View:
    rows = [
        (f"{change.kind} {change.name}", change.change, change.before or "-", change.after or "-")
        for change in result.packages
    ]
    rows += [
        (value.name, "changed", value.before or "-", value.after or "-")
        for value in result.values
        if value.changed
    ]
    same = [value.name for value in result.values if not value.changed]
    notes = [
        Note(
            f"{result.before} {result.before_digest[:19]} -> {result.after} "
            f"{result.after_digest[:19]}: {len(rows)} changes"
        )
    ]
    if same:
        notes.append(Note(f"unchanged: {', '.join(same)}", "detail"))
    if result.commits is not None:
        notes.append(Note(f"{len(result.commits)} commits from {result.before} to {result.after}"))
        notes += [Note(f"  {commit}") for commit in result.commits]
    return View(
        table=Table(("WHAT", "CHANGE", result.before, result.after), tuple(rows)),
        notes=tuple(notes),
    )


@presents
def _present_attach(result: AttachResult) -> View:
    notes = [Note(text, "warning") for text in result.warnings]
    notes.append(Note(f"Signed {result.image} ({result.signature_tag})", "success"))
    notes.append(
        Note(
            f"attached SBOM {result.sbom_digest} and provenance "
            f"{result.provenance_digest} ({result.referrers})"
        )
    )
    return View(data=(result.image,), notes=tuple(notes))
