"""Output that cannot crash: closed, full and broken streams keep the documented exit codes;
`--version` honours `--json`; messages are short, with raw details under --verbose; secrets
are masked at the one output seam.

The stream cases run the installed console script in a child process, with its real file
descriptors closed, pointed at /dev/full or at a pipe nobody reads.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import Result

from mlrelease import __version__, secrets
from mlrelease.errors import EngineError, PreconditionError
from mlrelease.output.render import LINE_LIMIT, Output
from mlrelease.secrets import MASK, forget_secrets, redact, register_secret
from tests.unit.conftest import MLRELEASE, Repo

Run = Callable[..., Result]

needs_script = pytest.mark.skipif(not MLRELEASE.exists(), reason="console script not installed")


@pytest.fixture(autouse=True)
def no_registered_secrets() -> Iterator[None]:
    """Secrets registered here are gone afterwards, as they would be with the process."""
    yield
    forget_secrets()


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` in sh with `$M` the console script, e.g. `"$M" version >&-`."""
    return subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env={**os.environ, "M": str(MLRELEASE)},
        capture_output=True,
        text=True,
        check=False,
    )


@needs_script
def test_a_closed_stdout_is_written_to_nothing(repo: Repo) -> None:
    # Crashed at import on sys.stdout.isatty() (sys.stdout is None when fd 1 is closed).
    proc = shell('"$M" version >&-', repo.path)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr == f"no version tags yet; HEAD is {repo.head[:7]}\n"


@needs_script
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("--json config", 1),
        ("config", 1),
        ("--json bump nonsense", 2),
        ("version --json", 1),
        ("--help", 1),
    ],
)
def test_a_full_stdout_is_reported_on_stderr_with_the_exit_code(
    repo: Repo, args: str, code: int
) -> None:
    # Printed two chained OSError tracebacks and no envelope.
    proc = shell(f'"$M" {args} >/dev/full', repo.path)

    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    if code == 1:
        assert errors == ["error: cannot write the output to stdout: No space left on device"]
    else:  # the command's own error, which the envelope could not carry
        assert errors[0].startswith("error: Invalid value for 'PART'")
        assert errors[-1] == "error: cannot write the output to stdout: No space left on device"


@needs_script
@pytest.mark.parametrize(("args", "code"), [("version", 0), ("bump", 2), ("bump patch -m ''", 2)])
def test_a_closed_stderr_keeps_the_exit_code(repo: Repo, args: str, code: int) -> None:
    # A success became exit 1, and so did a usage error.
    proc = shell(f'"$M" {args} 2>&-', repo.path)

    assert proc.returncode == code, proc.stdout


@needs_script
@pytest.mark.parametrize(
    "args",
    [["config"], ["--json", "config"], ["version", "--verbose"], ["--help"], ["bump", "--help"]],
)
def test_a_broken_pipe_ends_quietly(repo: Repo, args: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as after `| head -0`
    try:
        proc = subprocess.run(
            [str(MLRELEASE), *args],
            cwd=repo.path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error" not in proc.stderr.lower()
    assert "Exception ignored" not in proc.stderr


@pytest.mark.parametrize("args", [["--json", "--version"], ["--version", "--json"]])
def test_version_flag_honours_json(run: Run, args: list[str]) -> None:
    result = run(*args)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "schema": 1,
        "command": None,
        "ok": True,
        "exit_code": 0,
        "data": {"name": "mlrelease", "version": __version__},
        "errors": [],
        "warnings": [],
    }


# Short messages, details on demand


def _engine_error() -> EngineError:
    raw = ConnectionError(
        "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /_ping "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno 111] Connection refused'))"
    )
    try:
        raise EngineError("the Docker engine does not answer: the connection was refused") from raw
    except EngineError as err:
        return err


def test_the_raw_cause_shows_only_with_verbose() -> None:
    quiet, loud = io.StringIO(), io.StringIO()

    Output(stderr=quiet).fail(_engine_error())
    Output(stderr=loud, verbose=True).fail(_engine_error())

    assert "HTTPConnectionPool" not in quiet.getvalue()
    assert len(quiet.getvalue().splitlines()) == 2
    detail = loud.getvalue().splitlines()[2]
    assert detail.startswith("detail: ConnectionError: HTTPConnectionPool(host='127.0.0.1'")


def test_the_raw_cause_is_in_the_envelope_only_with_verbose() -> None:
    quiet, loud = io.StringIO(), io.StringIO()

    Output(json_mode=True, stdout=quiet).fail(_engine_error())
    Output(json_mode=True, verbose=True, stdout=loud).fail(_engine_error())

    assert "detail" not in json.loads(quiet.getvalue())["errors"][0]
    assert "Connection refused" in json.loads(loud.getvalue())["errors"][0]["detail"]


def test_a_long_line_is_cut_unless_verbose(repo: Repo, run: Run) -> None:
    # `bump --dry-run -m <100 kB>` printed the whole message on one line.
    message = "x" * 100_000

    result = run("bump", "patch", "--dry-run", "-m", message)
    verbose = run("bump", "patch", "--dry-run", "-m", message, "--verbose")

    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stderr.splitlines()) < LINE_LIMIT + 80
    assert "more characters; --verbose shows all" in result.stderr
    assert message in verbose.stderr


def test_a_multi_line_message_stays_one_line() -> None:
    err = io.StringIO()

    Output(stderr=err).fail(PreconditionError("first\nsecond", hint="a\nb"))

    assert err.getvalue() == "error: first second\nhint: a b\n"


def test_an_unencodable_character_does_not_crash() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")

    Output(stderr=stream).fail(PreconditionError("caf\udce9 \u00e9", hint="h"))

    assert raw.getvalue() == b"error: caf\\udce9 \\xe9\nhint: h\n"


# Redaction at the seam


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://user:hunter2pass@example.com/x", "hunter2pass"),
        ("tcp://user:hunter2pass@host:1", "hunter2pass"),
        ("cannot reach user:hunter2pass@registry.local:5000/img", "hunter2pass"),
        ("Authorization: Bearer abc.DEF-123_xyz", "abc.DEF-123_xyz"),
        ("token ya29.a0AfH6SMBx-secret_part", "ya29.a0AfH6SMBx-secret_part"),
        ('{"access_token": "opaque-token-value", "x": 1}', "opaque-token-value"),
        (
            '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEv\\\\"Q\\n-----END PRIVATE KEY-----'
            '\\n", "client_email": "a@b"}',
            "MIIEv",
        ),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQ\n-----END RSA PRIVATE KEY-----", "MIIE"),
    ],
)
def test_redact_masks(text: str, secret: str) -> None:
    masked = redact(text)

    assert secret not in masked
    assert MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "ml-service:sha-1a2b3c4",
        "us-docker.pkg.dev/p/r/img:v1@sha256:" + "a" * 64,
        "img:v1@sha256:" + "b" * 64,
        "git@github.com:org/repo.git",
        "the tag v1.2.3 already exists",
        "author@example.com",
        "--member=serviceAccount:ci@p.iam.gserviceaccount.com --role=roles/x",
        "--member=group:team@example.com",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


# Pieces of the texts each pattern masks, whole matches among them, and their near misses.
_FRAGMENTS = st.sampled_from(
    [
        *'@:/?&=" \nxK\u212a\u017f',
        "https://",
        "user:pw@host",
        "user:",
        "pw",
        "token=",
        "?X-Amz-Signature=abc",
        "Bearer abc",
        "basic ",
        "ya29.tok",
        "access_token",
        '"id_token": "v"',
        "Client_Secret=",
        "passwd",
        "PASSWORD",
        '"private_key": "',
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "serviceAccount:",
        "sha256:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS | st.text(max_size=3), max_size=10).map("".join))
def test_a_pattern_is_skipped_only_where_it_could_not_match(text: str) -> None:
    """The needles that let redact skip a pattern never change what it masks."""
    unguarded = text
    for _, pattern, flags, replacement in secrets._RULES:
        unguarded = re.compile(pattern, flags).sub(replacement, unguarded)

    assert redact(text) == unguarded


def test_a_registered_secret_is_masked_in_every_form() -> None:
    key = json.dumps({"type": "service_account", "private_key_id": "kid-0123456789abcdef"})
    register_secret(key)

    assert redact(f"bad key {key}") == f"bad key {MASK}"
    assert "kid-0123456789abcdef" not in redact("key id kid-0123456789abcdef rejected")
    assert "kid-0123456789abcdef" not in redact(repr(key))


def test_every_stream_and_file_goes_through_redaction(tmp_path: Path) -> None:
    register_secret("canary-Zq8LrT5vW")
    out, err = io.StringIO(), io.StringIO()
    output = Output(stdout=out, stderr=err, verbose=True, env={})

    output.data("data canary-Zq8LrT5vW")
    output.note("note canary-Zq8LrT5vW")
    output.warn("warn canary-Zq8LrT5vW")
    output.fail(PreconditionError("msg canary-Zq8LrT5vW", hint="hint canary-Zq8LrT5vW"))
    try:
        raise PreconditionError("x") from ValueError("cause canary-Zq8LrT5vW")
    except PreconditionError as caught:
        output.fail(caught)
        output.traceback(caught)

    assert "canary-Zq8LrT5vW" not in out.getvalue() + err.getvalue()
    assert out.getvalue().count(MASK) == 1
    assert err.getvalue().count(MASK) >= 6


@pytest.mark.parametrize("secret", ["schema", '", "ok', "errors", "exit_code"])
def test_a_secret_that_looks_like_json_does_not_break_the_envelope(secret: str) -> None:
    # Found by the property tests: GCP_SA_KEY=schema masked the envelope's own key.
    register_secret(secret)
    out = io.StringIO()

    Output(json_mode=True, stdout=out).fail(PreconditionError(f"bad {secret}", hint="h"))

    envelope = json.loads(out.getvalue())
    assert set(envelope) == {"schema", "command", "ok", "exit_code", "data", "errors", "warnings"}
    assert envelope["errors"][0]["message"] == f"bad {MASK}"
