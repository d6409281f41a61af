"""Settings come from the environment, with defaults, and a bad value names its variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import DEFAULT_MODEL_PATH, Settings, SettingsError

from .conftest import REPO_ROOT


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.model_path == DEFAULT_MODEL_PATH
    assert (settings.host, settings.port, settings.max_batch, settings.log_level) == (
        "0.0.0.0",
        8080,
        1000,
        "info",
    )


def test_reads_every_variable() -> None:
    env = {
        "MODEL_PATH": "/models/m.joblib",
        "HOST": "127.0.0.1",
        "PORT": "9000",
        "MAX_BATCH": "5",
        "LOG_LEVEL": "DEBUG",
    }
    assert Settings.from_env(env) == Settings(
        model_path=Path("/models/m.joblib"),
        host="127.0.0.1",
        port=9000,
        max_batch=5,
        log_level="debug",
    )


def test_reads_the_serving_variables() -> None:
    env = {
        "MAX_BODY_BYTES": "5000",
        "BODY_TIMEOUT": "3",
        "WEB_CONCURRENCY": "4",
        "GRACEFUL_TIMEOUT": "20",
    }
    settings = Settings.from_env(env)

    assert (settings.max_body_bytes, settings.body_timeout) == (5000, 3)
    assert (settings.web_concurrency, settings.graceful_timeout) == (4, 20)


def test_serving_defaults() -> None:
    settings = Settings.from_env({})

    assert (settings.web_concurrency, settings.graceful_timeout, settings.body_timeout) == (
        1,
        10,
        10,
    )
    # A little above MAX_BATCH rows of JSON: 1000 full-precision rows of 30 floats are ~0.8 MB.
    assert settings.max_body_bytes == 1024 * 1024 + 16 * 1024
    assert Settings(max_batch=4000).max_body_bytes == 4000 * 1024 + 16 * 1024


def test_empty_values_count_as_unset() -> None:
    assert Settings.from_env({"MODEL_PATH": "", "PORT": " ", "LOG_LEVEL": ""}) == Settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT='http' is not an integer"),
        ({"PORT": "0"}, "PORT=0 must be between 1 and 65535"),
        ({"PORT": "70000"}, "PORT=70000 must be between 1 and 65535"),
        ({"MAX_BATCH": "0"}, "MAX_BATCH=0 must be at least 1"),
        ({"MAX_BATCH": "1.5"}, "MAX_BATCH='1.5' is not an integer"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud' is not one of"),
        ({"MAX_BODY_BYTES": "1MB"}, "MAX_BODY_BYTES='1MB' is not an integer"),
        ({"MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES=0 must be at least 1"),
        ({"BODY_TIMEOUT": "0"}, "BODY_TIMEOUT=0 must be at least 1"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY=0 must be at least 1"),
        ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY='two' is not an integer"),
        ({"GRACEFUL_TIMEOUT": "-1"}, "GRACEFUL_TIMEOUT=-1 must be at least 1"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_importing_settings_and_app_does_not_import_sklearn() -> None:
    # Start-up checks and --help must stay fast; sklearn comes in only when a model is loaded.
    code = "import sys, service.settings, service.app; print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
