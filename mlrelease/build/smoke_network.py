"""How the smoke test reaches the container: a port published on 127.0.0.1 where the engine
has a bridge network, the host's network where it has none (an engine started with
`--bridge=none`), with the service told a free port, or its own fixed port when it has no port
variable."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from mlrelease.config.smoke import SmokeConfig
from mlrelease.errors import PreconditionError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether something on this machine listens on `port` (any address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: a connection in TIME_WAIT is no listener; a listener still refuses.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class NetworkPlan:
    """How the container is reached: `mode` bridge or host, the port on 127.0.0.1, the
    variables that tell the service its port, and the engine's run options."""

    mode: str
    host_port: int
    environment: dict[str, str]
    run_options: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def plan_network(has_bridge: bool, config: SmokeConfig) -> NetworkPlan:
    """Publish the port on 127.0.0.1 where there is a bridge; else share the host's network."""
    env = {config.port_env: str(config.port)} if config.port_env else {}
    if has_bridge:
        host_port = free_port()
        return NetworkPlan(
            "bridge",
            host_port,
            env,
            {"ports": {f"{config.port}/tcp": ("127.0.0.1", host_port)}},
            f"network: bridge, container port {config.port} published on 127.0.0.1:{host_port}",
        )
    if config.port_env:
        port = free_port()
        return NetworkPlan(
            "host",
            port,
            # HOST: a service that reads it binds 127.0.0.1, not every interface of the host.
            {config.port_env: str(port), "HOST": "127.0.0.1"},
            {"network_mode": "host"},
            f"network: host (the engine has no bridge), {config.port_env}={port}",
        )
    if port_taken(config.port):
        raise PreconditionError(
            f"port {config.port} on this machine is taken, and the service's port is fixed "
            '(port_env = ""): the engine has no bridge network, so the container shares the '
            "host's ports",
            hint=f"stop what listens on port {config.port}, or give the service a port variable "
            "(port_env in [tool.mlrelease.smoke])",
        )
    return NetworkPlan(
        "host",
        config.port,
        {},
        {"network_mode": "host"},
        f"network: host (the engine has no bridge), the service's own port {config.port}",
    )
