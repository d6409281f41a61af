"""What core functions return: frozen values that both the Rich view and `--json` render.

Each result has `to_data()`, the `data` member of the JSON envelope. Its keys are a contract
with scripts: add keys freely, never rename or drop one without bumping the envelope schema.
Fields that only the human view shows (details for `--verbose`) stay out of `to_data()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlrelease.errors import ExitCode, MlreleaseError, WorkFailed


class Result(Protocol):
    """Anything a command hands to the renderer. A result may also carry an `exit_code`
    attribute (a report whose rows failed): the renderer then reports `ok: false` with it;
    and a `failure` (an `MlreleaseError`), which the renderer reports after the data."""

    def to_data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class VersionInfo:
    """The current version of a repository (`mlrelease version`)."""

    version: str  # "1.2.3", or "0.0.0" without version tags; no "v"
    tag: str | None  # the tag carrying it ("v1.2.3"), None without version tags
    commit: str | None  # HEAD's full sha, None in a repository without commits
    at_head: bool  # whether HEAD is exactly the tagged commit
    ignored_tags: tuple[str, ...] = ()  # tags that are not v+semver (shown with --verbose)

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "at_head": self.at_head,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class BumpResult:
    """A new version tag, created (or, with `dry_run`, only computed) at HEAD."""

    previous: str  # the version before, "0.0.0" when there was none
    version: str  # the new version, no "v"
    tag: str  # the new tag name, "v" + version
    commit: str  # the full sha the tag points at
    pushed: bool  # whether the tag was pushed
    dry_run: bool  # True: nothing was tagged or pushed
    remote: str | None  # the remote pushed to (or that would be), None without --push
    message: str  # the annotated tag's message

    def to_data(self) -> dict[str, Any]:
        return {
            "previous": self.previous,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "pushed": self.pushed,
        }


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its value (secrets already masked) and where it came from."""

    key: str
    value: str | float | list[str] | None
    source: str
    secret: bool = False


@dataclass(frozen=True)
class ConfigReport:
    """Every effective setting with its source (`mlrelease config`)."""

    root: str  # the project root the settings were read for
    pyproject: str | None  # the pyproject.toml read, None when there is none
    entries: tuple[ConfigEntry, ...]

    def to_data(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        for entry in self.entries:
            item: dict[str, Any] = {"value": entry.value, "source": entry.source}
            if entry.secret:
                item["secret"] = True
            settings[entry.key] = item
        return {"root": self.root, "pyproject": self.pyproject, "settings": settings}


@dataclass(frozen=True)
class Layer:
    """One layer of an image, as `docker history` shows it."""

    created_by: str
    size_bytes: int

    def to_data(self) -> dict[str, Any]:
        return {"created_by": self.created_by, "size_bytes": self.size_bytes}


@dataclass(frozen=True)
class SizeChange:
    """An image's size against an earlier build of the same image."""

    ref: str  # the earlier build's first tag
    size_bytes: int  # the earlier build's size
    delta_bytes: int  # this size minus that one

    @property
    def delta_percent(self) -> float:
        return 100.0 * self.delta_bytes / self.size_bytes if self.size_bytes else 0.0

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "size_bytes": self.size_bytes,
            "delta_bytes": self.delta_bytes,
            "delta_percent": round(self.delta_percent, 2),
        }


@dataclass(frozen=True)
class Budget:
    """An image's size against `size_warn_mb` and `size_budget_mb` (None: not set)."""

    warn_mb: float | None
    fail_mb: float | None
    status: str  # "ok" | "warn" | "fail"

    def to_data(self) -> dict[str, Any]:
        return {"warn_mb": self.warn_mb, "fail_mb": self.fail_mb, "status": self.status}


def _optional(value: SizeChange | None) -> dict[str, Any] | None:
    return value.to_data() if value is not None else None


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the image, its tags, how much came from the cache, its size
    against earlier builds and the budget, and (with --smoke) what the smoke test saw.

    `failure` is set when the image was built but the work failed (over the size budget, the
    smoke test): the renderer prints the data, then the failure, and exits 1."""

    image_id: str
    tags: tuple[str, ...]
    size_bytes: int
    steps: int
    cached_steps: tuple[int, ...]
    layers: tuple[Layer, ...] = ()
    base_image: str | None = None
    base_size_bytes: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    previous: SizeChange | None = None
    last_release: SizeChange | None = None
    budget: Budget = Budget(None, None, "ok")
    warnings: tuple[str, ...] = ()
    smoke: SmokeResult | None = None
    failure: MlreleaseError | None = None

    @property
    def ref(self) -> str:
        """The first tag, the one printed on stdout."""
        return self.tags[0]

    @property
    def image(self) -> str:
        """The image name without a tag."""
        return self.tags[0].rpartition(":")[0]

    @property
    def exit_code(self) -> int:
        return int(self.failure.exit_code) if self.failure else 0

    def to_data(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "ref": self.ref,
            "image_id": self.image_id,
            "tags": list(self.tags),
            "size_bytes": self.size_bytes,
            "base_image": self.base_image,
            "base_size_bytes": self.base_size_bytes,
            "labels": dict(self.labels),
            "duration_s": round(self.duration_s, 3),
            "steps": self.steps,
            "cached_steps": list(self.cached_steps),
            "layers": [layer.to_data() for layer in self.layers],
            "previous": _optional(self.previous),
            "last_release": _optional(self.last_release),
            "budget": self.budget.to_data(),
            "warnings": list(self.warnings),
            "smoke": self.smoke.to_data() if self.smoke is not None else None,
        }

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions (`digest` is the local image ID until a push)."""
        return {
            "image": self.tags[0],
            "tags": ",".join(self.tags),
            "digest": self.image_id,
            "size_bytes": str(self.size_bytes),
        }


@dataclass(frozen=True)
class SizeReport:
    """An existing image's size (`mlrelease size`): its layers, against earlier builds and the
    budget. Over the budget, `failure` is set, as for a build."""

    ref: str
    image_id: str
    size_bytes: int
    layers: tuple[Layer, ...]
    previous: SizeChange | None
    last_release: SizeChange | None
    budget: Budget
    failure: MlreleaseError | None = None

    @property
    def exit_code(self) -> int:
        return int(self.failure.exit_code) if self.failure else 0

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "image_id": self.image_id,
            "size_bytes": self.size_bytes,
            "layers": [layer.to_data() for layer in self.layers],
            "previous": _optional(self.previous),
            "last_release": _optional(self.last_release),
            "budget": self.budget.to_data(),
        }


@dataclass(frozen=True)
class SmokeResult:
    """What the smoke test saw: where the service answered and how quickly."""

    image: str
    port: int
    startup_seconds: float
    model_sha256: str
    prediction: Any

    def to_data(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "port": self.port,
            "startup_seconds": round(self.startup_seconds, 3),
            "model_sha256": self.model_sha256,
            "prediction": self.prediction,
        }


@dataclass(frozen=True)
class AuthResult:
    """Credentials that were found and refreshed (`mlrelease auth`); never the secret."""

    source: str  # where they came from: "GCP_SA_KEY", "--key-file key.json", ...
    identity: str | None  # the service account's email, when there is one
    kind: str  # service_account, external_account, authorized_user, ...
    project: str | None
    expires_in_s: int | None  # the fresh token's remaining lifetime
    description: str  # "GCP_SA_KEY: service account ci@p.iam.gserviceaccount.com"

    def to_data(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "identity": self.identity,
            "type": self.kind,
            "project": self.project,
            "expires_in_s": self.expires_in_s,
        }


@dataclass(frozen=True)
class PushResult:
    """A release pushed (or found already there, or, with `dry_run`, only planned) and verified."""

    ref: str  # HOST/PATH:vX.Y.Z
    uri: str  # HOST/PATH
    digest: str | None  # the manifest digest in the registry; None in a dry run of a new push
    pushed: bool  # False: nothing was sent (already there, or a dry run)
    verified: bool  # the tag resolved, through the API, to `digest`
    dry_run: bool
    local_image: str  # the local image pushed, e.g. ml-service:v1.2.0
    compressed_size_bytes: int | None
    aliases: tuple[str, ...]  # alias tags moved (or, in a dry run, to be moved)
    attempts: int  # push attempts used (0: none needed)
    credentials_source: str | None  # None on a plain registry
    target: str  # "artifact-registry" or "registry"
    warnings: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "uri": self.uri,
            "digest": self.digest,
            "pushed": self.pushed,
            "verified": self.verified,
            "dry_run": self.dry_run,
            "local_image": self.local_image,
            "compressed_size_bytes": self.compressed_size_bytes,
            "aliases": list(self.aliases),
            "attempts": self.attempts,
            "credentials_source": self.credentials_source,
            "target": self.target,
        }

    def github_outputs(self) -> dict[str, str]:
        """Step outputs for GitHub Actions."""
        tag = self.ref.rpartition(":")[2]
        outputs = {
            "image": f"{self.uri}@{self.digest}" if self.digest else self.ref,
            "tags": ",".join([tag, *self.aliases]),
            "digest": self.digest or "",
        }
        if self.compressed_size_bytes is not None:
            outputs["size_bytes"] = str(self.compressed_size_bytes)
        return outputs


@dataclass(frozen=True)
class ReleaseEntry:
    """One released version in the registry."""

    version: str
    tags: tuple[str, ...]
    digest: str
    uri: str
    compressed_size_bytes: int
    upload_time: str | None  # RFC 3339; None where the registry does not say

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tags": list(self.tags),
            "digest": self.digest,
            "uri": self.uri,
            "compressed_size_bytes": self.compressed_size_bytes,
            "upload_time": self.upload_time,
        }


@dataclass(frozen=True)
class ReleasesResult:
    """The versions in the release repository, newest first (`mlrelease releases`)."""

    repository: str
    releases: tuple[ReleaseEntry, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "releases": [entry.to_data() for entry in self.releases],
        }


@dataclass(frozen=True)
class PipelineResult:
    """A release made in one command (`mlrelease release`): bumped, built, tested, pushed."""

    version: str  # no "v"
    tag: str
    resumed: bool  # True: HEAD already carried the tag, no new bump
    image: str  # HOST/PATH:vX.Y.Z
    digest: str
    pushed: bool  # False: the registry already held this image
    push: PushResult

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "resumed": self.resumed,
            "image": self.image,
            "digest": self.digest,
            "pushed": self.pushed,
            "push": self.push.to_data(),
        }

    def github_outputs(self) -> dict[str, str]:
        """The push's step outputs, plus the version."""
        return {**self.push.github_outputs(), "version": self.version}


CHECK_STATUSES = ("ok", "warn", "fail", "skip", "error")


@dataclass(frozen=True)
class Check:
    """One doctor check: what was found and, unless it is ok, the exact fix."""

    id: str  # dotted, grouped by prefix: "dockerfile.user"
    title: str
    status: str  # one of CHECK_STATUSES
    finding: str
    fix: str = ""
    seconds: float = 0.0
    traceback: str | None = None  # an `error` check's traceback, shown with --verbose

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "finding": self.finding,
            "fix": self.fix,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check `mlrelease doctor` ran, in order. It fails (exit 1) when a check failed or
    errored, and with `strict` also when one warned."""

    checks: tuple[Check, ...]
    seconds: float
    offline: bool
    strict: bool

    def count(self, status: str) -> int:
        """How many checks ended with `status`."""
        return sum(1 for check in self.checks if check.status == status)

    @property
    def failing(self) -> tuple[Check, ...]:
        """The checks that make the run fail: failed or errored, and warned under `strict`."""
        statuses = {"fail", "error", "warn"} if self.strict else {"fail", "error"}
        return tuple(check for check in self.checks if check.status in statuses)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.FAILED if self.failing else ExitCode.OK)

    @property
    def failure(self) -> MlreleaseError | None:
        """The one error line a failing run ends with, naming the checks to fix."""
        if not self.failing:
            return None
        names = ", ".join(check.id for check in self.failing)
        return WorkFailed(
            f"{len(self.failing)} of {len(self.checks)} checks did not pass: {names}",
            hint="apply the fix shown under each of them, then rerun `mlrelease doctor`",
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "checks": [check.to_data() for check in self.checks],
            "summary": {status: self.count(status) for status in CHECK_STATUSES},
            "seconds": round(self.seconds, 3),
            "offline": self.offline,
            "strict": self.strict,
        }
