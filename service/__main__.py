"""Run the service: `python -m service`, the container's CMD.

Reads the settings, checks the model before listening, then serves with uvicorn on
HOST:PORT. A model that cannot be served (missing, bad metadata, checksum or scikit-learn
version mismatch) is refused with one log line and exit code 1; a bad setting with exit 2.
The check runs here, before uvicorn starts, because uvicorn reports a failing lifespan as a
multi-line traceback; the lifespan still does the one real load.
"""

from __future__ import annotations

import logging
import sys

from service.model import ModelLoadError, verify_artifact
from service.settings import Settings, SettingsError

EXIT_MODEL_REFUSED = 1
EXIT_BAD_SETTING = 2

logger = logging.getLogger("service")


class PlainFormatter(logging.Formatter):
    """`level: message`, the level in lower case as the rest of mlrelease writes it."""

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the formatted message with its lower-case level."""
        return f"{record.levelname.lower()}: {super().format(record)}"


def configure_logging(level: str) -> None:
    """Send every log line, uvicorn's included, to stderr as plain `level: message` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PlainFormatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def main() -> int:
    """Check settings and model, then serve until stopped; return the exit code."""
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

    import uvicorn

    from service.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the plain format configured above
        log_level=settings.log_level,
        access_log=False,  # the app logs one line per request itself
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
