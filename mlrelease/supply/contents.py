"""What an image holds, read from its filesystem: Python distributions, Debian packages and
model files.

The image is never run (it may have no shell, or a command with side effects): a container is
created, its filesystem streamed out with `export()` and read in one pass, keeping only the
`*.dist-info/METADATA` files, `/var/lib/dpkg/status` and the model files (hashed as they go by),
then the container is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import IO, TYPE_CHECKING, cast

from mlrelease.errors import EngineError, PreconditionError

if TYPE_CHECKING:
    import docker

_DIST_INFO = re.compile(r"(?:^|/)(?:site|dist)-packages/[^/]+\.dist-info/METADATA$")
DPKG_STATUS = "var/lib/dpkg/status"
_MAX_TEXT = 20_000_000  # dpkg status of a large image is a few MB; METADATA a few kB
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Distribution:
    """An installed Python distribution, from its METADATA."""

    name: str
    version: str
    licence: str | None  # an SPDX expression or a licence name, None when it says nothing
    location: str  # the METADATA's path in the image


@dataclass(frozen=True)
class DebianPackage:
    """An installed Debian package, from the dpkg status database."""

    name: str
    version: str
    architecture: str


@dataclass(frozen=True)
class ModelFile:
    """A model file found in the image, with the metadata training wrote beside it."""

    path: str  # in the image, absolute
    sha256: str
    size_bytes: int
    sklearn_version: str | None


@dataclass(frozen=True)
class ImageContents:
    """Everything the SBOM lists."""

    distributions: tuple[Distribution, ...]
    debian_packages: tuple[DebianPackage, ...]
    models: tuple[ModelFile, ...]
    missing_models: tuple[str, ...]  # configured model files the image does not hold


def read_image_contents(
    client: docker.DockerClient, image_id: str, model_paths: Iterable[str]
) -> ImageContents:
    """The contents of the local image `image_id`; `model_paths` are the model files relative
    to the build context, found in the image wherever the Dockerfile copied them."""
    from docker.errors import DockerException, ImageNotFound

    wanted = tuple(path.strip("/") for path in model_paths)
    try:
        container = client.containers.create(image_id, command=["/mlrelease-sbom-never-runs"])
    except ImageNotFound:
        raise PreconditionError(
            f"the image {image_id} is not in the engine",
            hint="build it first with `mlrelease build`",
        ) from None
    except DockerException as err:
        raise EngineError(f"cannot read the filesystem of {image_id}: {err}") from err
    try:
        stream = cast(IO[bytes], _ChunkReader(container.export(chunk_size=_CHUNK)))
        return _read_stream(stream, wanted)
    except DockerException as err:
        raise EngineError(f"cannot read the filesystem of {image_id}: {err}") from err
    finally:
        with contextlib.suppress(DockerException):
            container.remove(force=True)


def read_layers(layers: Iterable[IO[bytes]], model_paths: Iterable[str]) -> ImageContents:
    """The contents of an image given as its layers, oldest first, each a tar stream (gzipped
    or not), as a registry stores them: a later layer's file replaces an earlier one, and its
    whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what lies below."""
    collector = _Collector(tuple(path.strip("/") for path in model_paths))
    for layer in layers:
        collector.read(layer)
    return collector.contents()


def _read_stream(stream: IO[bytes], wanted: tuple[str, ...]) -> ImageContents:
    """The contents of a flattened filesystem (a container's export)."""
    collector = _Collector(wanted)
    collector.read(stream)
    return collector.contents()


class _Collector:
    """The files the SBOM needs, by path, over one or more tar streams read in order."""

    def __init__(self, wanted: tuple[str, ...]) -> None:
        self.wanted = wanted
        self.sidecars = {_sidecar(path) for path in wanted}
        self.texts: dict[str, bytes] = {}  # METADATA files, the dpkg status, model sidecars
        self.hashes: dict[str, tuple[str, int]] = {}  # model files: (sha256, size)

    def read(self, stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                folder, _, base = name.rpartition("/")
                if base == ".wh..wh..opq":  # the folder's lower contents are hidden
                    self._drop(folder, keep_folder=True)
                elif base.startswith(".wh."):
                    self._drop(f"{folder}/{base[4:]}".lstrip("/"), keep_folder=False)
                elif member.isfile():
                    self._take(tar, member, name)

    def _take(self, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> None:
        small = member.size < _MAX_TEXT
        if (_DIST_INFO.search(name) or name == DPKG_STATUS) and small:
            self.texts[name] = _read(tar, member)
        elif any(_matches(name, path) for path in self.wanted):
            self.hashes[name] = _hash(tar, member)
        elif any(_matches(name, path) for path in self.sidecars) and small:
            self.texts[name] = _read(tar, member)

    def _drop(self, path: str, *, keep_folder: bool) -> None:
        below = f"{path}/" if path else ""
        for found in (self.texts, self.hashes):
            for name in [
                n for n in found if n.startswith(below) or (n == path and not keep_folder)
            ]:
                del found[name]

    def contents(self) -> ImageContents:
        distributions: dict[tuple[str, str], Distribution] = {}
        for name, raw in sorted(self.texts.items()):
            if _DIST_INFO.search(name):
                found = parse_metadata(raw.decode("utf-8", "replace"), name)
                if found is not None:
                    key = (re.sub(r"[-_.]+", "-", found.name).lower(), found.version)
                    distributions.setdefault(key, found)
        dpkg_status = self.texts.get(DPKG_STATUS, b"").decode("utf-8", "replace")
        models = tuple(
            ModelFile("/" + name, digest, size, _sklearn_version(self.texts.get(_sidecar(name))))
            for name, (digest, size) in sorted(self.hashes.items())
        )
        missing = tuple(p for p in self.wanted if not any(_matches(m.path[1:], p) for m in models))
        return ImageContents(
            distributions=tuple(sorted(distributions.values(), key=lambda d: d.name.lower())),
            debian_packages=tuple(parse_dpkg_status(dpkg_status)),
            models=models,
            missing_models=missing,
        )


def parse_metadata(text: str, location: str) -> Distribution | None:
    """A distribution from the text of its METADATA (core metadata, an email-style header)."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        return None
    return Distribution(str(name).strip(), str(version).strip(), _licence(headers), location)


def _licence(headers: object) -> str | None:
    """License-Expression (metadata 2.4), else a one-line License field, else the classifier."""
    get_all = headers.get_all  # type: ignore[attr-defined]
    expression = (get_all("License-Expression") or [None])[0]
    if expression and expression.strip():
        return str(expression).strip()
    field = (get_all("License") or [None])[0]
    if field and field.strip() and "\n" not in field.strip() and len(field.strip()) <= 100:
        return str(field).strip()
    for classifier in get_all("Classifier") or []:
        if classifier.startswith("License ::") and classifier.split("::")[-1] != "OSI Approved":
            return str(classifier.split("::")[-1]).strip()
    return None


def parse_dpkg_status(text: str) -> Iterator[DebianPackage]:
    """The installed packages in the text of a dpkg status database (RFC 822 paragraphs)."""
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        installed = fields.get("Status", "install ok installed").endswith(" installed")
        if fields.get("Package") and fields.get("Version") and installed:
            yield DebianPackage(
                fields["Package"], fields["Version"], fields.get("Architecture", "")
            )


def _matches(name: str, relative: str) -> bool:
    return name == relative or name.endswith("/" + relative)


def _sidecar(path: str) -> str:
    """The metadata training writes beside a model: `model.json` for `model.joblib`."""
    stem, dot, _ = path.rpartition(".")
    return f"{stem}.json" if dot else f"{path}.json"


def _sklearn_version(raw: bytes | None) -> str | None:
    import json

    if raw is None:
        return None
    try:
        value = json.loads(raw).get("sklearn_version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    return handle.read() if handle else b""


def _hash(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[str, int]:
    digest = hashlib.sha256()
    handle = tar.extractfile(member)
    while handle and (chunk := handle.read(_CHUNK)):
        digest.update(chunk)
    return digest.hexdigest(), member.size


class _ChunkReader:
    """A file object over an iterator of byte chunks (what docker-py's export yields)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._chunk = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size
        while wanted != 0:
            if self._at >= len(self._chunk):
                try:
                    self._chunk, self._at = next(self._chunks), 0
                except StopIteration:
                    break
                continue
            end = len(self._chunk) if wanted < 0 else min(len(self._chunk), self._at + wanted)
            parts.append(self._chunk[self._at : end])
            if wanted > 0:
                wanted -= end - self._at
            self._at = end
        return b"".join(parts)
