"""The Docker engine: its address checked before docker-py is asked, the one way to get a
client, and its failures in words.

`check_docker_host` validates `DOCKER_HOST` the way docker-py will read it, so that a value it
cannot use is a configuration error (exit 2) naming the variable, never a raw ValueError from
docker-py. `engine_failure` turns a docker-py or urllib3 exception into a short phrase; the raw
text stays on the exception chain, which the CLI shows with --verbose.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlrelease.errors import ConfigError, EngineError

if TYPE_CHECKING:
    import docker

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
_SCHEMES = ("unix", "tcp", "http", "https", "ssh", "npipe", "http+unix")
_HINT = "fix or unset DOCKER_HOST: e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375"


def check_docker_host(env: Mapping[str, str] | None = None) -> str:
    """The engine address DOCKER_HOST names (the default socket when unset or empty).

    Raises ConfigError for a value docker-py cannot use: an unknown scheme, a missing or
    non-numeric port, a port outside 1-65535, a password, a query. The value is never quoted
    whole, since it may carry credentials.
    """
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "").strip()
    if not host or host == "unix://":
        return DEFAULT_DOCKER_HOST
    if not host.isascii() or not host.isprintable() or " " in host:
        raise _bad("contains characters that are not printable ASCII")
    scheme, separator, _ = host.partition("://")
    if not separator:
        scheme, host = "tcp", f"tcp://{host}"  # docker-py reads host:port as tcp
    if scheme not in _SCHEMES:
        raise _bad(f"has the scheme {scheme[:16]!r}; use unix, tcp, ssh, http or https")
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError:
        raise _bad("has a port that is not a number from 1 to 65535") from None
    if parts.password is not None:
        raise _bad("carries a password; the engine takes none in its address")
    if parts.query or parts.fragment:
        raise _bad("has a query or fragment")
    if scheme in ("unix", "http+unix", "npipe"):
        if not (parts.netloc + parts.path).strip("/"):
            raise _bad("names no socket path")
        return host
    if not parts.hostname:
        raise _bad("names no host")
    if port == 0 or (port is None and scheme == "tcp"):
        raise _bad("needs a port from 1 to 65535, e.g. tcp://127.0.0.1:2375")
    if scheme == "ssh" and parts.path.strip("/"):
        raise _bad("has a path, which ssh:// addresses cannot have")
    return host


# Long enough for a build's or a push's quiet stretches (a large layer being compressed).
ENGINE_TIMEOUT_S = 300


def docker_client(timeout: float = ENGINE_TIMEOUT_S) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names, which answered a ping (API version
    negotiated, never pinned); EngineError saying why when it does not answer."""
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    host = check_docker_host()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (DockerException, RequestException) as err:
        raise EngineError(
            f"the Docker engine at {host} does not answer: {engine_failure(err)}"
        ) from err
    return client


@contextmanager
def isolated_docker_config() -> Iterator[None]:
    """DOCKER_CONFIG pointed at an empty directory while the block runs: a credential helper
    named in ~/.docker/config.json can break even a build. Make the client inside the block,
    since docker-py reads the config when it is created."""
    previous = os.environ.get("DOCKER_CONFIG")
    with tempfile.TemporaryDirectory(prefix="mlrelease-docker-config-") as empty:
        os.environ["DOCKER_CONFIG"] = empty
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("DOCKER_CONFIG", None)
            else:
                os.environ["DOCKER_CONFIG"] = previous


def engine_failure(err: BaseException) -> str:
    """A short phrase for why the engine did not answer (the raw text goes to --verbose)."""
    text = f"{type(err).__name__} {err}"
    for needle, phrase in (
        ("FileNotFoundError", "its socket does not exist"),
        ("No such file or directory", "its socket does not exist"),
        ("Permission denied", "permission to its socket is denied"),
        ("Connection refused", "the connection was refused"),
        ("Name or service not known", "its host name does not resolve"),
        ("nodename nor servname", "its host name does not resolve"),
        ("Temporary failure in name resolution", "its host name does not resolve"),
        ("timed out", "it did not answer in time"),
        ("Timeout", "it did not answer in time"),
        ("SSLError", "the TLS handshake failed"),
    ):
        if needle in text:
            return phrase
    return "it did not answer"


def _bad(reason: str) -> ConfigError:
    return ConfigError(f"DOCKER_HOST {reason}", hint=_HINT)
