"""Image references: parsed by the Docker reference grammar, and built for Artifact Registry.

`REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG` in GAR; `HOST/IMAGE:TAG` on a plain
registry (no project configured). The grammar is distribution's `reference` package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mlrelease.errors import UsageError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_NAME = rf"{_COMPONENT}(?:/{_COMPONENT})*"  # a repository path: ml-service, team/app
_REFERENCE = re.compile(
    rf"(?:(?P<host>{_HOST})/)?(?P<path>{IMAGE_NAME})"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,
)
_NAME_MAX = 255


@dataclass(frozen=True)
class ImageRef:
    """A reference `HOST/PATH[:TAG][@DIGEST]`; `host` is None for an engine-local name."""

    host: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The name without tag and digest: `HOST/PATH`."""
        return f"{self.host}/{self.path}" if self.host else self.path

    def with_tag(self, tag: str) -> ImageRef:
        """The same repository at another tag, without a digest."""
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> ImageRef:
        """The same repository pinned to `digest` (the tag dropped, as `docker pull` wants)."""
        return replace(self, tag=None, digest=digest)

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(text: str) -> ImageRef:
    """Parse `text` by the Docker reference grammar; UsageError saying why when it is not one."""
    match = _REFERENCE.fullmatch(text)
    if not text or match is None:
        raise UsageError(
            f"{text[:80]!r} is not a valid image reference",
            hint="use NAME[:TAG] in lower case, e.g. ml-service:v1.2.0 or "
            "us-central1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG",
        )
    host, path = match["host"], match["path"]
    # distribution: the first component is a host only if it looks like one.
    if host is not None and not (
        "." in host or ":" in host or host in ("localhost",) or host != host.lower()
    ):
        host, path = None, f"{host}/{path}"
    ref = ImageRef(host, path, match["tag"], match["digest"])
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        raise UsageError(
            f"the registry port in {text[:80]!r} is not from 1 to 65535",
            hint="use a registry host such as 127.0.0.1:5000",
        )
    if len(ref.repository) > _NAME_MAX:
        raise UsageError(
            f"the image name is {len(ref.repository)} characters long; at most {_NAME_MAX}",
            hint="use a shorter image name",
        )
    return ref
