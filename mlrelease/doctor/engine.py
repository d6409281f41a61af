"""`engine`: the Docker engine answers, and which one it is."""

from __future__ import annotations

from mlrelease.doctor.frame import Outcome, Project, fail, ok

# A doctor run must not hang on an engine that accepts connections but never answers.
ENGINE_TIMEOUT_S = 10


def check_engine(project: Project) -> Outcome:
    """The engine DOCKER_HOST names (or the default socket) answers; report its version."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from mlrelease.engine import check_docker_host, docker_client, engine_failure
    from mlrelease.errors import ConfigError, EngineError

    try:
        host = check_docker_host()
        client = docker_client(timeout=ENGINE_TIMEOUT_S)
        try:
            version = client.version()
        finally:
            client.close()
    except ConfigError as err:
        return fail(err.message, err.hint)
    except (EngineError, DockerException, RequestException) as err:
        reason = (
            err.message
            if isinstance(err, EngineError)
            else (f"the Docker engine at {host} does not answer: {engine_failure(err)}")
        )
        return fail(
            reason,
            "start the Docker engine, or point DOCKER_HOST at one that runs "
            "(`docker version` must show a Server)",
        )
    platform = f"{version.get('Os', '?')}/{version.get('Arch', '?')}"
    return ok(
        f"Docker Engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}, "
        f"{platform}) at {host}"
    )
