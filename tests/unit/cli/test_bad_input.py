"""Validate before the outside world: settings, arguments and files are checked with a clear
exit 2 (or 3 for a missing or broken artifact) before the engine, a git remote or an API is
asked, and a dry run applies the same checks as the real run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from mlrelease.build.model import read_model_metadata
from mlrelease.build.smoke import check_reference, check_timeout
from mlrelease.config.settings import load_settings
from mlrelease.engine import DEFAULT_DOCKER_HOST, check_docker_host, engine_failure
from mlrelease.errors import ConfigError, PreconditionError, UsageError
from tests.unit.conftest import Repo

Run = Callable[..., Result]
HUGE = "9" * 400


def error_lines(result: Result) -> list[str]:
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], result.stderr
    return lines


# Configuration


def test_a_pyproject_that_is_not_utf8_is_a_config_error(repo: Repo, run: Run) -> None:
    (repo.path / "pyproject.toml").write_bytes(b'[tool.mlrelease]\nimage = "caf\xe9"\n')

    result = run("config")

    assert result.exit_code == 2, result.output
    assert (
        error_lines(result)[0]
        == "error: pyproject.toml is not UTF-8 text (byte 29 cannot be decoded)"
    )


@pytest.mark.parametrize("key", ["size_budget_mb", "size_warn_mb"])
def test_a_400_digit_number_from_toml_is_a_config_error(repo: Repo, run: Run, key: str) -> None:
    (repo.path / "pyproject.toml").write_text(f"[tool.mlrelease]\n{key} = {HUGE}\n")

    result = run("config")

    assert result.exit_code == 2, result.output
    assert f"invalid {key}" in error_lines(result)[0]
    assert "at most 1000000" in result.stderr


@pytest.mark.parametrize("value", [HUGE, f"-{HUGE}", "1e999", "nan", "inf", "0", "-1", "1000001"])
def test_out_of_range_sizes_from_the_environment(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MLRELEASE_SIZE_BUDGET_MB", value)

    result = run("config")

    assert result.exit_code == 2, result.output
    assert error_lines(result)[0].startswith("error: invalid size_budget_mb")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("gar_endpoint", "https://host:99999"),
        ("gar_endpoint", "https://host:0"),
        ("gar_endpoint", "http://host:port"),
        ("gar_endpoint", "https://ho st"),
        ("gar_endpoint", "https://[::1"),
        ("registry_host", "127.0.0.1:99999"),
        ("registry_host", "127.0.0.1:0"),
        ("registry_host", "a" * 64 + ".example"),
    ],
)
def test_ports_and_urls_are_checked(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"MLRELEASE_{key.upper()}", value)

    result = run("config")

    assert result.exit_code == 2, result.output
    assert error_lines(result)[0].startswith(f"error: invalid {key}")


@pytest.mark.parametrize("key", ["dockerfile", "context", "model_path"])
@pytest.mark.parametrize("value", ["a" * 300, "x/" * 2100, "dir/" + "b" * 256 + "/f"])
def test_paths_the_file_system_cannot_hold(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    # Found by the property tests: a 300-character model_path crashed `build` (exit 70).
    monkeypatch.setenv(f"MLRELEASE_{key.upper()}", value)

    result = run("build")

    assert result.exit_code == 2, result.output
    assert error_lines(result)[0].startswith(f"error: invalid {key}")


@pytest.mark.parametrize(
    ("key", "value"),
    [("gar_endpoint", "http://127.0.0.1:65535/v1"), ("registry_host", "[::1]:1")],
)
def test_edge_ports_are_accepted(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"MLRELEASE_{key.upper()}", value)

    assert getattr(load_settings(repo.path), key) == value


# model.json


def test_model_metadata_must_be_an_object(tmp_path: Path) -> None:
    # A valid JSON array was a TypeError, exit 70.
    path = tmp_path / "model.json"
    path.write_text("[1, 2]")

    with pytest.raises(PreconditionError) as caught:
        read_model_metadata(path)

    assert caught.value.exit_code == 3
    assert caught.value.message == f"the model metadata {path} holds an array, not a JSON object"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"null", "holds null, not a JSON object"),
        (b"{", "is not valid JSON"),
        (b'{"sha256": "\xff"}', "is not UTF-8 text"),
        (b'{"sha256": 12}', "has a sha256 that is a number"),
        (b"[" * 100_000, "nests too deeply"),
        (b"1" * 5000, "is not valid JSON"),
    ],
)
def test_broken_model_metadata(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)

    with pytest.raises(PreconditionError) as caught:
        read_model_metadata(path)

    assert what in caught.value.message


def test_missing_model_metadata(tmp_path: Path) -> None:
    with pytest.raises(PreconditionError) as caught:
        read_model_metadata(tmp_path / "model.json")

    assert caught.value.message.startswith("no model metadata at")
    with pytest.raises(PreconditionError):
        read_model_metadata(tmp_path)  # a directory


def test_good_model_metadata(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"sha256": "ab", "sklearn_version": "1.9.1", "metrics": {}}))

    assert read_model_metadata(path)["sklearn_version"] == "1.9.1"


# DOCKER_HOST


@pytest.mark.parametrize(
    "value",
    [
        "tcp://127.0.0.1:notaport",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1",
        "tcp://",
        "ftp://host:1",
        "tcp://host:1?x=y",
    ],
)
def test_docker_host_is_checked(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_docker_host({"DOCKER_HOST": value})

    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("DOCKER_HOST ")


def test_a_password_in_docker_host_is_never_quoted() -> None:
    with pytest.raises(ConfigError) as caught:
        check_docker_host({"DOCKER_HOST": "tcp://user:PASSWORD@host:1"})

    assert "PASSWORD" not in caught.value.message + caught.value.hint


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", DEFAULT_DOCKER_HOST),
        ("unix://", DEFAULT_DOCKER_HOST),
        ("unix:///run/x/docker.sock", "unix:///run/x/docker.sock"),
        ("tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"),
        ("127.0.0.1:2375", "tcp://127.0.0.1:2375"),
        ("ssh://me@host", "ssh://me@host"),
        ("https://[::1]:2376", "https://[::1]:2376"),
    ],
)
def test_good_docker_hosts(value: str, expected: str) -> None:
    assert check_docker_host({"DOCKER_HOST": value}) == expected


def test_docker_host_is_refused_before_the_engine(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was exit 70, `ValueError: Port could not be cast to integer value as 'notaport'`.
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:notaport")

    result = run("smoke", "ml-service:1")

    assert result.exit_code == 2, result.output
    assert error_lines(result)[0] == (
        "error: DOCKER_HOST has a port that is not a number from 1 to 65535"
    )


def test_engine_failure_is_a_short_phrase() -> None:
    raw = ConnectionError(
        "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    )

    assert engine_failure(raw) == "its socket does not exist"
    assert engine_failure(RuntimeError("something else")) == "it did not answer"


# smoke: the reference and the timeout before the engine


@pytest.mark.parametrize(
    "image",
    [
        "",
        " ",
        "UPPER",
        "a b",
        "img:",
        "img:-tag",
        "img@sha256:abc",
        "-rm",
        "x" * 300,
        "a//b",
        "host:99999/img",
        "img:" + "t" * 129,
    ],
)
def test_bad_image_references(image: str) -> None:
    with pytest.raises(UsageError):
        check_reference(image)


@pytest.mark.parametrize(
    "image",
    [
        "ml-service",
        "ml-service:sha-1a2b3c4",
        "localhost:5000/team/img:v1.2.3",
        "us-central1-docker.pkg.dev/p/r/img@sha256:" + "a" * 64,
        "Registry.Example.com/a__b/c-d:T_1",
        "[::1]:5000/img:1",
        "sha256:" + "c" * 64,
        "0123456789ab",
    ],
)
def test_good_image_references(image: str) -> None:
    assert check_reference(image) == image


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf"), 3601.0])
def test_bad_timeouts(timeout: float) -> None:
    with pytest.raises(UsageError):
        check_timeout(timeout)


@pytest.mark.parametrize(
    "args",
    [
        ["smoke", ""],
        ["smoke", "NOT VALID"],
        ["smoke", "ml:1", "--timeout", "-5"],
        ["smoke", "ml:1", "--timeout", "nan"],
    ],
)
def test_smoke_refuses_before_the_engine(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    # An engine that cannot be reached: the refusal must come first.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    result = run(*args)

    assert result.exit_code == 2, result.output
    assert "engine" not in error_lines(result)[0]


# bump


def test_remote_without_push_is_refused(repo: Repo, run: Run) -> None:
    result = run("bump", "patch", "--remote", "upstream")

    assert result.exit_code == 2, result.output
    assert error_lines(result)[0] == "error: --remote names where to push, but --push is not given"
    assert repo.tags() == {}


@pytest.mark.parametrize("message", ["", "   ", "a\0b"])
def test_an_empty_message_is_refused(repo: Repo, run: Run, message: str) -> None:
    result = run("bump", "patch", "-m", message)

    assert result.exit_code == 2, result.output
    error_lines(result)
    assert repo.tags() == {}


def test_a_remote_name_that_looks_like_an_option_is_refused(repo: Repo, run: Run) -> None:
    result = run("bump", "patch", "--push", "--remote=--upload-pack=touch x")

    assert result.exit_code == 2, result.output
    assert not (repo.path / "x").exists()


@pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry-run", "real"])
def test_a_300_character_prerelease_is_refused_by_the_dry_run_too(
    repo: Repo, run: Run, dry_run: list[str]
) -> None:
    # The dry run approved a tag that the real run could not create.
    result = run("bump", "prerelease", "--pre", "a" * 300, *dry_run)

    assert result.exit_code == 2, result.output
    assert "is 309 bytes long" in error_lines(result)[0]
    assert repo.tags() == {}


def test_a_tag_on_a_tree_gets_a_hint_that_helps(repo: Repo, run: Run) -> None:
    tree = repo.git("rev-parse", "HEAD^{tree}")
    repo.git("tag", "v0.0.1", tree)

    result = run("bump", "patch", "--dry-run")

    assert result.exit_code == 3, result.output
    lines = error_lines(result)
    assert "points at no commit" in lines[0]
    assert lines[1] == "hint: remove or rename that tag (`git tag -d v0.0.1`), then rerun"
