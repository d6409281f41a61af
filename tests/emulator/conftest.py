"""Real clients for the emulator's own tests: google-auth, Artifact Registry, docker-py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator import GarEmulator

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
REPOSITORY = "projects/test-project/locations/us-central1/repositories/docker"


@pytest.fixture
def credentials(sa_key: dict[str, Any]):
    """Service-account credentials from the key, holding a token the emulator issued."""
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(sa_key, scopes=SCOPES)
    credentials.refresh(Request())
    return credentials


def artifact_registry(gar: GarEmulator, credentials):
    """The Artifact Registry client sending the access token, as mlrelease builds it."""
    from google.cloud.artifactregistry_v1 import ArtifactRegistryClient
    from google.cloud.artifactregistry_v1.services.artifact_registry.transports.rest import (
        ArtifactRegistryRestTransport,
    )

    transport = ArtifactRegistryRestTransport(
        host=gar.api_endpoint, credentials=credentials, always_use_jwt_access=False
    )
    return ArtifactRegistryClient(transport=transport)


@pytest.fixture
def client(gar: GarEmulator, credentials):
    return artifact_registry(gar, credentials)


@pytest.fixture
def registry(gar: GarEmulator, credentials):
    """A Registry API client of GAR's registry host, holding the test's access token."""
    from tests.emulator.registry_client import RegistryClient

    return RegistryClient(gar, credentials.token)


def unique(prefix: str) -> str:
    """An image name no other test uses (what the registry stores outlives each test)."""
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:10]}"
