"""Service settings: one small typed class read from the environment.

Kept free of heavy imports (no scikit-learn, no FastAPI) so that reading the settings,
and refusing a bad value, is instant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Resolved from this file, not the CWD, so the default works from anywhere and in the image.
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "model.joblib"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Generous per-row allowance (a row of 30 floats is under 1 KiB of JSON): the byte limit only
# stops a body too big to parse safely; MAX_BATCH gives the precise 422 for a long batch.
BODY_BYTES_PER_ROW = 16 * 1024
BODY_BYTES_BASE = 1024 * 1024


class SettingsError(ValueError):
    """Raised when an environment variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, with the defaults it runs with."""

    model_path: Path = DEFAULT_MODEL_PATH
    host: str = "0.0.0.0"
    port: int = 8080
    max_batch: int = 1000
    log_level: str = "info"

    @property
    def max_body_bytes(self) -> int:
        """Request body limit derived from `max_batch`; larger bodies get 413 before parsing."""
        return BODY_BYTES_BASE + self.max_batch * BODY_BYTES_PER_ROW

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `MODEL_PATH`, `HOST`, `PORT`, `MAX_BATCH` and `LOG_LEVEL`; empty counts as unset.

        Raises `SettingsError` naming the variable and its value when one is unusable.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        defaults = cls()
        model_path = get("MODEL_PATH")
        log_level = (get("LOG_LEVEL") or defaults.log_level).lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        return cls(
            model_path=Path(model_path) if model_path else defaults.model_path,
            host=get("HOST") or defaults.host,
            port=_int_in_range("PORT", get("PORT"), defaults.port, low=1, high=65535),
            max_batch=_int_in_range("MAX_BATCH", get("MAX_BATCH"), defaults.max_batch, low=1),
            log_level=log_level,
        )


def _int_in_range(
    name: str, raw: str | None, default: int, *, low: int, high: int | None = None
) -> int:
    """Parse an integer variable, naming it in the error when it is not a number or out of range."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name}={value} must be {bounds}")
    return value
