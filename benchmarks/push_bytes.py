"""Bytes and time of pushing the service image: a first push, an unchanged re-push, and a push
after a change to service code only (which should send only the changed layer).

    .venv/bin/python benchmarks/push_bytes.py

Needs the engine, the base image and the registry binary (run scripts/testground and
`source .mlrelease/testground.env` first). Works in a temporary clone of HEAD with its own
local registry on a free port; the bytes are what the registry stored for each push (its blob
store's growth: the compressed layers and manifests that were sent).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLRELEASE = Path(sys.executable).with_name("mlrelease")


def run(cwd: Path, *args: str, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def stored_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def start_registry(work: Path, *, log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """An open distribution registry on a free port, storing under `work`; with `log`, it
    logs every response there as JSON."""
    from mlrelease.build.smoke import free_port

    port = free_port()
    config = work / "registry.yml"
    logging = (
        "{level: info, formatter: json, accesslog: {disabled: true}}" if log else "{level: warn}"
    )
    config.write_text(
        f"version: 0.1\nlog: {logging}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'registry'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary:
        sys.exit("no docker-registry binary: run scripts/testground first")
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=output, stderr=output)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return process, f"127.0.0.1:{port}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlrelease-push-bench-") as tmp:
        work = Path(tmp)
        registry, host = start_registry(work)
        try:
            measure(work, host)
        finally:
            registry.terminate()
            registry.wait(timeout=10)


def measure(work: Path, host: str) -> None:
    repo = work / "repo"
    env = {**os.environ, "MLRELEASE_REGISTRY_HOST": host, "NO_GCE_CHECK": "true"}
    env["MLRELEASE_IMAGE"] = f"mlrelease-bench/push-{os.getpid()}"
    for key in ("GCP_PROJECT", "GOOGLE_CLOUD_PROJECT", "MLRELEASE_GCP_PROJECT"):
        env.pop(key, None)
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(repo)], check=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    run(repo, sys.executable, "-m", "service.train", env=env)
    rows = []

    def release(name: str, tag: str) -> None:
        run(repo, *git, "tag", "-a", tag, "-m", tag, env=env)
        run(repo, str(MLRELEASE), "build", env=env)
        before = stored_bytes(work / "registry") if (work / "registry").exists() else 0
        started = time.perf_counter()
        run(repo, str(MLRELEASE), "push", tag, env=env)
        rows.append((name, stored_bytes(work / "registry") - before, time.perf_counter() - started))

    release("first push", "v0.0.1")
    before = stored_bytes(work / "registry")
    started = time.perf_counter()
    run(repo, str(MLRELEASE), "push", "v0.0.1", env=env)
    rows.append(
        (
            "unchanged re-push",
            stored_bytes(work / "registry") - before,
            time.perf_counter() - started,
        )
    )
    with (repo / "service" / "app.py").open("a") as handle:
        handle.write("\n# a code-only change\n")
    run(repo, *git, "commit", "--quiet", "-am", "a code-only change", env=env)
    release("code-only change", "v0.0.2")

    first_bytes, first_time = rows[0][1], rows[0][2]
    print(f"{'push':<20} {'bytes sent':>14} {'vs first':>9} {'seconds':>8} {'vs first':>9}")
    for name, sent, seconds in rows:
        print(
            f"{name:<20} {sent:>14,} {sent / first_bytes:>9.4f} {seconds:>8.2f} "
            f"{seconds / first_time:>9.3f}"
        )


if __name__ == "__main__":
    main()
