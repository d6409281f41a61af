"""The `cloud-build` check: with `builder = "cloud-build"`, the Cloud Build API answers for the
project and the staging bucket is there or can be made. Skipped for the local builders; it
shares the run's credentials with the other remote checks."""

from __future__ import annotations

from mlrelease.doctor.cloud import working_credentials
from mlrelease.doctor.frame import Outcome, Remote, fail, ok, skip
from mlrelease.errors import MlreleaseError


def check_cloud_build(remote: Remote) -> Outcome:
    """Cloud Build lists builds for the project; the source bucket exists or will be made."""
    from mlrelease.build.cloud_build_api import CloudBuild

    settings = remote.settings
    if settings.builder != "cloud-build":
        return skip(f"builder is {settings.builder}: builds run on this machine")
    if not settings.gcp_project:
        return fail(
            "builder cloud-build needs gcp_project: Cloud Build runs in a GCP project",
            "set gcp_project (MLRELEASE_GCP_PROJECT), or use builder = buildkit",
        )
    creds = working_credentials(remote)
    cloud = CloudBuild(settings, creds)
    try:
        cloud.answers()
        exists = cloud.bucket_exists()
    except MlreleaseError as err:
        return fail(err.message, err.hint)
    bucket = f"gs://{cloud.bucket}" + ("" if exists else " (made by the first build)")
    machine = settings.cloud_build_machine_type or "the default machine type"
    return ok(
        f"Cloud Build answers for {settings.gcp_project} ({settings.cloud_build_location}); "
        f"sources go to {bucket}; builds on {machine}, timeout "
        f"{settings.cloud_build_timeout_s:g} s"
    )
