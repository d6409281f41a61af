"""Package changes between two SBOMs."""

from __future__ import annotations

import json

from mlrelease.supply.contents import Distribution, ImageContents
from mlrelease.supply.diff import package_changes
from mlrelease.supply.sbom import make_document


def sbom(**packages: str) -> dict:
    contents = ImageContents(
        tuple(Distribution(n, v, None, "m") for n, v in packages.items()), (), (), ()
    )
    return json.loads(make_document(contents, "img", "sha256:" + "a" * 64))


def test_added_removed_and_changed() -> None:
    changes = package_changes(
        sbom(numpy="2.4.6", scipy="1.17.1", Old_Pkg="1"),
        sbom(numpy="2.4.7", scipy="1.17.1", new="3"),
    )
    assert [(c.name, c.change, c.before, c.after) for c in changes] == [
        ("new", "added", None, "3"),
        ("numpy", "changed", "2.4.6", "2.4.7"),
        ("old-pkg", "removed", "1", None),
    ]
