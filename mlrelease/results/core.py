"""The protocol every result follows."""

from __future__ import annotations

from typing import Any, Protocol


class Result(Protocol):
    """Anything a command hands to the renderer. A result may also carry an `exit_code`
    attribute (a report whose rows failed): the renderer then reports `ok: false` with it;
    and a `failure` (an `MlreleaseError`), which the renderer reports after the data."""

    def to_data(self) -> dict[str, Any]: ...
