"""The `scanning` check: Container Analysis answers for the project, and Container Scanning has
scanned an image of the release repository (its DISCOVERY occurrences are there).

Skipped without a GCP project (a plain registry has no Container Scanning). Problems fail when
`scan = true` (release then scans every push) and warn otherwise, since only `mlrelease scan`
needs the API. It shares the run's credentials with the other remote checks.
"""

from __future__ import annotations

from mlrelease.doctor.cloud import working_credentials
from mlrelease.doctor.frame import Outcome, Remote, fail, ok, skip, warn
from mlrelease.errors import MlreleaseError


def check_scanning(remote: Remote) -> Outcome:
    """Container Analysis answers and holds scans of the repository's images."""
    from mlrelease.registry.target import release_repository
    from mlrelease.supply.container_analysis import ContainerAnalysis

    settings = remote.settings
    if not settings.gcp_project:
        if not settings.has_destination:
            return skip("no release destination is configured (see repository)")
        return skip(f"releases go to the plain registry {settings.registry_host}: no scanning")
    creds = working_credentials(remote)
    problem = fail if settings.scan else warn
    api = ContainerAnalysis(settings, creds)
    prefix = f"https://{release_repository(settings)}@"
    try:
        found = api.first_occurrence("DISCOVERY", prefix)
    except MlreleaseError as err:
        return problem(err.message, err.hint)
    if found is None:
        return problem(
            f"Container Analysis answers for {settings.gcp_project}, but no image of "
            f"{settings.image} has been scanned: Container Scanning may be off",
            f"{api.enable_hint()}; it scans the images pushed from then on",
        )
    digest = found.resource_uri.rpartition("@")[2]
    return ok(
        f"Container Analysis answers for {settings.gcp_project}; Container Scanning scans "
        f"{settings.image} ({digest[:19]}: {found.discovery.analysis_status.name})"
    )
