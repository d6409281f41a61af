"""Settings: one typed model, one precedence, every value remembering where it came from.

Precedence, highest first: a flag; `MLRELEASE_<KEY>`; the runbook's variable names
(`GAR_REGION`, `GAR_REPOSITORY`, `GCP_PROJECT`, `GOOGLE_CLOUD_PROJECT`, `GCP_SA_KEY`,
`MODEL_PATH`); `[tool.mlrelease]` in pyproject.toml; the defaults below. An empty environment
variable counts as unset (CI systems write empty strings for missing secrets).

The project root is the directory of the nearest pyproject.toml found walking up from the
working directory; the walk stops at the top of the git working tree (the first directory with
a `.git` entry), so a pyproject.toml outside the repository is never picked up. Without one,
the root is that git top level, or the working directory outside git.

Nothing here runs at import time: commands that need settings call `load_settings`, so
`mlrelease --help` never reads a file. The secret `gcp_sa_key` is held in `Secret`, whose
str/repr are masked; it is never parsed here.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from mlrelease.errors import ConfigError
from mlrelease.redact import register_secret
from mlrelease.results import ConfigEntry, ConfigReport

ENV_PREFIX = "MLRELEASE_"
MASK = "********"
DEFAULT_GAR_ENDPOINT = "https://artifactregistry.googleapis.com"
TABLE = "[tool.mlrelease]"
MAX_MEGABYTES = 1_000_000  # a terabyte: any larger size setting is a typo
_SHOWN_CHARS = 40  # how much of a bad value an error message quotes


class Secret:
    """A secret string: masked in str() and repr(); `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it; never log or print it."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"


@dataclass(frozen=True)
class Flag:
    """A flag's value for a config key: `name` as the user typed it, `value` None if absent."""

    name: str
    value: object


@dataclass(frozen=True)
class Settings:
    """The effective configuration. `source(key)` says where each value came from."""

    image: str
    gcp_project: str | None
    region: str
    repository: str
    dockerfile: str
    context: str
    base_image: str
    build_network: str | None
    model_path: str
    size_budget_mb: float | None
    size_warn_mb: float | None
    tag_aliases: tuple[str, ...]
    registry_host: str
    gar_endpoint: str
    gcp_sa_key: Secret | None
    root: Path
    pyproject: Path | None
    sources: Mapping[str, str]

    def source(self, key: str) -> str:
        """Where `key`'s value came from, e.g. `env MLRELEASE_REGION` or `default`."""
        return self.sources[key]

    def path(self, key: Literal["dockerfile", "context", "model_path"]) -> Path:
        """A path setting resolved against the project root."""
        return self.root / str(getattr(self, key))

    def report(self) -> ConfigReport:
        """Every key with its display value (secrets masked) and source."""
        entries = []
        for spec in KEYS:
            value = getattr(self, spec.name)
            if spec.secret:
                shown: Any = MASK if value is not None else None
            elif isinstance(value, tuple):
                shown = list(value)
            else:
                shown = value
            entries.append(ConfigEntry(spec.name, shown, self.sources[spec.name], spec.secret))
        return ConfigReport(
            root=str(self.root),
            pyproject=str(self.pyproject) if self.pyproject else None,
            entries=tuple(entries),
        )


# Value parsers: take a TOML value, an environment string or a flag value; return the typed
# value or raise ValueError saying what was expected.


def _text(pattern: str, expected: str) -> Callable[[object], str]:
    compiled = re.compile(pattern, re.ASCII)

    def parse(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_toml_type(value)}")
        if compiled.fullmatch(value) is None:
            raise ValueError(f"expected {expected}")
        return value

    return parse


def _positive_number(value: object) -> float:
    if isinstance(value, str):
        try:
            number: float = int(value) if value.strip().isdigit() else float(value)
        except ValueError:
            raise ValueError("expected a number of megabytes") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise ValueError(f"expected a number, got {_toml_type(value)}")
    # Compared as it is, never converted: a 400-digit integer has no float. NaN fails too.
    if not 0 < number <= MAX_MEGABYTES:
        raise ValueError(f"expected a number of megabytes above 0 and at most {MAX_MEGABYTES}")
    return number


def _port(text: str) -> None:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text[:_SHOWN_CHARS]!r} is not a number from 1 to 65535")


def _host_port(value: object) -> str:
    text = _HOST_PORT_TEXT(value)
    host, _, port = text.rpartition(":") if not text.endswith("]") else (text, "", "")
    if port:
        _port(port)
    else:
        host = text
    if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        raise ValueError("expected a host name of at most 253 characters, 63 per label")
    return text


_DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)


def _tag_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment or a flag: comma-separated
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise ValueError(f"expected an array of strings, got {_toml_type(value)}")
    bad = [item for item in items if _DOCKER_TAG.fullmatch(item) is None]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a valid image tag")
    return tuple(items)


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL string, got {_toml_type(value)}")
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
        _port(parts.netloc.rpartition(":")[2])
    return value.rstrip("/")


def _secret(value: object) -> Secret:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    register_secret(value)  # from here on, masked wherever it might be printed
    return Secret(value)


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), "a table" if isinstance(value, dict) else "a date or time")


def _shown(value: object) -> str:
    """A bad value as an error message quotes it: repr, cut to `_SHOWN_CHARS`."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} chars)"


@dataclass(frozen=True)
class KeySpec:
    """A configuration key: how to parse it, its default and its runbook aliases."""

    name: str
    parse: Callable[[object], Any]
    default: Any = None
    aliases: tuple[str, ...] = ()
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PORT_TEXT = _text(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?",
    "a host[:port] without scheme or credentials, such as 127.0.0.1:5000",
)
_PATH = _text(r"[^\x00]+", "a non-empty path")

KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        "image",
        _text(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*", "a lowercase image name"),
        "ml-service",
    ),
    KeySpec(
        "gcp_project",
        _text(r"(?:[a-z0-9][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,62}", "a GCP project ID"),
        None,
        ("GCP_PROJECT", "GOOGLE_CLOUD_PROJECT"),
    ),
    KeySpec(
        "region",
        _text(r"[a-z]+(?:-[a-z]+[0-9]+)?", "a region such as us-central1 or europe"),
        "us-central1",
        ("GAR_REGION",),
    ),
    KeySpec(
        "repository",
        _text(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?", "an Artifact Registry repository ID"),
        "docker",
        ("GAR_REPOSITORY",),
    ),
    KeySpec("dockerfile", _PATH, "Dockerfile"),
    KeySpec("context", _PATH, "."),
    KeySpec(
        "base_image",
        _text(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", "an image reference"),
        "python:3.11-slim",
    ),
    # The network RUN steps use while building; None: the engine's default (bridge).
    KeySpec("build_network", _text(r"[a-z][a-z0-9_.-]*", "a Docker network mode such as host")),
    KeySpec("model_path", _PATH, "service/model/model.joblib", ("MODEL_PATH",)),
    KeySpec("size_budget_mb", _positive_number),
    KeySpec("size_warn_mb", _positive_number),
    KeySpec("tag_aliases", _tag_list, ()),
    KeySpec("registry_host", _host_port),
    KeySpec("gar_endpoint", _url, DEFAULT_GAR_ENDPOINT),
    KeySpec("gcp_sa_key", _secret, None, ("GCP_SA_KEY",), secret=True),
)
KEY_NAMES = tuple(spec.name for spec in KEYS)


@dataclass(frozen=True)
class _Raw:
    value: object
    source: str
    fix: str  # how to fix a bad value at this source, for the hint


def find_project_root(cwd: Path) -> tuple[Path, Path | None]:
    """(project root, its pyproject.toml or None), per the rule in this module's docstring."""
    for directory in (cwd, *cwd.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return directory, candidate
        if (directory / ".git").exists():
            return directory, None
    return cwd, None


def load_settings(
    cwd: Path | None = None,
    *,
    flags: Mapping[str, Flag] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every key by precedence and validate it; ConfigError names the key and source."""
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if env is None else env
    flags = flags or {}
    unknown_flags = set(flags) - set(KEY_NAMES)
    if unknown_flags:
        raise ValueError(f"flags for unknown config keys: {sorted(unknown_flags)}")
    root, pyproject = find_project_root(cwd)
    table = _read_table(pyproject, cwd) if pyproject else {}
    where = _display(pyproject, cwd) if pyproject else ""

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    raws: dict[str, _Raw] = {}
    for spec in KEYS:
        raw = _pick(spec, flags.get(spec.name), env, table, where)
        if raw is None:
            values[spec.name] = spec.default
            sources[spec.name] = "default"
            continue
        try:
            values[spec.name] = spec.parse(raw.value)
        except ValueError as err:
            shown = repr(MASK) if spec.secret else _shown(raw.value)
            raise ConfigError(
                f"invalid {spec.name} {shown} from {raw.source}: {err}", hint=raw.fix
            ) from None
        sources[spec.name] = raw.source
        raws[spec.name] = raw

    if values["registry_host"] is None:
        values["registry_host"] = f"{values['region']}-docker.pkg.dev"
        sources["registry_host"] = "default (from region)"
    warn, budget = values["size_warn_mb"], values["size_budget_mb"]
    if warn is not None and budget is not None and warn > budget:
        raise ConfigError(
            f"size_warn_mb {warn:g} (from {sources['size_warn_mb']}) is above size_budget_mb "
            f"{budget:g} (from {sources['size_budget_mb']})",
            hint="the warning threshold must not exceed the budget: "
            + raws.get("size_warn_mb", raws["size_budget_mb"]).fix,
        )
    return Settings(**values, root=root, pyproject=pyproject, sources=MappingProxyType(sources))


def explain(cwd: Path | None = None, *, flags: Mapping[str, Flag] | None = None) -> ConfigReport:
    """The effective settings with their sources, secrets masked (`mlrelease config`)."""
    return load_settings(cwd, flags=flags).report()


def _pick(
    spec: KeySpec, flag: Flag | None, env: Mapping[str, str], table: Mapping[str, Any], where: str
) -> _Raw | None:
    if flag is not None and flag.value is not None:
        return _Raw(flag.value, f"flag {flag.name}", f"pass a valid value to {flag.name}")
    for var in (spec.env, *spec.aliases):
        if env.get(var):
            return _Raw(env[var], f"env {var}", f"fix or unset the environment variable {var}")
    if spec.name in table:
        return _Raw(
            table[spec.name],
            f"{where} {TABLE} {spec.name}",
            f"fix `{spec.name}` under {TABLE} in {where}",
        )
    return None


def _read_table(pyproject: Path, cwd: Path) -> dict[str, Any]:
    import tomllib

    where = _display(pyproject, cwd)
    try:
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{where} is not valid TOML: {err}", hint=f"fix the syntax error in {pyproject}"
        ) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{where} is not UTF-8 text (byte {err.start} cannot be decoded)",
            hint=f"save {pyproject} as UTF-8, as TOML requires",
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{where} nests arrays or tables too deeply to read",
            hint=f"simplify {pyproject}",
        ) from None
    except OSError as err:
        raise ConfigError(
            f"cannot read {where}: {err.strerror}", hint=f"check the permissions of {pyproject}"
        ) from None
    tool = document.get("tool", {})
    table = tool.get("mlrelease", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{TABLE} in {where} is not a table", hint=f"make {TABLE} a table")
    for key in table:
        if key not in KEY_NAMES:
            close = difflib.get_close_matches(key, KEY_NAMES, n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"unknown key {key!r} in {where} {TABLE}",
                hint=f"{guess}known keys: {', '.join(KEY_NAMES)}",
            )
    if "gcp_sa_key" in table:
        raise ConfigError(
            f"gcp_sa_key is set in {where} {TABLE}; a key in a committed file is a leaked key",
            hint="remove it (and revoke the key); pass it in the GCP_SA_KEY variable instead",
        )
    return table


def _display(pyproject: Path, cwd: Path) -> str:
    """The file name when it sits in the working directory, else its full path."""
    return pyproject.name if pyproject.parent == cwd else str(pyproject)
