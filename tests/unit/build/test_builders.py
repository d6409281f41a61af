"""The builder choice and the BuildKit command line, without an engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from mlrelease.build.builders import (
    BuildKitCli,
    build_secrets,
    check_classic,
    choose_builder,
    find_buildkit_cli,
    has_builtin_buildkit,
)
from mlrelease.build.buildkit import (
    BuildKitLog,
    BuildKitRequest,
    check_request,
    command_line,
    logged_form,
)
from mlrelease.build.image import check_build_inputs
from mlrelease.config.keys import build_secrets as parse_secrets
from mlrelease.errors import BuildKitSyntax, ConfigError, PreconditionError
from mlrelease.results.build import BuildResult

PLAIN = BuildKitCli("/usr/bin/docker", "20.10.24", "20.10.24", "linux/amd64")
BUILDX = BuildKitCli("/usr/bin/docker", "27.1.0", "27.1.0", "linux/amd64", "v0.16.2", "docker")
BUILDX_CONTAINER = BuildKitCli(
    "/usr/bin/docker", "27.1.0", "27.1.0", "linux/amd64", "v0.16.2", "docker-container"
)


def _request(**changes: object) -> BuildKitRequest:
    fields: dict[str, object] = {
        "context": Path("/src"),
        "dockerfile": "/src/Dockerfile",
        "tags": ("svc:sha-1234567", "svc:v1.2.3"),
        "iidfile": Path("/tmp/x/iid"),
        "metadata_file": Path("/tmp/x/metadata.json"),
    }
    fields.update(changes)
    return BuildKitRequest(**fields)  # type: ignore[arg-type]


def test_the_plain_cli_runs_docker_build_with_buildkit_switched_on() -> None:
    argv, env = command_line(
        _request(
            buildargs={"PYTHON_IMAGE": "base:1"},
            labels={"org.opencontainers.image.revision": "abc"},
            target="runtime",
            network="host",
            no_cache=True,
            cache_from=("reg/svc:cache", "type=registry,ref=reg/svc:main"),
            cache_to=("type=inline",),
            secrets=(("pip_conf", "/home/me/pip.conf"),),
            platform="linux/amd64",
        ),
        PLAIN,
    )

    assert env == {"DOCKER_BUILDKIT": "1"}
    assert argv == [
        "/usr/bin/docker", "build", "--progress", "plain", "--iidfile", "/tmp/x/iid",
        "-f", "/src/Dockerfile", "-t", "svc:sha-1234567", "-t", "svc:v1.2.3",
        "--build-arg", "PYTHON_IMAGE=base:1", "--build-arg", "BUILDKIT_INLINE_CACHE=1",
        "--label", "org.opencontainers.image.revision=abc",
        "--target", "runtime", "--network", "host", "--no-cache",
        "--cache-from", "reg/svc:cache", "--cache-from", "reg/svc:main",
        "--secret", "id=pip_conf,src=/home/me/pip.conf",
        "--platform", "linux/amd64", "/src",
    ]  # fmt: skip


def test_buildx_loads_one_image_without_attestations_and_writes_metadata() -> None:
    argv, env = command_line(
        _request(cache_to=("type=gha,mode=max",), cache_from=("type=gha",)), BUILDX_CONTAINER
    )

    assert env == {}
    assert argv[:5] == ["/usr/bin/docker", "buildx", "build", "--load", "--provenance=false"]
    assert argv[argv.index("--metadata-file") + 1] == "/tmp/x/metadata.json"
    assert argv[argv.index("--cache-to") + 1] == "type=gha,mode=max"
    assert argv[argv.index("--cache-from") + 1] == "type=gha"
    assert "--iidfile" in argv and argv[-1] == "/src"


def test_the_plain_cli_gets_no_metadata_file_it_does_not_know() -> None:
    argv, _ = command_line(_request(), PLAIN)

    assert "--metadata-file" not in argv and "--load" not in argv


def test_the_logged_form_names_a_secret_but_never_its_source() -> None:
    argv, env = command_line(_request(secrets=(("pip_conf", "/home/me/.pip/token.conf"),)), PLAIN)

    shown = logged_form(argv, env)

    assert "--secret id=pip_conf " in shown
    assert "token.conf" not in shown and "src=" not in shown
    assert shown.startswith("DOCKER_BUILDKIT=1 /usr/bin/docker build")


@pytest.mark.parametrize(
    ("cli", "cache_to", "says"),
    [
        (PLAIN, "type=registry,ref=reg/svc:cache", "built-in BuildKit has no --cache-to"),
        (PLAIN, "type=gha", "built-in BuildKit has no --cache-to"),
        (PLAIN, "type=local,dest=/tmp/cache", "built-in BuildKit has no --cache-to"),
        (BUILDX, "type=registry,ref=reg/svc:cache", "docker driver exports only the inline"),
    ],
)
def test_a_cache_export_the_driver_cannot_write_is_refused(
    cli: BuildKitCli, cache_to: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=says) as raised:
        check_request(_request(cache_to=(cache_to,)), cli)

    assert raised.value.exit_code == 2
    assert "type=inline" in raised.value.hint


def test_every_cache_type_is_accepted_by_a_docker_container_builder() -> None:
    check_request(
        _request(
            cache_to=("type=registry,ref=r/s:c", "type=gha", "type=inline", "type=local,dest=d"),
            cache_from=("type=local,src=d", "type=gha", "r/s:c"),
        ),
        BUILDX_CONTAINER,
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("type=s3,bucket=b", "unknown cache type 's3'"),
        ("type=registry", "type=registry needs ref="),
        ("type=local", "type=local needs dest="),
    ],
)
def test_a_malformed_cache_spec_names_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        check_request(_request(cache_to=(spec,)), BUILDX_CONTAINER)


def test_the_plain_cli_reads_only_image_caches() -> None:
    with pytest.raises(ConfigError, match="reads only image"):
        check_request(_request(cache_from=("type=gha",)), PLAIN)


def test_another_platform_is_refused_by_the_docker_driver() -> None:
    with pytest.raises(ConfigError, match="builds only the engine's platform, linux/amd64"):
        check_request(_request(platform="linux/arm64"), PLAIN)
    with pytest.raises(ConfigError, match="only the engine's platform"):
        check_request(_request(platform="linux/arm64"), BUILDX)
    check_request(_request(platform="linux/arm64"), BUILDX_CONTAINER)
    check_request(_request(platform="linux/amd64"), PLAIN)


def test_several_platforms_cannot_be_loaded_into_the_engine() -> None:
    with pytest.raises(ConfigError, match="multi-platform image cannot be loaded"):
        check_request(_request(platform="linux/amd64,linux/arm64"), BUILDX_CONTAINER)


def test_the_classic_builder_refuses_what_only_buildkit_does() -> None:
    check_classic(cache_from=("svc:previous",), cache_to=(), secrets=False, platform=None)
    for kwargs in (
        {"cache_to": ("type=inline",)},
        {"cache_from": ("type=gha",)},
        {"secrets": True},
        {"platform": "linux/amd64"},
    ):
        arguments: dict[str, object] = {
            "cache_from": (),
            "cache_to": (),
            "secrets": False,
            "platform": None,
            **kwargs,
        }
        with pytest.raises(ConfigError, match="needs BuildKit") as raised:
            check_classic(**arguments)  # type: ignore[arg-type]
        assert "--builder buildkit" in raised.value.hint


def test_buildkit_only_syntax_is_refused_by_classic_and_accepted_by_buildkit(
    tmp_path: Path,
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM base\nRUN --mount=type=secret,id=pip_conf true\n")

    with pytest.raises(BuildKitSyntax, match="Dockerfile line 2") as raised:
        check_build_inputs(tmp_path, dockerfile)
    assert raised.value.exit_code == 2
    assert "--builder buildkit" in raised.value.hint
    check_build_inputs(tmp_path, dockerfile, "buildkit")


class FakeClis:
    """Each fake CLI answers `version` and `buildx ...` as a real one of its kind would."""

    def __init__(self, answers: Mapping[str, Mapping[str, tuple[int, str]]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, command: Sequence[str], env: Mapping[str, str]) -> tuple[int, str]:
        self.calls.append(list(command))
        assert Path(env["DOCKER_CONFIG"]).is_dir()
        return self.answers[Path(command[0]).name].get(" ".join(command[1:2]), (1, "unknown"))


def _clis(tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        paths.append(str(path))
    return paths


ENGINE = "|20.10.24|linux/amd64"
ANSWERS = {
    "docker28": {"version": (0, "28.2.2" + ENGINE)},
    "docker20": {"version": (0, "20.10.24" + ENGINE)},
    "buildx": {
        "version": (0, "27.1.0" + ENGINE),
        "buildx": (0, "github.com/docker/buildx v0.16.2 abc"),
    },
    "elsewhere": {"version": (1, "28.2.2||/")},
}


def test_buildx_is_preferred_to_a_built_in_buildkit(tmp_path: Path) -> None:
    run = FakeClis(ANSWERS)
    cli, notes = find_buildkit_cli(
        {"PATH": ""}, run, _clis(tmp_path, "docker28", "docker20", "buildx")
    )

    assert cli is not None and cli.buildx_version == "v0.16.2"
    assert Path(cli.path).name == "buildx" and cli.driver == "docker"
    assert "client 28.2.2 has no buildx plugin and no built-in BuildKit" in notes[0]


def test_auto_picks_the_20_10_cli_when_there_is_no_buildx(tmp_path: Path) -> None:
    run = FakeClis(ANSWERS)
    paths = _clis(tmp_path, "elsewhere", "docker28", "docker20")
    cli, notes = find_buildkit_cli({"PATH": ""}, run, paths)

    assert cli is not None and Path(cli.path).name == "docker20"
    assert cli.buildx_version is None and cli.engine_platform == "linux/amd64"
    assert "does not reach the engine" in notes[0]


def test_auto_falls_back_to_classic_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "mlrelease.build.builders._CANDIDATES", ("/nonexistent/docker",), raising=True
    )
    choice = choose_builder("auto", "default", {"PATH": ""}, FakeClis({}))

    assert choice.name == "classic" and choice.cli is None
    assert "no docker CLI can run BuildKit" in choice.reason


def test_buildkit_without_a_cli_is_a_precondition(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlrelease.build.builders._CANDIDATES", ("/nonexistent/docker",))

    with pytest.raises(PreconditionError, match="builder buildkit \\(from flag --builder\\)"):
        choose_builder("buildkit", "flag --builder", {"PATH": ""}, FakeClis({}))


def test_classic_asks_no_cli() -> None:
    run = FakeClis({})
    assert choose_builder("classic", "default", {}, run).name == "classic"
    assert run.calls == []


@pytest.mark.parametrize(
    ("version", "built_in"),
    [("18.09.1", True), ("20.10.24+dfsg1", True), ("22.06.0", True), ("23.0.0", False),
     ("28.2.2", False), ("17.12.0", False), ("?", False)],
)  # fmt: skip
def test_which_clients_have_buildkit_built_in(version: str, built_in: bool) -> None:
    assert has_builtin_buildkit(version) is built_in


def test_secrets_parse_from_strings_a_table_and_a_variable() -> None:
    expected = (("pip_conf", "pip.conf"), ("npm", "/etc/npmrc"))
    assert parse_secrets(["id=pip_conf,src=pip.conf", "id=npm,src=/etc/npmrc"]) == expected
    assert parse_secrets({"pip_conf": "pip.conf", "npm": "/etc/npmrc"}) == expected
    assert parse_secrets("id=pip_conf,src=pip.conf; id=npm,src=/etc/npmrc") == expected
    for bad in (["id=x"], ["id=a b,src=f"], [3], 5):
        with pytest.raises(ValueError):
            parse_secrets(bad)


def test_a_secret_whose_source_is_missing_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pip.conf").write_text("[global]\n")

    assert build_secrets([("pip_conf", "pip.conf")], tmp_path, "flag --secret") == (
        ("pip_conf", str(tmp_path / "pip.conf")),
    )
    with pytest.raises(ConfigError, match="'npm' \\(from flag --secret\\) has no source") as e:
        build_secrets([("npm", "missing.npmrc")], tmp_path, "flag --secret")
    assert e.value.exit_code == 2


PLAIN_LOG = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#4 [b 1/2] FROM docker.io/mlrelease-base/python:3.11-slim
#4 DONE 0.0s
#5 [b 2/2] RUN echo hi > /x
#5 CACHED
#6 [stage-1 2/3] COPY --from=b /x /x
#6 CACHED
#7 [stage-1 3/3] RUN echo bad && exit 3
#7 0.055 bad
#7 ERROR: executor failed running [/bin/sh -c echo bad && exit 3]: exit code: 3
------
 > [stage-1 3/3] RUN echo bad && exit 3:
------"""


def test_the_plain_progress_gives_steps_cached_steps_and_the_failing_step() -> None:
    steps = BuildKitLog()
    for line in PLAIN_LOG.splitlines():
        steps.read(line)

    assert steps.numbered() == (5, (2, 4))
    assert steps.failed == (
        "[stage-1 3/3] RUN echo bad && exit 3",
        "executor failed running [/bin/sh -c echo bad && exit 3]: exit code: 3",
    )


def test_a_from_labelled_by_another_build_on_the_engine_adds_no_stage() -> None:
    # Seen with a four-step build of the same base running at once: the shared FROM vertex
    # carried that build's label.
    log = """\
#4 [1/4] FROM docker.io/mlrelease-base/python:3.11-slim
#4 CACHED
#5 [builder 2/2] RUN echo built > /built.txt
#6 [stage-1 2/4] COPY --from=builder /built.txt /built.txt
#8 [stage-1 3/4] COPY app.py /app/app.py
#8 CACHED
#9 [stage-1 4/4] RUN python -c "print('ok')"
"""
    steps = BuildKitLog()
    for line in log.splitlines():
        steps.read(line)

    assert steps.numbered() == (6, (5,))


def test_a_stage_of_from_alone_counts_its_step() -> None:
    steps = BuildKitLog()
    for line in ("#3 [base 1/1] FROM docker.io/library/busybox", "#5 [stage-1 2/2] RUN true"):
        steps.read(line)

    assert steps.numbered() == (3, ())


def test_the_result_names_its_builder() -> None:
    result = BuildResult(image_id="sha256:1", tags=("s:t",), size_bytes=1, steps=1, cached_steps=())

    assert result.to_data()["builder"] == "classic"


FAKE_CLI = """#!/bin/sh
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--iidfile" ]; then printf 'sha256:abc' > "$2"; fi
  shift
done
echo "#4 [1/2] FROM docker.io/library/base"
echo "#4 CACHED"
echo "#5 [2/2] RUN make"
echo "#5 0.1 $DOCKER_BUILDKIT $DOCKER_CONFIG"
"""


def _fake_cli(tmp_path: Path, tail: str) -> BuildKitCli:
    script = tmp_path / "docker"
    script.write_text(FAKE_CLI + tail)
    script.chmod(0o755)
    return BuildKitCli(str(script), "20.10.24", "20.10.24", "linux/amd64", user_config="/none")


def test_a_build_gives_the_iidfile_image_and_its_steps(tmp_path: Path) -> None:
    from mlrelease.build.buildkit import run_build

    log: list[str] = []
    request = _request(iidfile=tmp_path / "iid", secrets=(("pip_conf", "/secret/pip.conf"),))

    image_id, steps, cached = run_build(
        request, _fake_cli(tmp_path, "exit 0\n"), on_log=log.append, timeout=30
    )

    assert (image_id, steps, cached) == ("sha256:abc", 2, (1,))
    assert log[0].startswith("$ DOCKER_BUILDKIT=1 ") and "/secret/pip.conf" not in log[0]
    buildkit, config = log[-1].split()[2:]
    assert buildkit == "1" and config.startswith(_config_prefix())


def _config_prefix() -> str:
    import tempfile

    return str(Path(tempfile.gettempdir()) / "mlrelease-docker-config-")


def test_a_failed_step_is_a_build_error_naming_it_with_the_last_lines(tmp_path: Path) -> None:
    from mlrelease.build.buildkit import run_build
    from mlrelease.errors import BuildError

    cli = _fake_cli(tmp_path, 'echo "#5 ERROR: executor failed: exit code: 2"\nexit 1\n')

    with pytest.raises(BuildError, match=r"at step \[2/2\] RUN make: executor failed") as raised:
        run_build(_request(iidfile=tmp_path / "iid"), cli, on_log=lambda line: None, timeout=30)

    assert raised.value.exit_code == 1
    assert raised.value.data is not None and raised.value.data["step"] == "[2/2] RUN make"
    assert raised.value.data["log_tail"][-1] == "#5 ERROR: executor failed: exit code: 2"


def test_a_build_over_its_time_is_stopped(tmp_path: Path) -> None:
    from mlrelease.build.buildkit import run_build
    from mlrelease.errors import BuildError

    cli = _fake_cli(tmp_path, "sleep 30\n")

    with pytest.raises(BuildError, match="did not finish within 1 s"):
        run_build(_request(iidfile=tmp_path / "iid"), cli, on_log=lambda line: None, timeout=1)


class _PlainOutput:
    verbose = False

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def live_console(self) -> None:
        return None

    def note(self, text: str, level: str = "info") -> None:
        self.lines.append((level, text))

    def build_log(self, line: str) -> None:
        self.lines.append(("info" if line.startswith("Step ") else "detail", line))


def test_plain_progress_shows_buildkit_steps_and_hides_their_output() -> None:
    from mlrelease.output.progress import build_progress

    out = _PlainOutput()
    with build_progress(out) as on_log:  # type: ignore[arg-type]
        for line in PLAIN_LOG.splitlines():
            on_log(line)

    shown = [text for level, text in out.lines if level == "info"]
    assert shown == [
        "#4 [b 1/2] FROM docker.io/mlrelease-base/python:3.11-slim",
        "#5 [b 2/2] RUN echo hi > /x",
        "#5 CACHED",
        "#6 [stage-1 2/3] COPY --from=b /x /x",
        "#6 CACHED",
        "#7 [stage-1 3/3] RUN echo bad && exit 3",
        "#7 ERROR: executor failed running [/bin/sh -c echo bad && exit 3]: exit code: 3",
    ]


def test_doctor_says_which_builder_and_why(tmp_path: Path) -> None:
    from mlrelease.config.settings import load_settings
    from mlrelease.doctor.builder import check_builder
    from mlrelease.doctor.frame import Project

    settings = load_settings(tmp_path, env={"MLRELEASE_BUILDER": "classic"})

    outcome = check_builder(Project(tmp_path, settings))

    assert outcome.status == "ok"
    assert outcome.finding.startswith("classic: builder = classic (from env MLRELEASE_BUILDER)")
    assert "type=gha" in outcome.finding
