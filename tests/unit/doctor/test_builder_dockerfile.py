"""The `dockerfile.*` checks read the Dockerfile the builder would build: `buildkit_dockerfile`
for BuildKit (named, or picked by `auto` where a docker CLI can run it), `dockerfile` for the
classic builder. BuildKit-only syntax fails only where the classic builder may build it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.doctor.conftest import DOCKERFILE, FILES, ServiceRepo

MOUNTED = DOCKERFILE.replace(
    "RUN pip install --user", "RUN --mount=type=cache,target=/root/.cache/pip pip install --user"
)
AS_ROOT = MOUNTED.replace("USER 10001\n", "USER root\n")


def _configure(
    service: ServiceRepo, *lines: str, buildkit_dockerfile: str | None = MOUNTED
) -> None:
    """Add `lines` to [tool.mlrelease] and write Dockerfile.buildkit (unless None)."""
    pyproject = FILES["pyproject.toml"].replace(
        '[tool.mlrelease]\nimage = "svc"\n',
        '[tool.mlrelease]\nimage = "svc"\n' + "".join(f"{line}\n" for line in lines),
    )
    service.write("pyproject.toml", pyproject)
    if buildkit_dockerfile is not None:
        service.write("Dockerfile.buildkit", buildkit_dockerfile)
    service.commit_all("a Dockerfile for BuildKit")


@pytest.fixture
def buildkit_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker CLI with BuildKit built in (a 20.10 client) reaching an engine: `auto` picks it."""
    cli = tmp_path / "bin" / "docker"
    cli.parent.mkdir()
    cli.write_text(
        '#!/bin/sh\nif [ "$1" = version ]; then echo "20.10.24|20.10.24|linux/amd64"; exit 0; fi\n'
        "exit 1\n"
    )
    cli.chmod(0o755)
    monkeypatch.setattr("mlrelease.build.builders._CANDIDATES", (str(cli),))
    return cli


@pytest.fixture
def no_buildkit_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlrelease.build.builders._CANDIDATES", ("/nonexistent/docker",))


def test_builder_buildkit_reads_buildkit_dockerfile(service: ServiceRepo) -> None:
    _configure(service, 'builder = "buildkit"', 'buildkit_dockerfile = "Dockerfile.buildkit"')

    present = service.check("dockerfile.present")
    syntax = service.check("dockerfile.buildkit")

    assert (present.status, present.finding) == (
        "ok",
        "Dockerfile.buildkit: 2 stage(s) (builder, runtime)",
    )
    assert syntax.status == "ok", syntax
    assert syntax.finding == (
        "Dockerfile.buildkit has BuildKit-only syntax (line 5: `RUN --mount`); only BuildKit "
        "builds it (builder = buildkit, from pyproject.toml [tool.mlrelease] builder)"
    )
    assert service.check("dockerfile.layer-order").status == "ok"  # the mounted install counts


def test_the_classic_builder_reads_dockerfile_whatever_buildkit_builds(
    service: ServiceRepo,
) -> None:
    _configure(
        service,
        'builder = "classic"',
        'buildkit_dockerfile = "Dockerfile.buildkit"',
        buildkit_dockerfile=AS_ROOT,
    )

    assert service.check("dockerfile.present").finding.startswith("Dockerfile: 2 stage(s)")
    assert service.check("dockerfile.user").status == "ok"
    assert service.check("dockerfile.buildkit").finding == "no BuildKit-only syntax"
    assert service.check("builder").finding.startswith(
        "classic: builder = classic (from pyproject.toml [tool.mlrelease] builder); no buildx; "
        "builds Dockerfile. "
    )


def test_auto_with_a_buildkit_cli_reads_buildkit_dockerfile_and_minds_the_fallback(
    service: ServiceRepo, buildkit_cli: Path
) -> None:
    _configure(service, 'buildkit_dockerfile = "Dockerfile.buildkit"', buildkit_dockerfile=AS_ROOT)

    builder = service.check("builder")
    user = service.check("dockerfile.user")
    syntax = service.check("dockerfile.buildkit")

    assert builder.status == "ok"
    assert builder.finding.startswith(
        f"buildkit: auto: a docker CLI can run BuildKit: {buildkit_cli}"
    )
    assert "; builds Dockerfile.buildkit (buildkit_dockerfile). " in builder.finding
    assert (user.status, user.finding) == ("fail", "line 13 (`USER root`) runs the service as root")
    assert syntax.status == "ok", syntax
    assert syntax.finding == (
        "Dockerfile.buildkit has BuildKit-only syntax (line 5: `RUN --mount`); only BuildKit "
        "builds it (auto picks BuildKit here, which builds `buildkit_dockerfile`); Dockerfile, "
        "which the classic builder builds where no docker CLI can run BuildKit, has none"
    )


def test_auto_without_a_buildkit_cli_reads_dockerfile(
    service: ServiceRepo, no_buildkit_cli: None
) -> None:
    _configure(service, 'buildkit_dockerfile = "Dockerfile.buildkit"', buildkit_dockerfile=AS_ROOT)

    assert service.check("builder").finding.startswith("classic: auto: no docker CLI can run")
    assert service.check("dockerfile.present").finding.startswith("Dockerfile: 2 stage(s)")
    assert service.check("dockerfile.user").status == "ok"
    assert service.check("dockerfile.buildkit").status == "ok"


def test_buildkit_only_syntax_in_the_classic_fallback_fails(
    service: ServiceRepo, buildkit_cli: Path
) -> None:
    _configure(service, 'buildkit_dockerfile = "Dockerfile.buildkit"')
    service.write("Dockerfile", MOUNTED)
    service.commit_all()

    check = service.check("dockerfile.buildkit")

    assert check.status == "fail"
    assert check.finding.endswith(
        "; BuildKit-only syntax in Dockerfile, which the classic builder (builder = auto, where "
        "no docker CLI can run BuildKit) builds and rejects: line 5: `RUN --mount`"
    )
    assert check.fix == (
        "drop `--mount=...` from line 5 (use `pip install --no-cache-dir`); BuildKit builds "
        "Dockerfile.buildkit (`buildkit_dockerfile`): that syntax belongs there"
    )


def test_auto_without_a_classic_fallback_fails(service: ServiceRepo, buildkit_cli: Path) -> None:
    _configure(service, 'buildkit_dockerfile = "Dockerfile.buildkit"')
    service.remove("Dockerfile")
    service.commit_all()

    check = service.check("dockerfile.buildkit")

    assert service.check("dockerfile.present").status == "ok"
    assert check.status == "fail"
    assert "; but no readable Dockerfile, which the classic builder builds where no docker CLI" in (
        check.finding
    )
    assert 'or set `builder = "buildkit"` in [tool.mlrelease]' in check.fix


def test_a_missing_buildkit_dockerfile_names_its_setting(service: ServiceRepo) -> None:
    _configure(
        service,
        'builder = "buildkit"',
        'buildkit_dockerfile = "Dockerfile.buildkit"',
        buildkit_dockerfile=None,
    )

    check = service.check("dockerfile.present")

    assert (check.status, check.finding) == ("fail", "no Dockerfile at Dockerfile.buildkit")
    assert check.fix.endswith("or set `buildkit_dockerfile` in [tool.mlrelease]")
