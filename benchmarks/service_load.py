"""The service under concurrent load, against a bare FastAPI endpoint on the same server.

    python benchmarks/service_load.py [--workers N] [--requests N] [--model PATH]

Starts the same server as `service_latency.py` (the real app plus a constant route,
`WEB_CONCURRENCY`-style worker processes) and drives it with N concurrent keep-alive clients,
N = 1, 8 and 32, each level bounded by a request count and a time limit. For one-row
`/predict` and the constant route, taking turns in rounds at each level, it prints throughput
and p50/p99 latency, and the ratio of /predict's throughput to the constant route's. Then it
offers /predict at half of its peak throughput, paced, and reports the p99 there (latency
counted from when each request was due, so a late start counts as waiting). Last, the peak
memory (VmHWM) of each worker process. The clients are raw asyncio connections sending
pre-encoded requests, so that the load generator costs little CPU next to the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# service_latency, beside this file, also makes `service` importable.
from service_latency import CONSTANT_PATH, running_server

CLIENT_COUNTS = (1, 8, 32)
LEVEL_TIME_LIMIT_S = 10.0  # per round
ROUNDS = 3
PACED_CLIENTS = 8
P99_TARGET_MS = 10.0


@dataclass(frozen=True)
class LoadResult:
    """Latencies and wall time of one endpoint at one level of concurrency."""

    name: str
    clients: int
    latencies_s: list[float]
    elapsed_s: float

    @property
    def requests_per_s(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies_s) / self.elapsed_s

    def percentile_ms(self, percent: int) -> float:
        """A latency percentile in milliseconds."""
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        return cuts[percent - 1] * 1000


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    """One keep-alive HTTP/1.1 request, encoded once."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class Connection:
    """A keep-alive client connection that sends a fixed request and reads whole responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to the server on 127.0.0.1."""
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def exchange(self, request: bytes) -> None:
        """Send `request`, read its response; anything but a 200 stops the benchmark."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        if status != b"200":
            raise SystemExit(f"error: the server answered {status.decode()}: {head!r}")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


async def closed_loop(
    port: int, request: bytes, clients: int, requests: int
) -> tuple[list[float], float]:
    """`clients` connections, each sending its next request as soon as the last is answered,
    until `requests` are done or the time limit passes; return latencies and wall time."""
    connections = [await Connection.open(port) for _ in range(clients)]
    for connection in connections:
        await connection.exchange(request)  # warm the connection
    latencies: list[float] = []
    started = time.perf_counter()
    stop_at = started + LEVEL_TIME_LIMIT_S

    async def client(connection: Connection) -> None:
        while len(latencies) < requests and time.perf_counter() < stop_at:
            before = time.perf_counter()
            await connection.exchange(request)
            latencies.append(time.perf_counter() - before)

    await asyncio.gather(*(client(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return latencies, elapsed


async def paced(port: int, request: bytes, rate: float, requests: int) -> list[float]:
    """Offer `rate` requests/s over `PACED_CLIENTS` connections; latency from each due time."""
    connections = [await Connection.open(port) for _ in range(PACED_CLIENTS)]
    for connection in connections:
        await connection.exchange(request)
    interval = PACED_CLIENTS / rate
    per_client = requests // PACED_CLIENTS
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def client(index: int, connection: Connection) -> None:
        due = start + index * interval / PACED_CLIENTS
        for _ in range(per_client):
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await connection.exchange(request)
            latencies.append(time.perf_counter() - due)
            due += interval

    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    for connection in connections:
        connection.close()
    return latencies


def measure_level(
    port: int, clients: int, requests: int, predict: bytes, constant: bytes
) -> list[LoadResult]:
    """Both endpoints at one level, taking turns in `ROUNDS` rounds so that a noisy neighbour
    on the machine slows them alike and their ratio stays fair."""
    endpoints = (("POST /predict, 1 row", predict), ("GET (bare)", constant))
    latencies: list[list[float]] = [[] for _ in endpoints]
    elapsed = [0.0 for _ in endpoints]
    for _ in range(ROUNDS):
        for index, (_, request) in enumerate(endpoints):
            taken, seconds = asyncio.run(closed_loop(port, request, clients, requests // ROUNDS))
            latencies[index] += taken
            elapsed[index] += seconds
    return [
        LoadResult(name, clients, latencies[index], elapsed[index])
        for index, (name, _) in enumerate(endpoints)
    ]


def worker_pids(server_pid: int, workers: int) -> list[int]:
    """The processes that serve requests: the server itself, or its spawned workers."""
    if workers == 1:
        return [server_pid]
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"error: no VmHWM for process {pid}")


def run(model_path: Path, workers: int, requests: int) -> str:
    """Start the server; run every level, the paced run and the memory readout; report."""
    from service.model import verify_artifact

    example = verify_artifact(model_path).example.instance
    predict = http_request("POST", "/predict", json.dumps({"instance": example}).encode())
    constant = http_request("GET", CONSTANT_PATH)
    lines = [
        f"service load: {workers} worker process(es), {requests} requests per endpoint and level "
        f"in {ROUNDS} rounds (at most {LEVEL_TIME_LIMIT_S:.0f} s each), "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs",
        f"{'clients':>7} {'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s x':>8}",
    ]
    with running_server(model_path, "warning", workers) as (base_url, process):
        port = int(base_url.rsplit(":", 1)[1])
        peak = 0.0
        for clients in CLIENT_COUNTS:
            measured = measure_level(port, clients, requests, predict, constant)
            bare = measured[-1]
            peak = max(peak, measured[0].requests_per_s)
            for result in measured:
                lines.append(
                    f"{clients:>7} {result.name:<24} {result.requests_per_s:8.0f} "
                    f"{result.percentile_ms(50):8.2f} {result.percentile_ms(99):8.2f} "
                    f"{result.requests_per_s / bare.requests_per_s:8.2f}"
                )
        half = peak / 2
        paced_latencies = asyncio.run(paced(port, predict, half, requests))
        p99 = LoadResult("paced", PACED_CLIENTS, paced_latencies, 1.0).percentile_ms(99)
        verdict = "within" if p99 <= P99_TARGET_MS else "over"
        lines.append(
            f"/predict at half of its peak ({half:.0f} of {peak:.0f} req/s, {PACED_CLIENTS} "
            f"clients, paced): p99 {p99:.2f} ms, {verdict} the {P99_TARGET_MS:.0f} ms target"
        )
        rss = ", ".join(f"{peak_rss_mb(pid):.0f}" for pid in worker_pids(process.pid, workers))
        lines.append(f"peak RSS per worker after the load (VmHWM): {rss} MiB")
    lines.append("req/s x: ratio to the bare constant endpoint at the same number of clients")
    return "\n".join(lines)


def main() -> int:
    """Parse options, train a model if none is given, run, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes (WEB_CONCURRENCY)")
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per endpoint and level"
    )
    parser.add_argument("--model", type=Path, help="a trained model file (default: train one)")
    args = parser.parse_args()
    if args.requests < 100:
        parser.error("--requests must be at least 100 for a p99")
    with tempfile.TemporaryDirectory(prefix="service-load-") as scratch:
        model_path = args.model
        if model_path is None:
            from service.train import train

            model_path = Path(scratch) / "model.joblib"
            train(model_path)
        print(run(model_path.resolve(), args.workers, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
