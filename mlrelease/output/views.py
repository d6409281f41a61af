"""How each result looks to people: a `View` of data lines, an optional table and notes.

`present` gives a result's view, `step_summary` the Markdown that results with a GitHub Actions
job summary append; `render.Output` prints what they return. The functions live in
`output/presenters/`, one module per module of `results/`, registered by the name of the result
type their parameter is annotated with: showing a result imports only its presenters, and this
folder never imports the results.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

_RESULTS = "mlrelease.results."
_PRESENTERS_PACKAGE = "mlrelease.output.presenters."

Level = Literal["info", "success", "warning", "detail"]

# The view types are NamedTuples, not dataclasses: every command imports this module, and a
# NamedTuple is defined in a twentieth of the time (about 1.5 ms of each start-up).


class Note(NamedTuple):
    """A line for people (stderr). `detail` lines show only with --verbose."""

    text: str
    level: Level = "info"


class Table(NamedTuple):
    """Rows of data for stdout, printed as aligned plain columns under a header."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class StatusRow(NamedTuple):
    """A row of a status report: `status` is ok, warn, fail, skip or error."""

    status: str
    name: str
    text: str
    fix: str = ""


class View(NamedTuple):
    """How a result looks without --json. `report` is for people (stderr): a table on a
    terminal, plain lines elsewhere; it is printed before the notes."""

    data: tuple[str, ...] = ()
    table: Table | None = None
    notes: tuple[Note, ...] = ()
    report: tuple[StatusRow, ...] = ()


_PRESENTERS: dict[str, Callable[[Any], View]] = {}
_SUMMARIES: dict[str, Callable[[Any], str | None]] = {}


def _register(table: dict[str, Any]) -> Callable[[Any], Any]:
    """Register a function in `table` under the result type its one parameter names."""

    def register(function: Any) -> Any:
        (annotation,) = (v for k, v in function.__annotations__.items() if k != "return")
        table[str(annotation)] = function
        return function

    return register


presents = _register(_PRESENTERS)  # the view of a result type
summarises = _register(_SUMMARIES)  # the job summary of a result type


def _load(result: object) -> str:
    """The result's type name, once the presenters of its results module are imported."""
    module = type(result).__module__
    if module.startswith(_RESULTS):
        importlib.import_module(_PRESENTERS_PACKAGE + module.removeprefix(_RESULTS))
    return type(result).__name__


def present(result: object) -> View:
    """The human view of a result."""
    name = _load(result)
    presenter = _PRESENTERS.get(name)
    if presenter is None:
        raise TypeError(f"no view registered for {name}")
    return presenter(result)


def step_summary(result: object) -> str | None:
    """Markdown for the GitHub Actions job summary, for the results that have one."""
    summary = _SUMMARIES.get(_load(result))
    return summary(result) if summary is not None else None


def mb(size: int) -> str:
    """A size in bytes for people: `312.4 MB`."""
    return f"{size / 1e6:.1f} MB"
