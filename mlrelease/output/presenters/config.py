"""The views of `config`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrelease.output.views import Note, Table, View, presents

if TYPE_CHECKING:
    from mlrelease.results.config import ConfigReport


@presents
def _present_config(result: ConfigReport) -> View:
    rows = tuple((e.key, _display_value(e.value), e.source) for e in result.entries)
    where = result.pyproject or "no pyproject.toml (defaults and environment only)"
    return View(
        table=Table(("KEY", "VALUE", "SOURCE"), rows),
        notes=(Note(f"project root {result.root}; read {where}"),),
    )


def _display_value(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
