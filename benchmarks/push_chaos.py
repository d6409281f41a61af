"""Chaos run: many pushes of changing images to the GAR emulator with faults drawn at random.

    .venv/bin/python benchmarks/push_chaos.py [--pushes 50] [--seed 20261201]

Each round builds a new small image for a new commit (or, one round in four, re-pushes a tag
that exists with another image), draws one fault (none, token 5xx, API 5xx, a dropped
connection, the registry paused mid-upload, the API frozen after the upload, tokens revoked, a
401 on the manifest PUT, a 503 from the registry's token service) and runs `mlrelease --json
push`. After every push it checks the invariants and prints one line; at the end, the counts:
- an exit 0 means the registry's tag holds exactly the digest reported;
- a non-zero exit is 3, 4 or 5, and its message says whether anything had landed;
- no tag points at an incomplete image (every blob of every tagged manifest is there);
- no run outlasts its deadline (deadline_s, plus a margin for start-up).
Needs the engine and the registry binary (scripts/testground; source .mlrelease/testground.env).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.emulator import GarEmulator  # noqa: E402
from tests.integration.releasing import gar_settings, release_repo, remove_images  # noqa: E402

DEADLINE_S = 40
FAULTS = (
    "none",
    "token-5xx",
    "api-5xx",
    "api-drop",
    "registry-paused",
    "api-frozen-after-upload",
    "tokens-revoked",
    "push-401",
    "registry-token-503",
)


def inject(gar: GarEmulator, fault: str) -> None:
    if fault == "token-5xx":
        gar.fail_next(1, target="token", status=503)
    elif fault == "api-5xx":
        gar.fail_next(2, target="api", status=503)
    elif fault == "api-drop":
        gar.fail_next(1, target="api", drop=True)
    elif fault == "registry-paused":
        gar.hang_next(1, target="registry", seconds=8)
    elif fault == "api-frozen-after-upload":
        gar.hang_next(20, target="api", seconds=60, after=2)
    elif fault == "tokens-revoked":
        gar.revoke_tokens()
    elif fault == "push-401":
        gar.fail_next(1, target="push", status=401)
    elif fault == "registry-token-503":
        gar.fail_next(2, target="registry-token", status=503)


def main() -> int:
    import docker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    chance = random.Random(args.seed)
    binary = os.environ.get("MLRELEASE_REGISTRY_BIN") or shutil.which("docker-registry")
    if not binary:
        sys.exit("no docker-registry binary: run scripts/testground first")
    client = docker.from_env()
    counts: collections.Counter[str] = collections.Counter()
    broken: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlrelease-chaos-") as tmp:
        (Path(tmp) / "gar").mkdir()
        gar = GarEmulator(binary, Path(tmp) / "gar")
        rel = release_repo(Path(tmp), **gar_settings(gar))
        rel.env.update(
            GCP_SA_KEY=json.dumps(gar.service_account_key()),
            MLRELEASE_REQUEST_TIMEOUT_S="3",
            MLRELEASE_ATTEMPTS="3",
            MLRELEASE_DEADLINE_S=str(DEADLINE_S),
        )
        tags: list[str] = []
        try:
            for number in range(1, args.pushes + 1):
                gar.reset()
                if tags and chance.random() < 0.25:
                    tag = chance.choice(tags)  # another image for a tag that exists
                    rel.build_image(client, tag, content=f"again {number}", commit=rel.repo.head)
                    rel.repo.git("tag", "--force", "--annotate", "--message", tag, tag)
                else:
                    rel.repo.commit(f"round {number}")
                    tag = f"v0.{number}.0"
                    rel.repo.tag(tag, annotated=True)
                    rel.build_image(client, tag, content=f"round {number}")
                    tags.append(tag)
                fault = chance.choice(FAULTS)
                inject(gar, fault)
                started = time.monotonic()
                proc = rel.mlrelease("--json", "push", tag)
                elapsed = time.monotonic() - started
                gar.release()
                envelope = json.loads(proc.stdout)
                held = gar.tag_digest("docker", rel.image, tag)
                problems = []
                if proc.returncode == 0 and envelope["data"]["digest"] != held:
                    reported = envelope["data"]["digest"]
                    problems.append(f"exit 0 reported {reported}, the tag holds {held}")
                if proc.returncode not in (0, 3, 4, 5):
                    problems.append(f"exit {proc.returncode}")
                message = " ".join(e["message"] for e in envelope["errors"])
                if proc.returncode == 5 and "landed" not in message:
                    problems.append("an exit 5 that does not say whether anything landed")
                if elapsed > DEADLINE_S + 15:
                    problems.append(f"{elapsed:.0f} s, past the deadline of {DEADLINE_S} s")
                time.sleep(0.5)  # a request the push gave up on may still be served: let it land
                if incomplete := gar.incomplete_tags("docker", rel.image):
                    problems.append(f"{', '.join(incomplete)} point at an incomplete image")
                leftovers = [
                    t for t in gar.tags("docker", rel.image) if t.startswith("mlrelease-push-")
                ]
                counts["temporary tags left"] = len(leftovers)
                counts[f"exit {proc.returncode}"] += 1
                counts[f"fault {fault}"] += 1
                verdict = "ok" if not problems else "BROKEN: " + "; ".join(problems)
                if problems:
                    broken.append(f"{number} {tag} {fault}: {verdict}")
                print(
                    f"{number:3} {tag:<9} {fault:<24} exit {proc.returncode} {elapsed:5.1f} s "
                    f"{verdict}  {message[:90]}"
                )
        finally:
            gar.stop()
            remove_images(client, rel.image)
    print()
    for key in sorted(counts):
        print(f"{key:<32} {counts[key]}")
    print(f"invariant broken in {len(broken)} of {args.pushes} pushes")
    for line in broken:
        print("  " + line)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
