"""The result of `auth`: the credentials found, never the secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
