"""How each result looks to people: a `View` of data lines, an optional table and notes.

`present` has one registered function per result type; `step_summary` gives the Markdown that
results with a GitHub Actions job summary append. `render.Output` prints what these return.
Functions are registered by the name of the result type their parameter is annotated with, so
this module never imports the results: a command loads only its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlrelease.output.github import markdown_table

if TYPE_CHECKING:
    from mlrelease.results.auth import AuthResult
    from mlrelease.results.build import (
        Budget,
        BuildResult,
        Layer,
        ModelReport,
        SizeChange,
        SizeReport,
        SmokeResult,
    )
    from mlrelease.results.config import ConfigReport
    from mlrelease.results.doctor import DoctorReport
    from mlrelease.results.pipeline import PipelineResult
    from mlrelease.results.promote import PromoteResult
    from mlrelease.results.push import PushResult, ReleasesResult
    from mlrelease.results.retention import RetentionResult
    from mlrelease.results.versions import BumpResult, VersionInfo

Level = Literal["info", "success", "warning", "detail"]


@dataclass(frozen=True)
class Note:
    """A line for people (stderr). `detail` lines show only with --verbose."""

    text: str
    level: Level = "info"


@dataclass(frozen=True)
class Table:
    """Rows of data for stdout, printed as aligned plain columns under a header."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class StatusRow:
    """A row of a status report: `status` is ok, warn, fail, skip or error."""

    status: str
    name: str
    text: str
    fix: str = ""


@dataclass(frozen=True)
class View:
    """How a result looks without --json. `report` is for people (stderr): a table on a
    terminal, plain lines elsewhere; it is printed before the notes."""

    data: tuple[str, ...] = ()
    table: Table | None = None
    notes: tuple[Note, ...] = ()
    report: tuple[StatusRow, ...] = ()


_PRESENTERS: dict[str, Callable[[Any], View]] = {}
_SUMMARIES: dict[str, Callable[[Any], str | None]] = {}


def _for(table: dict[str, Any]) -> Callable[[Any], Any]:
    """Register a function in `table` under the result type its one parameter names."""

    def register(function: Any) -> Any:
        (annotation,) = (v for k, v in function.__annotations__.items() if k != "return")
        table[str(annotation)] = function
        return function

    return register


def present(result: object) -> View:
    """The human view of a result."""
    presenter = _PRESENTERS.get(type(result).__name__)
    if presenter is None:
        raise TypeError(f"no view registered for {type(result).__name__}")
    return presenter(result)


@_for(_PRESENTERS)
def _present_version(result: VersionInfo) -> View:
    notes: list[Note] = []
    if result.commit is None:
        notes.append(Note("the repository has no commits yet"))
    elif result.tag is None:
        notes.append(Note(f"no version tags yet; HEAD is {result.commit[:7]}"))
    elif result.at_head:
        notes.append(Note(f"HEAD {result.commit[:7]} is at {result.tag}"))
    else:
        notes.append(Note(f"HEAD {result.commit[:7]} is not at {result.tag}"))
    if result.ignored_tags:
        ignored = ", ".join(result.ignored_tags)
        notes.append(Note(f"ignored tags that are not v+semver: {ignored}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))


@_for(_PRESENTERS)
def _present_bump(result: BumpResult) -> View:
    short = result.commit[:7]
    if result.dry_run:
        notes = [
            Note(
                f"dry run: would tag {result.tag} at {short} (previous {result.previous}) "
                f"with message {result.message!r}"
            )
        ]
        if result.remote:
            notes.append(Note(f"dry run: would push {result.tag} to {result.remote}"))
        notes.append(Note("dry run: nothing was changed"))
    else:
        notes = [Note(f"Tagged {result.tag} at {short} (previous {result.previous})", "success")]
        if result.pushed:
            notes.append(Note(f"Pushed {result.tag} to {result.remote}", "success"))
    notes.append(Note(f"tag message: {result.message!r}", "detail"))
    return View(data=(result.version,), notes=tuple(notes))


@_for(_PRESENTERS)
def _present_config(result: ConfigReport) -> View:
    rows = tuple((e.key, _display_value(e.value), e.source) for e in result.entries)
    where = result.pyproject or "no pyproject.toml (defaults and environment only)"
    return View(
        table=Table(("KEY", "VALUE", "SOURCE"), rows),
        notes=(Note(f"project root {result.root}; read {where}"),),
    )


@_for(_PRESENTERS)
def _present_build(result: BuildResult) -> View:
    cached = f"{len(result.cached_steps)} of {result.steps} steps from the cache"
    notes = [
        *(Note(warning, "warning") for warning in result.warnings),
        Note(
            f"Built {result.image_id[7:19]}: {_mb(result.size_bytes)}, {cached}, "
            f"in {result.duration_s:.1f} s",
            "success",
        ),
        *(Note(f"tagged {tag}") for tag in result.tags),
    ]
    if result.base_size_bytes is not None:
        added = result.size_bytes - result.base_size_bytes
        notes.append(
            Note(
                f"base {result.base_image}: {_mb(result.base_size_bytes)}, "
                f"the build adds {_mb(added)}"
            )
        )
    elif result.base_image is not None:
        notes.append(Note(f"base {result.base_image}"))
    notes.append(Note(_model_line(result.model)))
    notes.extend(
        _size_notes(
            result.size_bytes, result.layers, result.previous, result.last_release, result.budget
        )
    )
    if result.smoke is not None:
        notes.extend(_smoke_notes(result.smoke))
    return View(data=(result.tags[0],), notes=tuple(notes))


def _model_line(model: ModelReport | None) -> str:
    if model is None:
        return "model: none checked (the image brings or makes its own)"
    files = ", ".join(
        f"{file.path} (sha256 {file.sha256[:12]}"
        f"{', as ' + file.metadata + ' records' if file.metadata else ''})"
        for file in model.files
    )
    sklearn = f"; scikit-learn {model.sklearn_version}" if model.sklearn_version else ""
    return f"model: {files}{sklearn}"


@_for(_PRESENTERS)
def _present_size(result: SizeReport) -> View:
    notes = [
        Note(f"{result.ref} ({result.image_id[7:19]}): {_mb(result.size_bytes)}"),
        *_size_notes(
            result.size_bytes, result.layers, result.previous, result.last_release, result.budget
        ),
    ]
    return View(data=(f"{result.ref} {result.size_bytes}",), notes=tuple(notes))


def _size_notes(
    size: int,
    layers: tuple[Layer, ...],
    previous: SizeChange | None,
    last_release: SizeChange | None,
    budget: Budget,
) -> list[Note]:
    notes = [Note("largest layers:")]
    for layer in sorted(layers, key=lambda layer: layer.size_bytes, reverse=True)[:5]:
        step = " ".join(layer.created_by.replace("/bin/sh -c #(nop) ", "").split()) or "(base)"
        notes.append(Note(f"  {_mb(layer.size_bytes):>10}  {step[:90]}"))
    for what, change in (("previous build", previous), ("last release", last_release)):
        if change is not None:
            notes.append(
                Note(
                    f"{_signed_mb(change.delta_bytes)} ({change.delta_percent:+.1f}%) "
                    f"against the {what} {change.ref} ({_mb(change.size_bytes)})"
                )
            )
    if budget.status == "warn" and budget.warn_mb is not None:
        over = size - budget.warn_mb * 1e6
        notes.append(
            Note(
                f"{_mb(size)} is over the size warning of {budget.warn_mb:g} MB by "
                f"{_mb(int(over))}",
                "warning",
            )
        )
    elif budget.status == "ok" and budget.fail_mb is not None:
        notes.append(Note(f"within the size budget of {budget.fail_mb:g} MB"))
    return notes


@_for(_PRESENTERS)
def _present_smoke(result: SmokeResult) -> View:
    return View(data=(result.image,), notes=tuple(_smoke_notes(result)))


def _smoke_notes(result: SmokeResult) -> list[Note]:
    waited = result.waited_on or "the service"
    if result.model_sha256 is not None:
        text = (
            f"Smoke test passed: {waited} after {result.startup_seconds:.1f} s, /ready, "
            f"/predict gave {result.prediction!r} for the model's example"
        )
    else:
        answered = ", ".join(f"{c.method} {c.path} {c.status}" for c in result.requests)
        count = len(result.requests)
        text = (
            f"Smoke test passed: {waited} answered after {result.startup_seconds:.1f} s; "
            f"{count} request{'s' if count != 1 else ''} as expected ({answered})"
        )
    return [Note(text, "success"), *(Note(line, "detail") for line in result.details)]


@_for(_PRESENTERS)
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
        f", {_mb(result.compressed_size_bytes)} compressed" if result.compressed_size_bytes else ""
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


@_for(_PRESENTERS)
def _present_releases(result: ReleasesResult) -> View:
    rows = tuple(
        (
            entry.version,
            ",".join(entry.tags),
            entry.digest[:19],
            _mb(entry.compressed_size_bytes),
            entry.upload_time or "-",
            (entry.model_sha256 or "-")[:12],
            entry.model_metric or "-",
        )
        for entry in result.releases
    )
    count = f"{len(rows)} release{'s' if len(rows) != 1 else ''} in {result.repository}"
    columns = ("VERSION", "TAGS", "DIGEST", "SIZE", "UPLOADED", "MODEL", "METRIC")
    return View(table=Table(columns, rows), notes=(Note(count),))


@_for(_PRESENTERS)
def _present_pipeline(result: PipelineResult) -> View:
    outcome = "released" if result.pushed else "was already released; nothing pushed"
    uri = result.image.rpartition(":")[0]
    return View(
        data=(f"{uri}@{result.digest}",),
        notes=(Note(f"{result.tag} {outcome}: {result.image} ({result.digest})", "success"),),
    )


@_for(_PRESENTERS)
def _present_doctor(result: DoctorReport) -> View:
    rows = tuple(
        StatusRow(check.status, check.id, check.finding, check.fix) for check in result.checks
    )
    notes = [
        Note(f"{check.id}: {check.traceback}", "detail")
        for check in result.checks
        if check.traceback
    ]
    from mlrelease.results.doctor import CHECK_STATUSES

    counts = ", ".join(
        f"{result.count(status)} {status}" for status in CHECK_STATUSES if result.count(status)
    )
    summary = f"{len(result.checks)} checks in {result.seconds:.1f} s: {counts or 'none run'}"
    if result.strict and result.count("warn"):
        summary += " (warnings fail under --strict)"
    notes.append(Note(summary, "success" if result.exit_code == 0 else "info"))
    return View(report=rows, notes=tuple(notes))


def step_summary(result: object) -> str | None:
    """Markdown for the GitHub Actions job summary, for the results that have one."""
    summary = _SUMMARIES.get(type(result).__name__)
    return summary(result) if summary is not None else None


@_for(_SUMMARIES)
def _build_summary(result: BuildResult) -> str:
    rows = [
        ("image", f"`{result.tags[0]}`"),
        ("tags", ", ".join(f"`{tag}`" for tag in result.tags)),
        ("size", _mb(result.size_bytes)),
        ("from the cache", f"{len(result.cached_steps)} of {result.steps} steps"),
        ("base", f"`{result.base_image}`" if result.base_image else "none (scratch)"),
    ]
    if result.model is not None:
        rows.extend(
            (f"model `{file.path}`", f"sha256 `{file.sha256[:12]}`") for file in result.model.files
        )
    for what, change in (
        ("previous build", result.previous),
        ("last release", result.last_release),
    ):
        if change is not None:
            rows.append(
                (
                    f"against the {what}",
                    f"{_signed_mb(change.delta_bytes)} "
                    f"({change.delta_percent:+.1f}%) vs `{change.ref}`",
                )
            )
    if result.budget.warn_mb is not None or result.budget.fail_mb is not None:
        limits = ", ".join(
            f"{name} {value:g} MB"
            for name, value in (("warn", result.budget.warn_mb), ("fail", result.budget.fail_mb))
            if value is not None
        )
        rows.append(("budget", f"{result.budget.status} ({limits})"))
    return "### mlrelease build\n\n" + markdown_table(("", ""), rows)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _signed_mb(size: int) -> str:
    return f"{size / 1e6:+.1f} MB"


def _display_value(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@_for(_PRESENTERS)
def _present_auth(result: AuthResult) -> View:
    expires = "" if result.expires_in_s is None else f"; the token is valid {result.expires_in_s} s"
    project = f"project {result.project}" if result.project else "no project configured"
    return View(
        data=(result.identity or result.kind,),
        notes=(Note(f"Authenticated with {result.description}{expires} ({project})", "success"),),
    )


@_for(_SUMMARIES)
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


@_for(_PRESENTERS)
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
        sent = f", {_mb(result.bytes_sent)} sent" if result.bytes_sent else ""
        notes.append(Note(f"Promoted {result.source} to {result.ref}: {blobs}{sent}", "success"))
    else:
        notes.append(Note(f"{result.ref} already holds {result.digest}: nothing copied"))
    if result.verified:
        notes.append(Note(f"Verified: {result.ref} resolves to {result.digest}", "success"))
    return View(data=(f"{result.uri}@{result.digest}",), notes=tuple(notes))


@_for(_SUMMARIES)
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


@_for(_PRESENTERS)
def _present_retention(result: RetentionResult) -> View:
    notes = [Note(text, "warning") for text in result.warnings]
    notes += [Note(text) for text in result.notes]
    notes += [
        Note(
            f"policy {change.id}: {change.change}", "info" if change.change != "same" else "detail"
        )
        for change in result.changes
    ]
    deleted = sum(1 for d in result.deletions if d.deleted)
    count = f"{len(result.deletions)} of {result.images} images in {result.repository}"
    if result.target == "registry" and result.applied:
        notes.append(Note(f"Deleted {deleted} of {result.images} images ({count})", "success"))
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


@_for(_SUMMARIES)
def _retention_summary(result: RetentionResult) -> str:
    rows: list[tuple[str, str]] = [(c.id, c.change) for c in result.changes]
    rows.append(
        ("images deleted by the policies today", f"{len(result.deletions)} of {result.images}")
    )
    return "### mlrelease retention\n\n" + markdown_table(("", ""), rows)


if TYPE_CHECKING:
    from mlrelease.results.supply import AttachResult, DiffResult, SbomResult, VerifyResult


@_for(_PRESENTERS)
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


@_for(_PRESENTERS)
def _present_verify(result: VerifyResult) -> View:
    rows = tuple(StatusRow(c.status, c.name, c.text) for c in result.checks)
    if result.exit_code == 0:
        summary = Note(f"Verified {result.ref} ({result.digest})", "success")
    else:
        bad = [c.name for c in result.checks if c.status != "ok"]
        summary = Note(f"{result.ref} ({result.digest}) failed: {', '.join(bad)}")
    return View(data=(f"{result.ref}@{result.digest}",), report=rows, notes=(summary,))


@_for(_PRESENTERS)
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


@_for(_PRESENTERS)
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
