"""The configuration keys: each one's parser, default, variable aliases and table.

A key `smoke_port` with `subtable="smoke"` is `port` under [tool.mlrelease.smoke]; every key
is also `MLRELEASE_<KEY>` in the environment unless `from_env` is False. `settings` resolves
them by precedence; this module only says what each key is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlrelease.config.smoke import env_name, port_number, smoke_requests, url_path
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
    seconds,
    secret_value,
    tag_list,
    whole_number,
)
from mlrelease.refs import IMAGE_NAME

ENV_PREFIX = "MLRELEASE_"
_SECRET_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
DEFAULT_GAR_ENDPOINT = "https://artifactregistry.googleapis.com"
DEFAULT_CLOUD_BUILD_ENDPOINT = "https://cloudbuild.googleapis.com"
DEFAULT_CONTAINER_ANALYSIS_ENDPOINT = "https://containeranalysis.googleapis.com"
# Cloud Build's worker pools (Build.options.machineType); E2_STANDARD_2 is the default one.
MACHINE_TYPES = ("E2_MEDIUM", "E2_HIGHCPU_8", "E2_HIGHCPU_32", "N1_HIGHCPU_8", "N1_HIGHCPU_32")
# Grafeas severities, most severe first.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "MINIMAL")
TABLE = "[tool.mlrelease]"


def choice(allowed: tuple[str, ...]) -> Callable[[object], str]:
    """One of `allowed`, case-insensitive."""

    def parse(value: object) -> str:
        text = str(value).strip().lower() if isinstance(value, str) else ""
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return text

    return parse


def machine_type(value: object) -> str:
    """A Cloud Build machine type, as the API spells it (`e2-highcpu-8` is E2_HIGHCPU_8)."""
    text = str(value).strip().upper().replace("-", "_") if isinstance(value, str) else ""
    if text not in MACHINE_TYPES:
        raise ValueError(f"expected one of {', '.join(MACHINE_TYPES)}")
    return text


def severity(value: object) -> str:
    """A vulnerability severity, upper case."""
    text = str(value).strip().upper() if isinstance(value, str) else ""
    if text not in SEVERITIES:
        raise ValueError(f"expected one of {', '.join(SEVERITIES)}")
    return text


def cache_specs(value: object) -> tuple[str, ...]:
    """BuildKit cache specs: an array of strings, or one string `;`-separated (a spec holds
    commas, `type=registry,ref=R,mode=max`)."""
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValueError("expected an array of cache specs such as type=registry,ref=IMAGE")
    specs = tuple(item.strip() for item in items if item.strip())
    for spec in specs:
        if any(char.isspace() for char in spec):
            raise ValueError(f"a cache spec has no spaces: {spec[:60]!r}")
    return specs


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
    # The Dockerfile BuildKit builders (buildkit, cloud-build) use instead, e.g. one with a pip
    # cache mount that the classic builder cannot parse.
    KeySpec("buildkit_dockerfile", file_path),
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
    # cloud-build: Google's Cloud Build builds and pushes ([tool.mlrelease.cloud_build]).
    KeySpec("builder", choice(("classic", "buildkit", "cloud-build", "auto")), "auto"),
    # BuildKit caches: `--cache-from`/`--cache-to` specs (type=registry,ref=R, type=gha, ...)
    # or, for --cache-from, an image reference; an array, or `;`-separated in a variable.
    KeySpec("cache_from", cache_specs, ()),
    KeySpec("cache_to", cache_specs, ()),
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
    # Cloud Build ([tool.mlrelease.cloud_build]): the worker's machine type, how long a build
    # may run, where its source and logs go (default: gs://<project>_cloudbuild, as gcloud).
    KeySpec("cloud_build_machine_type", machine_type, None, subtable="cloud_build"),
    KeySpec("cloud_build_timeout_s", seconds(86400), 1200.0, subtable="cloud_build"),
    KeySpec(
        "cloud_build_location",
        matching(r"global|[a-z]+-[a-z]+[0-9]+", "global or a region such as us-central1"),
        "global",
        subtable="cloud_build",
    ),
    KeySpec(
        "cloud_build_bucket",
        matching(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]", "a Cloud Storage bucket name"),
        None,
        subtable="cloud_build",
    ),
    KeySpec("cloud_build_endpoint", base_url, DEFAULT_CLOUD_BUILD_ENDPOINT, subtable="cloud_build"),
    # Vulnerability findings: `release` runs `scan` after the push when scan = true.
    KeySpec("scan", boolean, False),
    KeySpec("scan_fail_on", severity, "CRITICAL"),
    KeySpec("scan_timeout_s", seconds(86400), 600.0),
    KeySpec("container_analysis_endpoint", base_url, DEFAULT_CONTAINER_ANALYSIS_ENDPOINT),
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
