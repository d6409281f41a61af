"""The views of `build`, `size` and `smoke`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.github import markdown_table
from mlrelease.output.views import Note, View, mb, presents, summarises

if TYPE_CHECKING:
    from mlrelease.results.build import (
        Budget,
        BuildResult,
        Layer,
        ModelReport,
        SizeChange,
        SizeReport,
        SmokeResult,
    )


@presents
def _present_build(result: BuildResult) -> View:
    cached = f"{len(result.cached_steps)} of {result.steps} steps from the cache"
    notes = [
        *(Note(warning, "warning") for warning in result.warnings),
        Note(
            f"Built {result.image_id[7:19]}: {mb(result.size_bytes)}, {cached}, "
            f"in {result.duration_s:.1f} s",
            "success",
        ),
        *(Note(f"tagged {tag}") for tag in result.tags),
    ]
    if result.build_id:
        notes.append(
            Note(f"Cloud Build {result.build_id} pushed {result.digest}: {result.log_url}")
        )
    if result.base_size_bytes is not None:
        added = result.size_bytes - result.base_size_bytes
        notes.append(
            Note(
                f"base {result.base_image}: {mb(result.base_size_bytes)}, "
                f"the build adds {mb(added)}"
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


@presents
def _present_size(result: SizeReport) -> View:
    notes = [
        Note(f"{result.ref} ({result.image_id[7:19]}): {mb(result.size_bytes)}"),
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
        notes.append(Note(f"  {mb(layer.size_bytes):>10}  {step[:90]}"))
    for what, change in (("previous build", previous), ("last release", last_release)):
        if change is not None:
            notes.append(
                Note(
                    f"{_signed_mb(change.delta_bytes)} ({change.delta_percent:+.1f}%) "
                    f"against the {what} {change.ref} ({mb(change.size_bytes)})"
                )
            )
    if budget.status == "warn" and budget.warn_mb is not None:
        over = size - budget.warn_mb * 1e6
        notes.append(
            Note(
                f"{mb(size)} is over the size warning of {budget.warn_mb:g} MB by {mb(int(over))}",
                "warning",
            )
        )
    elif budget.status == "ok" and budget.fail_mb is not None:
        notes.append(Note(f"within the size budget of {budget.fail_mb:g} MB"))
    return notes


@presents
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


@summarises
def _build_summary(result: BuildResult) -> str:
    rows = [
        ("image", f"`{result.tags[0]}`"),
        ("tags", ", ".join(f"`{tag}`" for tag in result.tags)),
        ("size", mb(result.size_bytes)),
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


def _signed_mb(size: int) -> str:
    return f"{size / 1e6:+.1f} MB"
