"""Credential material as users hand it over: a key file's path, the key's JSON, or base64 of
it (`GCP_SA_KEY` takes all three). Every value is a secret until known to be a path: no message
quotes it, and JSON read here is registered for masking before anything can print it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrelease.errors import ConfigError
from mlrelease.secrets import Secret, register_secret


def set_but_empty(env: Mapping[str, str], names: tuple[str, ...]) -> bool:
    present = [env[name] for name in names if name in env]
    return bool(present) and not any(value.strip() for value in present)


def read_key_file(path: Path, source: str) -> str:
    what = _what_is_there(path)
    if what is not None:
        raise ConfigError(
            f"{source} names {path}, which {what}",
            hint=f"point {source} at the key file you downloaded (a JSON file)",
        )
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{source} names {path}, which does not exist",
            hint=f"point {source} at the key file you downloaded",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise ConfigError(
            f"cannot read the key file {path} given by {source}: {why}",
            hint="check the file's permissions and that it is the JSON key",
        ) from None


def decode_sa_key(secret: Secret, source: str) -> str:
    """GCP_SA_KEY as JSON text: given directly, by a path, or base64-encoded."""
    value = secret.reveal().strip()
    if value.startswith(("{", "[")):
        return value
    if _is_file(value):
        return read_key_file(Path(value), source)
    compact = "".join(value.split())
    try:
        padded = compact + "=" * (-len(compact) % 4)
        text = base64.b64decode(padded, altchars=_altchars(compact)).decode("utf-8").strip()
    except (binascii.Error, ValueError):
        text = ""
    if text.startswith("{"):
        return text
    looks_like_path = value.endswith(".json") or value.startswith(("/", "./", "~"))
    what = _path_problem(value) if looks_like_path or "/" in value else None
    raise ConfigError(
        f"{source} names a key file that {what or 'does not exist'}"
        if looks_like_path or what
        else f"{source} is neither key JSON, nor the path of a key file, nor base64 of key JSON",
        hint=f"set {source} to the key file's contents, its path, or `base64 -w0 key.json`",
    )


def _path_problem(value: str) -> str | None:
    # The value is a secret until known to be a path: never quote it, only say what is there.
    try:
        return _what_is_there(Path(value))
    except (OSError, ValueError):
        return None


def _what_is_there(path: Path) -> str | None:
    """Why `path` is no key file, in words (a directory, a device, unreadable...), or None for
    a regular readable file."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "is a pipe or socket, not a file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _is_file(value: str) -> bool:
    # Never let the OS's error (which would quote the value: a secret) escape.
    try:
        return "\n" not in value and Path(value).is_file()
    except (OSError, ValueError):
        return False


def _altchars(value: str) -> bytes | None:
    return b"-_" if ("-" in value or "_" in value) else None


def load_json(text: str, source: str) -> dict[str, Any]:
    register_secret(text)  # the key and its private_key are masked in anything printed later
    try:
        info = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"the credentials in {source} are not valid JSON "
            f"(line {err.lineno}, column {err.colno})",
            hint="use the JSON key file exactly as downloaded",
        ) from None
    except ValueError:  # not UTF-8 after all, nested too deep
        raise ConfigError(
            f"the credentials in {source} are not valid JSON",
            hint="use the JSON key file exactly as downloaded",
        ) from None
    if not isinstance(info, dict):
        raise ConfigError(
            f"the credentials in {source} are not a JSON object",
            hint="use the JSON key file exactly as downloaded",
        )
    return info
