"""Service latency and throughput against a bare FastAPI endpoint on the same server.

    python benchmarks/service_latency.py [--requests N] [--model PATH]

Starts the real app (`service.app.create_app`) under uvicorn in a subprocess on a free
127.0.0.1 port, with one extra route added only here, `GET /bench/constant`, that returns
a constant. One keep-alive httpx client then times, sequentially, `/predict` with one row,
`/predict` with a batch of 100 rows, and the constant route, and prints p50/p99 latency,
requests/s and the ratios against the constant route. Trains a model into a temporary
directory unless `--model` is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere: make `service` importable

CONSTANT_PATH = "/bench/constant"
BATCH_SIZE = 100
START_TIMEOUT_S = 30.0


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


def serve(model_path: Path, port: int, log_level: str) -> None:
    """Child process: the product app plus the benchmark-only constant route, under uvicorn."""
    import uvicorn

    from service.__main__ import configure_logging
    from service.app import create_app
    from service.settings import Settings

    configure_logging(log_level)
    app = create_app(Settings(model_path=model_path, host="127.0.0.1", port=port))

    @app.get(CONSTANT_PATH)
    async def constant() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_config=None, log_level=log_level, access_log=False
    )


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
    name: str, rows: int, call: Callable[[], int], requests: int, warmup: int
) -> Measurement:
    """Time `requests` sequential calls after `warmup` untimed ones; every call must be 200."""
    for _ in range(warmup):
        call()
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        before = time.perf_counter()
        status = call()
        latencies.append(time.perf_counter() - before)
        if status != 200:
            raise SystemExit(f"error: {name} answered {status}")
    return Measurement(name, rows, latencies, time.perf_counter() - started)


def run(model_path: Path, requests: int, warmup: int, log_level: str) -> list[Measurement]:
    """Start the server, measure the three scenarios, stop the server."""
    from sklearn.datasets import load_breast_cancer

    from service.model import verify_artifact

    example = verify_artifact(model_path).example.instance
    batch = load_breast_cancer().data[:BATCH_SIZE].tolist()
    port = _free_port()
    command = [sys.executable, __file__, "--serve", "--model", str(model_path)]
    command += ["--port", str(port), "--log-level", log_level]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen(command, env=env, stdout=server_log, stderr=server_log)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                _wait_ready(client, process, server_log)
                one = {"instance": example}
                many = {"instances": batch}
                scenarios: list[tuple[str, int, Callable[[], int]]] = [
                    (
                        "POST /predict, 1 row",
                        1,
                        lambda: client.post("/predict", json=one).status_code,
                    ),
                    (
                        f"POST /predict, {BATCH_SIZE} rows",
                        BATCH_SIZE,
                        lambda: client.post("/predict", json=many).status_code,
                    ),
                    (
                        f"GET {CONSTANT_PATH} (bare)",
                        0,
                        lambda: client.get(CONSTANT_PATH).status_code,
                    ),
                ]
                return [measure(*scenario, requests, warmup) for scenario in scenarios]
        finally:
            process.terminate()
            process.wait(timeout=30)


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
    args = parser.parse_args()
    if args.serve:
        serve(args.model, args.port, args.log_level)
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
