"""An image read from its registry layers: later layers replace files, whiteouts remove them,
as the OCI image spec's layer changesets say."""

from __future__ import annotations

import gzip
import io
import tarfile

from mlrelease.supply.contents import read_layers

SITE = "usr/local/lib/python3.11/site-packages"


def layer(files: dict[str, str], *, gzipped: bool = True) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return io.BytesIO(gzip.compress(raw) if gzipped else raw)


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


def test_later_layers_replace_and_whiteouts_remove() -> None:
    base = layer(
        {
            f"{SITE}/numpy-2.0.0.dist-info/METADATA": metadata("numpy", "2.0.0"),
            f"{SITE}/six-1.16.0.dist-info/METADATA": metadata("six", "1.16.0"),
            "var/lib/dpkg/status": "Package: libc6\nVersion: 2.36\nArchitecture: amd64\n",
            "app/model/model.joblib": "old model",
        }
    )
    upgrade = layer(
        {
            f"{SITE}/.wh.numpy-2.0.0.dist-info": "",
            f"{SITE}/numpy-2.1.0.dist-info/METADATA": metadata("numpy", "2.1.0"),
            "app/model/model.joblib": "new model",
            "app/model/model.json": '{"sklearn_version": "1.5.2"}',
        },
        gzipped=False,
    )
    opaque = layer({"var/lib/dpkg/.wh..wh..opq": ""})

    contents = read_layers(
        [base, upgrade, opaque], ["service/model/model.joblib", "model/model.joblib"]
    )

    assert [(d.name, d.version) for d in contents.distributions] == [
        ("numpy", "2.1.0"),
        ("six", "1.16.0"),
    ]
    assert contents.debian_packages == ()
    (model,) = contents.models
    assert (model.path, model.size_bytes, model.sklearn_version) == (
        "/app/model/model.joblib",
        len("new model"),
        "1.5.2",
    )
    assert contents.missing_models == ("service/model/model.joblib",)
