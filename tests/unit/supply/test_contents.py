"""Reading an image's filesystem stream: distributions, Debian packages, model files."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from mlrelease.supply.contents import _ChunkReader, _read_stream, parse_dpkg_status, parse_metadata

DPKG = """Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u10
Description: GNU C Library
 a continuation line: Version: 9

Package: removed-thing
Status: deinstall ok config-files
Version: 1.0

Package: python3.11
Status: install ok installed
Architecture: amd64
Version: 3.11.2-6
"""


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_metadata_gives_name_version_and_licence() -> None:
    text = "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 1.2\nLicense-Expression: MIT\n\nbody"
    found = parse_metadata(text, "x/METADATA")
    assert (found.name, found.version, found.licence) == ("Foo_Bar", "1.2", "MIT")


def test_a_licence_text_falls_back_to_the_classifier() -> None:
    text = (
        "Metadata-Version: 2.1\nName: numpy\nVersion: 2.0\n"
        "License: Copyright (c) 2005\n        all rights\n"
        "Classifier: License :: OSI Approved :: BSD License\n"
    )
    assert parse_metadata(text, "m").licence == "BSD License"


def test_metadata_without_a_version_is_no_distribution() -> None:
    assert parse_metadata("Name: x\n", "m") is None


def test_dpkg_status_lists_only_installed_packages() -> None:
    found = list(parse_dpkg_status(DPKG))
    assert [(p.name, p.version) for p in found] == [
        ("libc6", "2.36-9+deb12u10"),
        ("python3.11", "3.11.2-6"),
    ]


def test_one_pass_over_the_filesystem_finds_everything() -> None:
    model = b"model bytes" * 1000
    stream = _tar(
        {
            "usr/lib/python3/dist-packages/pip-23.0.dist-info/METADATA": (
                b"Name: pip\nVersion: 23.0\n"
            ),
            "install/lib/python3.11/site-packages/scipy-1.17.1.dist-info/METADATA": (
                b"Name: scipy\nVersion: 1.17.1\n"
            ),
            "install/lib/python3.11/site-packages/scipy-1.17.1.dist-info/RECORD": b"x",
            # One distribution seen twice under two spellings: listed once.
            "usr/local/lib/python3.11/site-packages/SciPy-1.17.1.dist-info/METADATA": (
                b"Name: SciPy\nVersion: 1.17.1\n"
            ),
            "var/lib/dpkg/status": DPKG.encode(),
            "app/service/model/model.joblib": model,
            "app/service/model/model.json": json.dumps({"sklearn_version": "1.9.1"}).encode(),
            "app/other/model.joblib": b"not the configured path",
        }
    )
    chunks = [stream[i : i + 777] for i in range(0, len(stream), 777)]
    contents = _read_stream(_ChunkReader(chunks), ("service/model/model.joblib", "gone.pkl"))
    assert [(d.name, d.version) for d in contents.distributions] == [
        ("pip", "23.0"),
        ("scipy", "1.17.1"),
    ]
    assert len(contents.debian_packages) == 2
    (found,) = contents.models
    assert found.path == "/app/service/model/model.joblib"
    assert found.sha256 == hashlib.sha256(model).hexdigest()
    assert found.sklearn_version == "1.9.1"
    assert contents.missing_models == ("gone.pkl",)


def test_the_chunk_reader_reads_exact_sizes() -> None:
    reader = _ChunkReader([b"abc", b"", b"defgh", b"i"])
    assert reader.read(2) == b"ab"
    assert reader.read(4) == b"cdef"
    assert reader.read() == b"ghi"
    assert reader.read(5) == b""
