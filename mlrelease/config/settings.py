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

from mlrelease.config.smoke import (
    SmokeConfig,
    SmokeRequest,
    env_name,
    port_number,
    smoke_requests,
    url_path,
)
from mlrelease.config.values import (
    base_url,
    boolean,
    command_line,
    file_path,
    host_port,
    matching,
    megabytes,
    optional_path,
    path_list,
    quoted,
    seconds,
    secret_value,
    tag_list,
    whole_number,
)
from mlrelease.errors import ConfigError
from mlrelease.refs import IMAGE_NAME
from mlrelease.results.config import ConfigEntry, ConfigReport
from mlrelease.secrets import MASK, Secret

ENV_PREFIX = "MLRELEASE_"
_SECRET_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
DEFAULT_GAR_ENDPOINT = "https://artifactregistry.googleapis.com"
TABLE = "[tool.mlrelease]"


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
    builder: str
    secrets: tuple[tuple[str, str], ...]
    platform: str | None
    model_path: str
    model_paths: tuple[str, ...]
    train_command: str
    size_budget_mb: float | None
    size_warn_mb: float | None
    tag_aliases: tuple[str, ...]
    attempts: int
    request_timeout_s: float
    deadline_s: float
    require_smoke: bool
    smoke_port: int
    smoke_port_env: str
    smoke_health: str
    smoke_timeout_s: float
    smoke_requests: tuple[SmokeRequest, ...] | None
    registry_host: str
    gar_endpoint: str
    promote_to: str | None
    retention_keep_releases: int | None
    retention_keep_tag_prefixes: tuple[str, ...]
    retention_delete_untagged_after_days: int | None
    retention_delete_sha_after_days: int | None
    gcp_sa_key: Secret | None
    signing_key: Secret | None
    verify_key: str | None
    kms_key: str | None
    root: Path
    pyproject: Path | None
    sources: Mapping[str, str]
    defaulted: frozenset[str]  # the keys no flag, variable or file set

    @property
    def has_destination(self) -> bool:
        """Whether releases have somewhere to go: a GCP project (Artifact Registry) or a
        registry host given explicitly (a plain registry)."""
        return bool(self.gcp_project) or "registry_host" not in self.defaulted

    @property
    def smoke(self) -> SmokeConfig:
        """What the smoke test runs, from `[tool.mlrelease.smoke]`."""
        return SmokeConfig(
            port=self.smoke_port,
            port_env=self.smoke_port_env,
            health=self.smoke_health,
            timeout_s=self.smoke_timeout_s,
            requests=self.smoke_requests,
        )

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
            elif spec.name == "smoke_requests":
                shown = [request.describe() for request in value] if value else None
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


def choice(allowed: tuple[str, ...]) -> Callable[[object], str]:
    """One of `allowed`, case-insensitive."""

    def parse(value: object) -> str:
        text = str(value).strip().lower() if isinstance(value, str) else ""
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return text

    return parse


def build_secrets(value: object) -> tuple[tuple[str, str], ...]:
    """(id, source path) pairs from `id=ID,src=PATH` strings (an array, or `;`-separated in a
    variable or flag) or a table of ID = PATH. The source is read only by the build."""
    if isinstance(value, dict):
        pairs = [(str(key), item) for key, item in value.items()]
    else:
        if isinstance(value, str):
            items: list[object] = [item for item in value.split(";") if item.strip()]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise ValueError("expected an array of `id=ID,src=PATH` strings or a table")
        pairs = []
        for item in items:
            if not isinstance(item, str):
                raise ValueError("expected `id=ID,src=PATH` strings")
            fields = dict(part.strip().split("=", 1) for part in item.split(",") if "=" in part)
            if set(fields) != {"id", "src"}:
                raise ValueError(f"expected `id=ID,src=PATH`, got {item.strip()[:60]!r}")
            pairs.append((fields["id"], fields["src"]))
    for secret_id, source in pairs:
        if not _SECRET_ID.fullmatch(secret_id):
            raise ValueError(f"secret id {secret_id[:60]!r} is not letters, digits, _ . -")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"secret {secret_id!r} needs a source file path")
    return tuple((secret_id, str(source).strip()) for secret_id, source in pairs)


@dataclass(frozen=True)
class KeySpec:
    """A configuration key: how to parse it, its default and its runbook aliases."""

    name: str
    parse: Callable[[object], Any]
    default: Any = None
    aliases: tuple[str, ...] = ()
    secret: bool = False
    subtable: str | None = None  # "smoke": the key is `port` under [tool.mlrelease.smoke]
    from_env: bool = True  # False for a value no variable can hold (an array of tables)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def toml_key(self) -> str:
        """The key's name in its table: `smoke_port` is `port` in [tool.mlrelease.smoke]."""
        return self.name.removeprefix(f"{self.subtable}_") if self.subtable else self.name

    @property
    def table(self) -> str:
        return f"[tool.mlrelease.{self.subtable}]" if self.subtable else TABLE


KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        "image",
        matching(IMAGE_NAME, "a lowercase image name"),
        "ml-service",
    ),
    KeySpec(
        "gcp_project",
        matching(r"(?:[a-z0-9][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,62}", "a GCP project ID"),
        None,
        ("GCP_PROJECT", "GOOGLE_CLOUD_PROJECT"),
    ),
    KeySpec(
        "region",
        matching(r"[a-z]+(?:-[a-z]+[0-9]+)?", "a region such as us-central1 or europe"),
        "us-central1",
        ("GAR_REGION",),
    ),
    KeySpec(
        "repository",
        matching(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?", "an Artifact Registry repository ID"),
        "docker",
        ("GAR_REPOSITORY",),
    ),
    KeySpec("dockerfile", file_path, "Dockerfile"),
    KeySpec("context", file_path, "."),
    KeySpec(
        "base_image",
        matching(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", "an image reference"),
        "python:3.11-slim",
    ),
    # The network RUN steps use while building; None: the engine's default (bridge).
    KeySpec(
        "build_network",
        matching(r"[a-z][a-z0-9_.-]*", "a Docker network mode such as host"),
    ),
    # classic: docker-py's builder; buildkit: a docker CLI's; auto: buildkit where one can.
    KeySpec("builder", choice(("classic", "buildkit", "auto")), "auto"),
    # BuildKit build secrets, `id=ID,src=PATH` each (or a table ID = PATH); never logged.
    KeySpec("secrets", build_secrets, ()),
    KeySpec(
        "platform",
        matching(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?", "a platform such as linux/amd64"),
    ),
    # "" says there is no model file: the image brings or makes its own.
    KeySpec("model_path", optional_path, "service/model/model.joblib", ("MODEL_PATH",)),
    KeySpec("model_paths", path_list, ()),  # several model files, instead of model_path
    KeySpec("train_command", command_line, "python -m service.train"),
    KeySpec("size_budget_mb", megabytes),
    KeySpec("size_warn_mb", megabytes),
    KeySpec("tag_aliases", tag_list, ()),
    # Tries for a transient registry or API failure (5xx, 429, a reset, a timeout).
    KeySpec("attempts", whole_number(1, 20), 3),
    # How long one request to a registry, an API or the token service may take, and a whole
    # command (a push with its retries): long enough for a slow uplink, never forever.
    KeySpec("request_timeout_s", seconds(3600), 60.0),
    KeySpec("deadline_s", seconds(86400), 3600.0),
    KeySpec("require_smoke", boolean, False),  # push refuses an image not smoke-tested
    KeySpec("smoke_port", port_number, 8080, subtable="smoke"),
    KeySpec("smoke_port_env", env_name, "PORT", subtable="smoke"),
    KeySpec("smoke_health", url_path, "/health", subtable="smoke"),
    KeySpec("smoke_timeout_s", seconds(3600), 60.0, subtable="smoke"),
    KeySpec("smoke_requests", smoke_requests, None, subtable="smoke", from_env=False),
    KeySpec("registry_host", host_port),
    KeySpec("gar_endpoint", base_url, DEFAULT_GAR_ENDPOINT),
    # Where `promote` copies a release by default: a repository ID, or HOST/PATH.
    KeySpec(
        "promote_to",
        matching(
            r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?|[A-Za-z0-9.\[\]:-]+/[a-z0-9._/-]+",
            "a repository ID such as prod, or HOST/PATH",
        ),
    ),
    # Cleanup policies as code ([tool.mlrelease.retention]); unset keys make no policy.
    KeySpec("retention_keep_releases", whole_number(1, 10000), None, subtable="retention"),
    KeySpec("retention_keep_tag_prefixes", tag_list, (), subtable="retention"),
    KeySpec(
        "retention_delete_untagged_after_days", whole_number(0, 36500), None, subtable="retention"
    ),
    KeySpec("retention_delete_sha_after_days", whole_number(0, 36500), None, subtable="retention"),
    KeySpec("gcp_sa_key", secret_value, None, ("GCP_SA_KEY",), secret=True),
    # Release signatures: a PEM private key (or its path; never printed), the PEM public key
    # (or its path) that verify checks against, or a Cloud KMS key version that signs.
    KeySpec("signing_key", secret_value, None, secret=True),
    KeySpec("verify_key", matching(r"(?s)\S.*", "a PEM public key or its path")),
    KeySpec(
        "kms_key",
        matching(
            r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+"
            r"/cryptoKeyVersions/\d+",
            "a Cloud KMS key version name (projects/P/locations/L/keyRings/R/cryptoKeys/K/"
            "cryptoKeyVersions/N)",
        ),
    ),
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
            shown = repr(MASK) if spec.secret else quoted(raw.value)
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
    return Settings(
        **values,
        root=root,
        pyproject=pyproject,
        sources=MappingProxyType(sources),
        defaulted=frozenset(set(KEY_NAMES) - set(raws)),
    )


def explain(cwd: Path | None = None, *, flags: Mapping[str, Flag] | None = None) -> ConfigReport:
    """The effective settings with their sources, secrets masked (`mlrelease config`)."""
    return load_settings(cwd, flags=flags).report()


def _pick(
    spec: KeySpec, flag: Flag | None, env: Mapping[str, str], table: Mapping[str, Any], where: str
) -> _Raw | None:
    if flag is not None and flag.value is not None:
        return _Raw(flag.value, f"flag {flag.name}", f"pass a valid value to {flag.name}")
    for var in (spec.env, *spec.aliases) if spec.from_env else ():
        if env.get(var):
            return _Raw(env[var], f"env {var}", f"fix or unset the environment variable {var}")
    if spec.name in table:
        return _Raw(
            table[spec.name],
            f"{where} {spec.table} {spec.toml_key}",
            f"fix `{spec.toml_key}` under {spec.table} in {where}",
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
    flat = _flatten(table, where)
    for key, variable in (("gcp_sa_key", "GCP_SA_KEY"), ("signing_key", "MLRELEASE_SIGNING_KEY")):
        if key in flat:
            raise ConfigError(
                f"{key} is set in {where} {TABLE}; a key in a committed file is a leaked key",
                hint=f"remove it (and revoke the key); pass it in the {variable} variable instead",
            )
    return flat


def _flatten(table: dict[str, Any], where: str) -> dict[str, Any]:
    """[tool.mlrelease] and its subtables as one mapping by key name (`smoke_port`); an
    unknown key, or a subtable that is no table, is a ConfigError naming it."""
    subtables = {spec.subtable for spec in KEYS if spec.subtable}
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key in subtables:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{key} in {where} {TABLE} is not a table",
                    hint=f"write it as a table: [tool.mlrelease.{key}]",
                )
            flat.update(_known(value, where, key))
        else:
            flat.update(_known({key: value}, where, None))
    return flat


def _known(table: dict[str, Any], where: str, subtable: str | None) -> dict[str, Any]:
    specs = {spec.toml_key: spec for spec in KEYS if spec.subtable == subtable}
    names = [*specs, *(s for s in ("smoke", "retention") if subtable is None)]
    out = {}
    for key, value in table.items():
        if key not in specs:
            close = difflib.get_close_matches(key, names, n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            heading = f"[tool.mlrelease.{subtable}]" if subtable else TABLE
            raise ConfigError(
                f"unknown key {key!r} in {where} {heading}",
                hint=f"{guess}known keys: {', '.join(names)}",
            )
        out[specs[key].name] = value
    return out


def _display(pyproject: Path, cwd: Path) -> str:
    """The file name when it sits in the working directory, else its full path."""
    return pyproject.name if pyproject.parent == cwd else str(pyproject)
