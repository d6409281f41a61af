"""The result of `config`: every setting, its value and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its value (secrets already masked) and where it came from."""

    key: str
    value: str | float | list[str] | None
    source: str
    secret: bool = False


@dataclass(frozen=True)
class ConfigReport:
    """Every effective setting with its source (`mlrelease config`)."""

    root: str  # the project root the settings were read for
    pyproject: str | None  # the pyproject.toml read, None when there is none
    entries: tuple[ConfigEntry, ...]

    def to_data(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        for entry in self.entries:
            item: dict[str, Any] = {"value": entry.value, "source": entry.source}
            if entry.secret:
                item["secret"] = True
            settings[entry.key] = item
        return {"root": self.root, "pyproject": self.pyproject, "settings": settings}
