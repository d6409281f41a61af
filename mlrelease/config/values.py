"""Parsing and validating setting values: each parser takes a TOML value, an environment string
or a flag value and returns the typed value, or raises ValueError saying what was expected
(config.py adds the key and where the value came from).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from mlrelease.secrets import Secret, register_secret

MAX_MEGABYTES = 1_000_000  # a terabyte: any larger size setting is a typo
SHOWN_CHARS = 40  # how much of a bad value an error message quotes


def matching(pattern: str, expected: str) -> Callable[[object], str]:
    """A parser for strings that fully match `pattern` (ASCII); `expected` says what fits."""
    compiled = re.compile(pattern, re.ASCII)

    def parse(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {toml_type(value)}")
        if compiled.fullmatch(value) is None:
            raise ValueError(f"expected {expected}")
        return value

    return parse


def megabytes(value: object) -> float:
    """A size in megabytes: a number above 0 and at most `MAX_MEGABYTES`, however long."""
    if isinstance(value, str):
        try:
            number: float = int(value) if value.strip().isdigit() else float(value)
        except ValueError:
            raise ValueError("expected a number of megabytes") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise ValueError(f"expected a number, got {toml_type(value)}")
    # Compared as it is, never converted: a 400-digit integer has no float. NaN fails too.
    if not 0 < number <= MAX_MEGABYTES:
        raise ValueError(f"expected a number of megabytes above 0 and at most {MAX_MEGABYTES}")
    return number


def whole_number(low: int, high: int) -> Callable[[object], int]:
    """A parser for a whole number from `low` to `high` (a TOML integer or a string of digits)."""

    def parse(value: object) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise ValueError(f"expected a whole number, got {toml_type(value)}")
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return number

    return parse


MAX_NAME_BYTES = 255  # one file or directory name, on every common file system
MAX_PATH_BYTES = 4095  # Linux PATH_MAX less the terminating NUL


def file_path(value: object) -> str:
    """A relative or absolute path the file system can hold: no NUL, names of at most 255
    bytes, 4095 bytes in all."""
    if not isinstance(value, str):
        raise ValueError(f"expected a path string, got {toml_type(value)}")
    if not value or "\0" in value:
        raise ValueError("expected a non-empty path without NUL characters")
    encoded = value.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_PATH_BYTES:
        raise ValueError(f"expected a path of at most {MAX_PATH_BYTES} bytes")
    if any(len(name) > MAX_NAME_BYTES for name in encoded.split(b"/")):
        raise ValueError(f"expected file and directory names of at most {MAX_NAME_BYTES} bytes")
    return value


def optional_path(value: object) -> str:
    """A path as `file_path` takes it, or "" for none."""
    return value if value == "" else file_path(value)


def path_list(value: object) -> tuple[str, ...]:
    """Paths, from a TOML array or a comma-separated string."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError(f"expected an array of paths, got {toml_type(value)}")
    return tuple(file_path(item) for item in items)


def command_line(value: object) -> str:
    """A shell command on one line (shown in hints, never run by mlrelease)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a command string, got {toml_type(value)}")
    if "\n" in value or "\0" in value or len(value) > 1000:
        raise ValueError("expected a command on one line of at most 1000 characters")
    return value.strip()


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def boolean(value: object) -> bool:
    """true or false: a TOML boolean, or one of true/false, 1/0, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def seconds(limit: float) -> Callable[[object], float]:
    """A parser for a number of seconds above 0 and at most `limit`."""

    def parse(value: object) -> float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError("expected a number of seconds") from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"expected a number of seconds, got {toml_type(value)}")
        if not 0 < value <= limit:
            raise ValueError(f"expected a number of seconds above 0 and at most {limit:g}")
        return float(value)

    return parse


def check_port(text: str) -> None:
    """Raise ValueError unless `text` is a TCP port number, 1 to 65535."""
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text[:SHOWN_CHARS]!r} is not a number from 1 to 65535")


_HOST_PORT_TEXT = matching(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?",
    "a host[:port] without scheme or credentials, such as 127.0.0.1:5000",
)


def host_port(value: object) -> str:
    """A registry address `host[:port]`: no scheme, no credentials, a valid port and host."""
    text = _HOST_PORT_TEXT(value)
    host, _, port = text.rpartition(":") if not text.endswith("]") else (text, "", "")
    if port:
        check_port(port)
    else:
        host = text
    if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        raise ValueError("expected a host name of at most 253 characters, 63 per label")
    return text


_DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)


def tag_list(value: object) -> tuple[str, ...]:
    """Image tags, from a TOML array or a comma-separated string."""
    if isinstance(value, str):  # from the environment or a flag: comma-separated
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError(f"expected an array of strings, got {toml_type(value)}")
    bad = [item for item in items if _DOCKER_TAG.fullmatch(item) is None]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a valid image tag")
    return tuple(items)


def base_url(value: object) -> str:
    """An http(s) base URL without credentials, query or fragment; a valid port if any."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL string, got {toml_type(value)}")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("expected a URL of printable ASCII characters without spaces")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        raise ValueError("expected a URL such as https://artifactregistry.googleapis.com") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValueError("expected an http(s) URL such as https://artifactregistry.googleapis.com")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("expected a base URL without credentials, query or fragment")
    if parts.netloc.rpartition("]")[2].count(":") == 1:
        check_port(parts.netloc.rpartition(":")[2])
    return value.rstrip("/")


def secret_value(value: object) -> Secret:
    """A non-empty secret, registered for redaction the moment it is read."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    register_secret(value)  # from here on, masked wherever it might be printed
    return Secret(value)


def toml_type(value: object) -> str:
    """What a TOML value is, in words (`an integer`), for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), "a table" if isinstance(value, dict) else "a date or time")


def quoted(value: object) -> str:
    """A bad value as an error message quotes it: repr, cut to `SHOWN_CHARS`."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} chars)"
