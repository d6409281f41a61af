"""What core functions return: frozen values that both the Rich view and `--json` render.

Each result has `to_data()`, the `data` member of the JSON envelope. Its keys are a contract
with scripts: add keys freely, never rename or drop one without bumping the envelope schema.
Fields that only the human view shows (details for `--verbose`) stay out of `to_data()`.
"""

from mlrelease.results.build import (
    Budget,
    BuildResult,
    Layer,
    SizeChange,
    SizeReport,
    SmokeResult,
)
from mlrelease.results.core import BumpResult, ConfigEntry, ConfigReport, Result, VersionInfo
from mlrelease.results.doctor import CHECK_STATUSES, Check, DoctorReport
from mlrelease.results.push import (
    AuthResult,
    PipelineResult,
    PushResult,
    ReleaseEntry,
    ReleasesResult,
)

__all__ = [
    "CHECK_STATUSES",
    "AuthResult",
    "Budget",
    "BuildResult",
    "BumpResult",
    "Check",
    "ConfigEntry",
    "ConfigReport",
    "DoctorReport",
    "Layer",
    "PipelineResult",
    "PushResult",
    "ReleaseEntry",
    "ReleasesResult",
    "Result",
    "SizeChange",
    "SizeReport",
    "SmokeResult",
    "VersionInfo",
]
