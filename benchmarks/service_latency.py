"""Service latency and throughput against a bare FastAPI endpoint on the same server.

    python benchmarks/service_latency.py [--requests N] [--model PATH]

Starts the real app (`service.app.create_app`) under uvicorn in a subprocess on a free
127.0.0.1 port, with one extra route added only here, `GET /bench/constant`, that returns
a constant. One keep-alive httpx client then times, sequentially, `/predict` with one row,
`/predict` with a batch of 100 rows, and the constant route, taking turns in rounds of 100
requests, and prints p50/p99 latency,
requests/s and the ratios against the constant route. Trains a model into a temporary
directory unless `--model` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from fastapi import FastAPI

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere: make `service` importable

CONSTANT_PATH = "/bench/constant"
JSON = {"content-type": "application/json"}
BATCH_SIZE = 100
START_TIMEOUT_S = 30.0
ROUND_SIZE = 100  # requests per scenario before the next scenario takes its turn


@dataclass(frozen=True)
class Measurement:
    """Timings of one scenario."""

    name: str
    rows_per_request: int
    latencies_s: list[float]
    elapsed_s: float

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.latencies_s) * 1000

    @property
    def p99_ms(self) -> float:
        """99th percentile latency in milliseconds."""
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[98] * 1000

    @property
    def requests_per_s(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies_s) / self.elapsed_s


def bench_app() -> FastAPI:
    """The product app, settings from the environment, plus the benchmark-only constant route.

    A factory that uvicorn imports by name, so that every worker process builds one.
    """
    from service.app import create_app

    app = create_app()

    @app.get(CONSTANT_PATH)
    async def constant() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(port: int, log_level: str, workers: int) -> None:
    """Child process: `bench_app` served as `python -m service` serves the product app."""
    from service.__main__ import logging_config
    from service.serving import serve as serve_app

    serve_app(
        f"{Path(__file__).stem}:bench_app",  # importable: this script's directory is on sys.path
        host="127.0.0.1",
        port=port,
        workers=workers,
        graceful_timeout=10,
        log_config=logging_config(log_level),
        log_level=log_level,
    )


@contextmanager
def running_server(
    model_path: Path, log_level: str, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `serve` in a subprocess on a free port; yield its base URL and process once ready."""
    port = _free_port()
    command = [sys.executable, __file__, "--serve", "--port", str(port)]
    command += ["--log-level", log_level, "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MODEL_PATH": str(model_path)}
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen(command, env=env, stdout=server_log, stderr=server_log)
        try:
            with httpx.Client(base_url=base_url, timeout=10) as client:
                _wait_ready(client, process, server_log)
            yield base_url, process
        finally:
            process.terminate()
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise SystemExit(f"error: the service exited with {process.returncode}:\n{output}")
        try:
            if client.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"error: the service was not ready after {START_TIMEOUT_S:.0f} s")


def measure(
    scenarios: list[tuple[str, int, Callable[[], int]]], requests: int, warmup: int
) -> list[Measurement]:
    """Time `requests` sequential calls per scenario after `warmup` untimed ones.

    The scenarios take turns in rounds, so that a noisy neighbour on the machine slows them
    all alike and the ratios between them stay fair. Every call must answer 200.
    """
    for _, _, call in scenarios:
        for _ in range(warmup):
            call()
    latencies: list[list[float]] = [[] for _ in scenarios]
    elapsed = [0.0 for _ in scenarios]
    for round_size in _rounds(requests):
        for index, (name, _, call) in enumerate(scenarios):
            started = time.perf_counter()
            for _ in range(round_size):
                before = time.perf_counter()
                status = call()
                latencies[index].append(time.perf_counter() - before)
                if status != 200:
                    raise SystemExit(f"error: {name} answered {status}")
            elapsed[index] += time.perf_counter() - started
    return [
        Measurement(name, rows, latencies[index], elapsed[index])
        for index, (name, rows, _) in enumerate(scenarios)
    ]


def _rounds(requests: int, per_round: int = ROUND_SIZE) -> list[int]:
    full, rest = divmod(requests, per_round)
    return [per_round] * full + ([rest] if rest else [])


def run(model_path: Path, requests: int, warmup: int, log_level: str) -> list[Measurement]:
    """Start the server, measure the three scenarios, stop the server."""
    from sklearn.datasets import load_breast_cancer

    from service.model import verify_artifact

    example = verify_artifact(model_path).example.instance
    batch = load_breast_cancer().data[:BATCH_SIZE].tolist()
    # Encoded once, as a load generator sends a fixed body: the client's JSON encoding is not
    # the service's time.
    one = json.dumps({"instance": example}).encode()
    many = json.dumps({"instances": batch}).encode()
    with (
        running_server(model_path, log_level) as (base_url, _),
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        scenarios: list[tuple[str, int, Callable[[], int]]] = [
            (
                "POST /predict, 1 row",
                1,
                lambda: client.post("/predict", content=one, headers=JSON).status_code,
            ),
            (
                f"POST /predict, {BATCH_SIZE} rows",
                BATCH_SIZE,
                lambda: client.post("/predict", content=many, headers=JSON).status_code,
            ),
            (f"GET {CONSTANT_PATH} (bare)", 0, lambda: client.get(CONSTANT_PATH).status_code),
        ]
        return measure(scenarios, requests, warmup)


def render(results: list[Measurement], requests: int) -> str:
    """A plain table plus the ratios against the constant endpoint."""
    baseline = results[-1]
    lines = [
        f"service latency: {requests} sequential requests per scenario, 1 keep-alive client, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs",
        f"{'endpoint':<30} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'rows/s':>9} "
        f"{'p50 x':>7} {'req/s x':>8}",
    ]
    for result in results:
        rows_per_s = f"{result.requests_per_s * result.rows_per_request:9.0f}"
        lines.append(
            f"{result.name:<30} {result.p50_ms:8.2f} {result.p99_ms:8.2f} "
            f"{result.requests_per_s:8.0f} {rows_per_s if result.rows_per_request else '-':>9} "
            f"{result.p50_ms / baseline.p50_ms:7.2f} "
            f"{result.requests_per_s / baseline.requests_per_s:8.2f}"
        )
    lines.append(
        "x: ratio to the bare constant endpoint on the same server (p50: higher is slower)"
    )
    return "\n".join(lines)


def main() -> int:
    """Parse options, train a model if none is given, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per scenario")
    parser.add_argument("--model", type=Path, help="a trained model file (default: train one)")
    parser.add_argument(
        "--log-level",
        default="info",
        help="server log level (info: with the access log, as deployed)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.log_level, args.workers)
        return 0
    if args.requests < 2:
        parser.error("--requests must be at least 2 to compute percentiles")

    with tempfile.TemporaryDirectory(prefix="service-bench-") as scratch:
        model_path = args.model
        if model_path is None:
            from service.train import train

            model_path = Path(scratch) / "model.joblib"
            train(model_path)
        results = run(model_path.resolve(), args.requests, args.warmup, args.log_level)
    print(render(results, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
