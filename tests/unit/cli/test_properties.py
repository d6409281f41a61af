"""Property-based tests: whatever the settings and arguments, the CLI answers as documented.

Generated values for every configuration key (from pyproject.toml, the environment and flags)
and generated argument lists for every command. For each: never exit 70 (a bug), never a
traceback (MLRELEASE_DEBUG is unset), an exit code from the documented table, and under
--json exactly one valid envelope on stdout.

The default run is bounded (`PROFILE`: 500 settings cases, 1500 argument lists, about 15 s);
`MLRELEASE_HYPOTHESIS=thorough` runs eight times as many, and `MLRELEASE_HYPOTHESIS_EXAMPLES=N`
sets the default run's count. The engine is pointed at a socket that does not exist, so
commands that get past validation fail fast with exit 5 instead of building anything.
"""

from __future__ import annotations

import json
import os
import string
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from mlrelease.cli.app import app
from mlrelease.config.keys import KEYS
from mlrelease.errors import ExitCode
from mlrelease.secrets import forget_secrets
from tests.unit.conftest import Repo

settings.register_profile(
    "default-run",
    max_examples=int(os.environ.get("MLRELEASE_HYPOTHESIS_EXAMPLES", "500")),
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("default-run"),
    max_examples=4000,
)
PROFILE = os.environ.get("MLRELEASE_HYPOTHESIS", "default-run")

DOCUMENTED = {int(code) for code in ExitCode} - {int(ExitCode.INTERNAL)}
ROOT = typer.main.get_command(app)
NO_ENGINE = "unix:///nonexistent/mlrelease-test/docker.sock"
ENVELOPE_KEYS = {"schema", "command", "ok", "exit_code", "data", "errors", "warnings"}


def check_answer(result: Result, *, json_mode: bool) -> None:
    """The properties every invocation must have."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.output)
    assert "Traceback" not in result.stderr, result.stderr
    if json_mode:
        envelope = json.loads(result.stdout)
        assert set(envelope) == ENVELOPE_KEYS
        assert envelope["schema"] == 1
        assert envelope["exit_code"] == result.exit_code
        assert envelope["ok"] is (result.exit_code == 0)
        assert isinstance(envelope["errors"], list)
        for error in envelope["errors"]:
            assert {"code", "message", "hint"} <= set(error)
            assert all(isinstance(error[key], str) for key in ("code", "message", "hint"))
        if result.exit_code != 0 and envelope["data"] is None:
            assert envelope["errors"], envelope
    elif result.exit_code not in (0, int(ExitCode.INTERRUPTED)) and result.stderr:
        lines = result.stderr.splitlines()
        assert any(line.startswith("error: ") for line in lines), result.stderr
        assert any(line.startswith("hint: ") for line in lines), result.stderr


def invoke(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    forget_secrets()  # as in a fresh process: what an earlier case registered is gone
    runner = CliRunner()
    merged: dict[str, str | None] = {"DOCKER_HOST": NO_ENGINE, "MLRELEASE_DEBUG": None}
    merged.update(env or {})
    return runner.invoke(app, args, env=merged, catch_exceptions=True, prog_name="mlrelease")


# Values a setting might be given, typed by people, scripts or CI systems.

_texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.ascii_letters + string.digits + ".:/-_@[]", max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "9" * 400,
            "-" + "9" * 400,
            "nan",
            "inf",
            "-0",
            "1e999",
            "0x10",
            "https://user:pw@host",
            "http://host:99999",
            "http://[::1",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "a" * 300,
            "ml-service",
            "us-central1",
            "1.5",
            "a,b,,c",
            "\u00e9",
            "x\ty",
        ]
    ),
)
# Environment values cannot hold NUL; on POSIX they are bytes, which a surrogate stands for.
_env_texts = _texts.map(lambda text: text.replace("\0", ""))


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a TOML basic string, except for surrogates (a TOML error too)


_toml_scalars = st.one_of(
    _texts.map(_toml_string),
    st.integers().map(str),
    st.sampled_from(["9" * 400, "-" + "9" * 400, "nan", "inf", "-inf", "0", "1e308", "1e-308"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.booleans().map(lambda value: "true" if value else "false"),
    st.sampled_from(["1979-05-27T07:32:00Z", "07:32:00", "{ a = 1 }", "[]", "[[1], 'x']"]),
)
_toml_values = st.one_of(
    _toml_scalars,
    st.lists(_toml_scalars, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
)


def _key_sources(spec_name: str) -> list[str]:
    spec = next(spec for spec in KEYS if spec.name == spec_name)
    return ["toml", spec.env, *spec.aliases]


_CONFIG_FLAGS = {
    name: param.opts[0]
    for name, param in (
        (param.name, param)
        for param in ROOT.get_command(None, "config").params  # type: ignore[attr-defined]
    )
    if param.param_type_name == "option"
}


@st.composite
def _settings_cases(draw: st.DrawFn) -> tuple[str, dict[str, str], list[str]]:
    """(pyproject.toml body, environment, config flags) with some keys given odd values."""
    toml_lines: list[str] = []
    env: dict[str, str] = {}
    for spec in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique_by=lambda s: s.name)):
        source = draw(st.sampled_from(_key_sources(spec.name)))
        if source == "toml":
            toml_lines.append(f"{spec.name} = {draw(_toml_values)}")
        else:
            env[source] = draw(_env_texts)
    flags: list[str] = []
    for flag in draw(st.lists(st.sampled_from(sorted(_CONFIG_FLAGS.values())), max_size=2)):
        flags += [flag, draw(_texts)]
    body = "[tool.mlrelease]\n" + "\n".join(toml_lines) + "\n"
    if draw(st.integers(0, 9)) == 0:  # now and then a file that is not even TOML or UTF-8
        body = draw(st.sampled_from(["[tool.mlrelease\n", "\udcff", "[tool]\nmlrelease = 1\n"]))
    return body, env, flags


@pytest.fixture
def tagged(repo: Repo) -> Repo:
    repo.tag("v1.2.3")
    repo.commit()
    return repo


@settings(settings.get_profile(PROFILE))
@given(case=_settings_cases(), command=st.sampled_from(["config", "build", "smoke"]))
def test_any_setting_from_any_source(
    tagged: Repo, case: tuple[str, dict[str, str], list[str]], command: str
) -> None:
    body, env, flags = case
    (tagged.path / "pyproject.toml").write_bytes(body.encode("utf-8", "surrogateescape"))
    args = ["--json", command, *(flags if command == "config" else [])]

    check_answer(invoke(args, dict(env)), json_mode=True)
    check_answer(invoke(args[1:], dict(env)), json_mode=False)


# Argument lists for every command, drawn from what the commands accept and from noise.


def _vocabulary() -> list[str]:
    words = {"--", "-", "--help", "--json", "--verbose", "-v", "--version", "--no-such-option"}
    for name, command in ((n, ROOT.get_command(None, n)) for n in ROOT.list_commands(None)):  # type: ignore[attr-defined]
        words.add(name)
        for param in command.params:
            words.update(getattr(param, "opts", []))
            choices = getattr(param.type, "choices", None)
            if choices:
                words.update(str(choice) for choice in choices)
    words.discard("--help")  # help is static text, not an answer to check
    return sorted(words)


_tokens = st.one_of(
    st.sampled_from(_vocabulary()),
    _texts,
    st.sampled_from(["patch", "minor", "prerelease", "rc", "0", "-1", "nan", "1e9", "a" * 300]),
)


@st.composite
def _argument_lists(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(ROOT.list_commands(None)))  # type: ignore[attr-defined]
    tokens = draw(st.lists(_tokens, max_size=6))
    position = draw(st.integers(0, len(tokens)))
    return [*tokens[:position], command, *tokens[position:]]


@settings(
    settings.get_profile(PROFILE), max_examples=settings.get_profile(PROFILE).max_examples * 3
)
@given(args=_argument_lists())
def test_any_argument_list(tagged: Repo, args: list[str]) -> None:
    before_dashes = args[: args.index("--")] if "--" in args else args
    if "--help" in before_dashes or "-h" in before_dashes:
        return
    # `--json` is global unless it is the value of a command's option (`push --attempts --json`)
    hoisted, _ = ROOT._split_global_options(list(args))  # type: ignore[attr-defined]
    json_mode = "--json" in hoisted

    check_answer(invoke(args), json_mode=json_mode)


def test_the_properties_catch_an_internal_error(
    tagged: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check itself must be able to fail: a crash in a core function is exit 70.

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    from mlrelease.versions import bump

    monkeypatch.setattr(bump, "describe", crash)

    with pytest.raises(AssertionError):
        check_answer(invoke(["--json", "version"]), json_mode=True)
