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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from mlrelease.config.keys import KEY_NAMES, KEYS, TABLE, KeySpec
from mlrelease.config.smoke import SmokeConfig, SmokeRequest
from mlrelease.config.values import quoted
from mlrelease.errors import ConfigError
from mlrelease.results.config import ConfigEntry, ConfigReport
from mlrelease.secrets import MASK, Secret


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
    buildkit_dockerfile: str | None
    context: str
    base_image: str
    build_network: str | None
    builder: str
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
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
    cloud_build_machine_type: str | None
    cloud_build_timeout_s: float
    cloud_build_location: str
    cloud_build_bucket: str | None
    cloud_build_endpoint: str
    scan: bool
    scan_fail_on: str
    scan_timeout_s: float
    container_analysis_endpoint: str
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

    def for_builder(self, builder: str) -> Settings:
        """These settings as a build by `builder` reads them: BuildKit builders build
        `buildkit_dockerfile` when it is set."""
        if builder == "classic" or self.buildkit_dockerfile is None:
            return self
        return replace(self, dockerfile=self.buildkit_dockerfile)

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
    subtables = sorted({spec.subtable for spec in KEYS if spec.subtable})
    names = [*specs, *(subtables if subtable is None else ())]
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
