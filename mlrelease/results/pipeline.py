"""The result of `release`: a version bumped, built, tested, pushed and verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrelease.results.push import PushResult


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
