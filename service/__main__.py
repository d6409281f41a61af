"""Run the service: `python -m service`, the container's CMD.

Reads the settings, checks the model before listening, then serves with uvicorn on
HOST:PORT in WEB_CONCURRENCY worker processes. A model that cannot be served (missing, bad
metadata, checksum or scikit-learn version mismatch) is refused with one log line and exit
code 1; a bad setting with exit 2; a server that cannot start (its port taken) with exit 3.
The check runs here, before uvicorn starts, because uvicorn reports a failing lifespan as a
multi-line traceback; the lifespan still does the one real load, in each worker.

SIGTERM stops the service gracefully: it stops accepting connections, lets the requests
in flight finish for up to GRACEFUL_TIMEOUT seconds, and exits 0.
"""

from __future__ import annotations

import logging
import logging.config
import signal
import sys
from types import FrameType
from typing import Any

from service.model import ModelLoadError, verify_artifact
from service.settings import Settings, SettingsError

EXIT_MODEL_REFUSED = 1
EXIT_BAD_SETTING = 2
EXIT_NOT_STARTED = 3  # uvicorn's own code for a server whose start-up failed

logger = logging.getLogger("service")


class PlainFormatter(logging.Formatter):
    """`level: message`, the level in lower case as the rest of mlrelease writes it."""

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the formatted message with its lower-case level."""
        return f"{record.levelname.lower()}: {super().format(record)}"


def logging_config(level: str) -> dict[str, Any]:
    """Every log line, uvicorn's included, to stderr as plain `level: message` lines.

    A `logging.config` dictionary, so that uvicorn applies it in each worker process too.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # By name, not by object: this module runs as __main__ in the parent process only.
        "formatters": {"plain": {"()": "service.__main__.PlainFormatter", "fmt": "%(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }


def configure_logging(level: str) -> None:
    """Apply `logging_config(level)` to this process."""
    logging.config.dictConfig(logging_config(level))


def _stopped(signum: int, frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again; by then the stop
    # that was asked for has been done, so the exit status is success, not death by signal.
    raise SystemExit(0)


def main() -> int:
    """Check settings and model, then serve until stopped; return the exit code."""
    signal.signal(signal.SIGTERM, _stopped)
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        configure_logging("info")
        logger.error("%s", err)
        return EXIT_BAD_SETTING
    configure_logging(settings.log_level)
    try:
        verify_artifact(settings.model_path)
    except ModelLoadError as err:
        logger.error("%s", err)
        return EXIT_MODEL_REFUSED

    from service.serving import serve

    started = serve(
        "service.app:create_app",
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        graceful_timeout=settings.graceful_timeout,
        log_config=logging_config(settings.log_level),
        log_level=settings.log_level,
    )
    return 0 if started else EXIT_NOT_STARTED


if __name__ == "__main__":
    sys.exit(main())
