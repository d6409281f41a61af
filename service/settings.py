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
# The default body limit is a little above MAX_BATCH rows of JSON: a row of 30 floats is under
# 800 bytes even at full precision, so 1 KiB a row, at least 1 MiB, plus room for the envelope.
# It only stops a body too big to parse safely; MAX_BATCH gives the precise 422 for a long batch.
BODY_BYTES_PER_ROW = 1024
BODY_BYTES_FLOOR = 1024 * 1024
BODY_BYTES_ENVELOPE = 16 * 1024


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
    body_limit: int | None = None  # MAX_BODY_BYTES; None: derived from max_batch
    body_timeout: int = 10  # seconds a request body may take to arrive
    web_concurrency: int = 1  # worker processes
    graceful_timeout: int = 10  # seconds in-flight requests get to finish on SIGTERM

    @property
    def max_body_bytes(self) -> int:
        """Request body limit (`MAX_BODY_BYTES`, else derived from `max_batch`); larger is 413."""
        if self.body_limit is not None:
            return self.body_limit
        return max(BODY_BYTES_FLOOR, self.max_batch * BODY_BYTES_PER_ROW) + BODY_BYTES_ENVELOPE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the service's variables (README, "The service"); empty counts as unset.

        Raises `SettingsError` naming the variable and its value when one is unusable.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        defaults = cls()
        model_path = get("MODEL_PATH")
        raw_body_limit = get("MAX_BODY_BYTES")
        log_level = (get("LOG_LEVEL") or defaults.log_level).lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        return cls(
            model_path=Path(model_path) if model_path else defaults.model_path,
            host=get("HOST") or defaults.host,
            port=_int_in_range("PORT", get("PORT"), defaults.port, low=1, high=65535),
            max_batch=_int_in_range("MAX_BATCH", get("MAX_BATCH"), defaults.max_batch, low=1),
            log_level=log_level,
            body_limit=(
                _int_in_range("MAX_BODY_BYTES", raw_body_limit, 0, low=1)
                if raw_body_limit
                else None
            ),
            body_timeout=_int_in_range(
                "BODY_TIMEOUT", get("BODY_TIMEOUT"), defaults.body_timeout, low=1
            ),
            web_concurrency=_int_in_range(
                "WEB_CONCURRENCY", get("WEB_CONCURRENCY"), defaults.web_concurrency, low=1
            ),
            graceful_timeout=_int_in_range(
                "GRACEFUL_TIMEOUT", get("GRACEFUL_TIMEOUT"), defaults.graceful_timeout, low=1
            ),
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
