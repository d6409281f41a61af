"""`signing`: whether releases are signed, and with which key (never the key itself)."""

from __future__ import annotations

from mlrelease.doctor.frame import Outcome, Project, fail, ok, warn
from mlrelease.errors import MlreleaseError


def check_signing(project: Project) -> Outcome:
    """A signing key (or Cloud KMS key) is configured and loads; a warning without one."""
    from mlrelease.supply.signing import load_signer

    settings = project.settings
    try:
        signer = load_signer(settings)
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    if signer is None:
        return warn(
            "no signing key: releases are pushed without a signature, SBOM or provenance",
            "set MLRELEASE_SIGNING_KEY to an ECDSA P-256 private key in PEM (a CI secret), or "
            "kms_key to a Cloud KMS key version (EC_SIGN_P256_SHA256)",
        )
    if settings.kms_key and settings.signing_key is None:
        return ok(f"releases are signed with the Cloud KMS key {settings.kms_key}")
    return ok(f"releases are signed with the key from {settings.source('signing_key')}")
