"""The result of `release`: a version bumped, built, tested, pushed and verified (and scanned,
with `scan = true`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrelease.errors import ExitCode, MlreleaseError, WorkFailed
from mlrelease.results.push import PushResult
from mlrelease.results.scan import ScanResult


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
    scan: ScanResult | None = None  # None: `scan` is off

    @property
    def exit_code(self) -> int:
        return self.scan.exit_code if self.scan else int(ExitCode.OK)

    @property
    def failure(self) -> MlreleaseError | None:
        """Fixable findings at or above `scan_fail_on`: the release is out, and says so."""
        found = self.scan.failure if self.scan else None
        if found is None:
            return None
        return WorkFailed(
            f"{self.tag} is pushed ({self.image}, {self.digest[:19]}), but its scan failed: "
            f"{found.message}",
            hint=f"{found.hint}; the pushed image stays in the registry",
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "resumed": self.resumed,
            "image": self.image,
            "digest": self.digest,
            "pushed": self.pushed,
            "push": self.push.to_data(),
            "scan": self.scan.to_data() if self.scan else None,
        }

    def github_outputs(self) -> dict[str, str]:
        """The push's step outputs, plus the version."""
        return {**self.push.github_outputs(), "version": self.version}
