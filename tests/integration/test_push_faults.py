"""`push` under faults, against the GAR emulator: two pushes racing to one tag, a frozen API or
registry, a failing token service, an expired token, aliases that only move forward, warnings in
the JSON envelope, and the sha-<7> build of the tag's commit."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.emulator import CANARY
from tests.integration.releasing import (
    MLRELEASE,
    ReleaseRepo,
    gar_remote_name,
    gar_settings,
    release_repo,
    remove_images,
)

pytestmark = pytest.mark.integration


def _release(tmp_path: Path, gar, sa_key, **settings: str) -> ReleaseRepo:
    released = release_repo(tmp_path, **gar_settings(gar), **settings)
    released.env["GCP_SA_KEY"] = json.dumps(sa_key)
    return released


@pytest.fixture
def rel(tmp_path: Path, gar, sa_key, docker_client):
    released = _release(tmp_path, gar, sa_key)
    released.repo.tag("v1.0.0", annotated=True)
    yield released
    gar.release()
    remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def envelope(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout)


# Two images racing to one tag


def _rival(tmp_path: Path, gar, sa_key, image: str, docker_client) -> ReleaseRepo:
    """A second repository releasing the same image name from another commit, built as
    IMAGE:sha-<7> (so that both images can sit in one engine)."""
    rival = _release(tmp_path / "rival", gar, sa_key, image=image)
    rival.image = image  # the name its pyproject.toml gives
    rival.repo.commit("another change")  # another commit than the first repository's
    rival.repo.tag("v1.0.0", annotated=True)
    rival.build_image(docker_client, f"sha-{rival.repo.head[:7]}", content="rival")
    return rival


def _race(*repos: ReleaseRepo) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [str(MLRELEASE), "--json", "push", "v1.0.0"],
            cwd=repo.path,
            env=repo.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo in repos
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


@pytest.mark.parametrize("immutable", [False, True], ids=["mutable", "immutable"])
def test_two_images_racing_to_one_tag_give_exactly_one_winner(
    tmp_path: Path, rel, gar, sa_key, docker_client, immutable: bool
) -> None:
    if immutable:
        gar.add_repository("docker", immutable_tags=True)
    (tmp_path / "rival").mkdir()
    rival = _rival(tmp_path, gar, sa_key, rel.image, docker_client)
    rel.build_image(docker_client, f"sha-{rel.repo.head[:7]}", content="first")
    assert rel.repo.head != rival.repo.head

    results = _race(rel, rival)

    codes = sorted(result.returncode for result in results)
    assert codes == [0, 3], [(r.returncode, r.stderr, r.stdout) for r in results]
    (winner,) = [r for r in results if r.returncode == 0]
    (loser,) = [r for r in results if r.returncode == 3]
    digest = envelope(winner)["data"]["digest"]
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == digest
    message = envelope(loser)["errors"][0]["message"]
    # Lost the race to the tag's creation, or, on a loaded machine, started after the winner
    # had finished and found the tag taken at the preflight: exit 3 either way.
    reasons = ("was created by another push", "immutab", "already holds another image")
    assert any(reason in message for reason in reasons), message
    assert envelope(loser)["ok"] is False
    # No temporary tag is left behind, whoever won.
    names = gar.tags("docker", rel.image) if hasattr(gar, "tags") else []
    assert not [name for name in names if name.startswith("mlrelease-push-")]


# Deadlines and timeouts


FAST = {"MLRELEASE_REQUEST_TIMEOUT_S": "2", "MLRELEASE_ATTEMPTS": "2", "MLRELEASE_DEADLINE_S": "60"}


def test_a_frozen_api_after_the_upload_is_exit_5_saying_the_image_landed(rel, gar, docker_client):
    rel.build_image(docker_client, "v1.0.0")
    # The preflight's two calls pass; every call after the upload gets no answer.
    gar.hang_next(50, target="api", seconds=120, after=2)

    started = time.monotonic()
    result = rel.mlrelease("--json", "push", "v1.0.0", **FAST)
    elapsed = time.monotonic() - started

    assert result.returncode == 5, result.stderr
    assert elapsed < 60, elapsed
    error = envelope(result)["errors"][0]["message"]
    assert "the image had landed as sha256:" in error
    assert envelope(result)["data"]["landed_digest"].startswith("sha256:")
    assert gar.tag_digest("docker", rel.image, "v1.0.0") is None


def test_a_registry_frozen_during_the_upload_is_a_retried_exit_5(rel, gar, docker_client):
    rel.build_image(docker_client, "v1.0.0")
    gar.hang_next(20, target="registry", seconds=120)

    started = time.monotonic()
    result = rel.mlrelease("--json", "push", "v1.0.0", **FAST)
    elapsed = time.monotonic() - started

    assert result.returncode == 5, result.stderr
    assert elapsed < 60, elapsed
    assert "internal error" not in result.stderr
    data = envelope(result)["data"]
    assert data["attempts"] == 2
    assert "nothing had landed" in envelope(result)["errors"][0]["message"]
    assert gar.tag_digest("docker", rel.image, "v1.0.0") is None


@pytest.mark.parametrize("failures", [1, 2])
def test_503s_from_the_registry_token_service_are_retried(rel, gar, docker_client, failures):
    rel.build_image(docker_client, "v1.0.0")
    gar.fail_next(failures, target="registry-token", status=503)

    result = rel.mlrelease("--json", "push", "v1.0.0")

    assert result.returncode == 0, result.stderr
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == envelope(result)["data"]["digest"]


def test_a_401_during_the_push_refreshes_the_token_once_and_succeeds(rel, gar, docker_client):
    rel.build_image(docker_client, "v1.0.0")
    gar.fail_next(1, target="push", status=401)

    result = rel.mlrelease("push", "v1.0.0")

    assert result.returncode == 0, result.stderr
    assert "refreshing it once" in result.stderr, result.stderr
    pushed = result.stdout.strip()  # URI@DIGEST
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == pushed.rpartition("@")[2]
    assert CANARY not in result.stdout + result.stderr


# Aliases, warnings, the sha-<7> fallback


def test_aliases_move_forward_only(tmp_path: Path, gar, sa_key, docker_client) -> None:
    released = _release(tmp_path, gar, sa_key)
    (released.path / "pyproject.toml").write_text(
        (released.path / "pyproject.toml").read_text()
        + 'tag_aliases = ["major", "minor", "latest"]\n'
    )
    released.repo.git("commit", "--quiet", "--all", "--message", "aliases")
    try:
        released.repo.tag("v1.4.1", annotated=True)
        released.build_image(docker_client, "v1.4.1", content="old")
        released.repo.commit("next")
        released.repo.tag("v1.4.3", annotated=True)
        released.build_image(docker_client, "v1.4.3", content="new")

        newer = released.mlrelease("--json", "push", "v1.4.3")
        older = released.mlrelease("--json", "push", "v1.4.1")

        assert newer.returncode == 0, newer.stderr
        assert older.returncode == 0, older.stderr
        new_digest = envelope(newer)["data"]["digest"]
        assert envelope(older)["data"]["aliases"] == []
        for alias in ("v1", "v1.4", "latest"):
            assert gar.tag_digest("docker", released.image, alias) == new_digest, alias
        assert (
            "latest stays at v1.4.3, which is newer than v1.4.1" in envelope(older)["data"]["notes"]
        )
    finally:
        remove_images(docker_client, released.image, gar_remote_name(gar, released.image))


def test_a_forced_replacement_is_a_warning_in_the_envelope_and_on_stderr(
    rel, gar, docker_client
) -> None:
    rel.build_image(docker_client, "v1.0.0", content="first")
    assert rel.mlrelease("push", "v1.0.0").returncode == 0
    rel.build_image(docker_client, "v1.0.0", content="second")

    result = rel.mlrelease("--json", "push", "v1.0.0", "--force")

    assert result.returncode == 0, result.stderr
    (warning,) = [w for w in envelope(result)["warnings"] if w.startswith("--force")]
    assert warning.startswith("--force: replacing ")
    assert f"warning: {warning}" in result.stderr
    assert gar.tag_digest("docker", rel.image, "v1.0.0") == envelope(result)["data"]["digest"]


def test_the_sha_build_of_the_tags_commit_is_pushed_when_the_version_image_is_stale(
    rel, gar, docker_client
) -> None:
    rel.build_image(docker_client, "v1.0.0", commit="f" * 40, content="stale")
    right = rel.build_image(docker_client, f"sha-{rel.repo.head[:7]}", content="right")

    result = rel.mlrelease("--json", "push", "v1.0.0")

    assert result.returncode == 0, result.stderr
    data = envelope(result)["data"]
    assert data["local_image"] == f"{rel.image}:sha-{rel.repo.head[:7]}"
    landed = gar.tag_digest("docker", rel.image, "v1.0.0")
    assert landed == data["digest"]
    assert right.startswith("sha256:")
