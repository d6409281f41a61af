"""A local stand-in for Google: token endpoints, the Artifact Registry API, and GAR's registry
host in front of a real distribution registry. See server.GarEmulator."""

from tests.emulator.keys import CANARY
from tests.emulator.server import DEFAULT_ACCOUNT, GarEmulator

__all__ = ["CANARY", "DEFAULT_ACCOUNT", "GarEmulator"]
