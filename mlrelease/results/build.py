"""Results of build, size and smoke: what was built, how big, and whether it answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlrelease.errors import MlreleaseError


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
class ModelFile:
    """One model file the image ships: its path (relative to the project root), checksum and
    size, and the metadata file beside it when there is one."""

    path: str
    sha256: str
    size_bytes: int
    metadata: str | None = None  # e.g. "model.json"; None: the checksum was computed alone

    def to_data(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class ModelReport:
    """The model files a build checked, and the scikit-learn version when their metadata
    gives one."""

    files: tuple[ModelFile, ...]
    sklearn_version: str | None = None
    metric: str | None = None  # the headline metric from the metadata, `accuracy=0.9649`

    def to_data(self) -> dict[str, Any]:
        return {
            "files": [file.to_data() for file in self.files],
            "sklearn_version": self.sklearn_version,
            "metric": self.metric,
        }


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
    base_image: str | None = None  # the final stage's base as built; None: FROM scratch
    base_size_bytes: int | None = None
    base_image_id: str | None = None  # the engine's ID of the base, when it has the image
    base_digest: str | None = None  # its registry digest, when the engine knows one
    model: ModelReport | None = None  # None: no model file (the image brings its own)
    labels: Mapping[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    previous: SizeChange | None = None
    last_release: SizeChange | None = None
    budget: Budget = Budget(None, None, "ok")
    warnings: tuple[str, ...] = ()
    smoke: SmokeResult | None = None
    failure: MlreleaseError | None = None
    builder: str = "classic"  # "classic" (docker-py), "buildkit" (a docker CLI), "cloud-build"
    # Cloud Build: the image's digest in the registry, the build's ID and its log.
    digest: str | None = None
    build_id: str | None = None
    log_url: str | None = None

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
            "builder": self.builder,
            "digest": self.digest,
            "build_id": self.build_id,
            "log_url": self.log_url,
            "tags": list(self.tags),
            "size_bytes": self.size_bytes,
            "base_image": self.base_image,
            "base_size_bytes": self.base_size_bytes,
            "base_image_id": self.base_image_id,
            "base_digest": self.base_digest,
            "model": self.model.to_data() if self.model is not None else None,
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
        """Step outputs for GitHub Actions: `digest` is the local image ID until a push, the
        registry's digest when Cloud Build pushed it (then `build_id` and `log_url` too)."""
        outputs = {
            "image": self.tags[0],
            "tags": ",".join(self.tags),
            "digest": self.digest or self.image_id,
            "size_bytes": str(self.size_bytes),
        }
        if self.build_id:
            outputs.update(build_id=self.build_id, log_url=self.log_url or "")
        return outputs


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
class SmokeCheck:
    """One request of a passed smoke test and the status it answered."""

    method: str
    path: str
    status: int
    ok: bool = True

    def to_data(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status, "ok": self.ok}


@dataclass(frozen=True)
class SmokeResult:
    """What the smoke test saw: where the service answered, how quickly, and each request.

    `model_sha256` and `prediction` are set for this repository's own service contract (no
    `requests` configured), None for a configured one. `port` is the port on 127.0.0.1 that
    answered; `network` is "bridge" (published) or "host"."""

    image: str
    port: int
    startup_seconds: float
    model_sha256: str | None = None
    prediction: Any = None
    requests: tuple[SmokeCheck, ...] = ()
    network: str = "host"
    waited_on: str = ""  # what answered first: `GET /health`, or the first request
    details: tuple[str, ...] = ()  # for --verbose: how the container was reached

    def to_data(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "port": self.port,
            "startup_seconds": round(self.startup_seconds, 3),
            "model_sha256": self.model_sha256,
            "prediction": self.prediction,
            "requests": [check.to_data() for check in self.requests],
            "network": self.network,
        }
