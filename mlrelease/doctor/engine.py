"""`engine`: the Docker engine answers, and which one it is."""

from __future__ import annotations

import os

from mlrelease.doctor.frame import Outcome, Project, fail, ok

# A doctor run must not hang on an engine that accepts connections but never answers.
ENGINE_TIMEOUT_S = 10


def check_engine(project: Project) -> Outcome:
    """The engine DOCKER_HOST names (or the default socket) answers; report its version."""
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_S)
        try:
            version = client.version()
        finally:
            client.close()
    except (DockerException, RequestException) as err:
        reason = " ".join(str(err).split())
        return fail(
            f"the Docker engine at {host} does not answer: {reason}",
            "start the Docker engine, or point DOCKER_HOST at one that runs "
            "(`docker version` must show a Server)",
        )
    platform = f"{version.get('Os', '?')}/{version.get('Arch', '?')}"
    return ok(
        f"Docker Engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}, "
        f"{platform}) at {host}"
    )
