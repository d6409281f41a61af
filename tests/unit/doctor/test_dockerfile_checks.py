"""`dockerfile.*`: each rule broken alone in the fixture service, with the fix it names."""

from __future__ import annotations

from mlrelease.doctor import diagnose
from tests.unit.doctor.conftest import DOCKERFILE, ServiceRepo


def _dockerfile(service: ServiceRepo, old: str, new: str) -> None:
    assert old in DOCKERFILE
    service.write("Dockerfile", DOCKERFILE.replace(old, new))
    service.commit_all("break the Dockerfile")


def test_missing_dockerfile_fails_and_the_other_rules_skip(service: ServiceRepo) -> None:
    service.remove("Dockerfile")
    service.commit_all()

    report = diagnose(service.path, only=["dockerfile"], offline=True)

    present, *others = report.checks
    assert (present.id, present.status) == ("dockerfile.present", "fail")
    assert present.finding == "no Dockerfile at Dockerfile"
    assert "or set `dockerfile` in [tool.mlrelease]" in present.fix
    assert {check.status for check in others} == {"skip"}
    assert {check.finding for check in others} == {
        "no readable Dockerfile (see dockerfile.present)"
    }


def test_a_dockerfile_without_from_fails(service: ServiceRepo) -> None:
    service.write("Dockerfile", "RUN echo no base\n")
    service.commit_all()

    check = service.check("dockerfile.present")

    assert check.status == "fail"
    assert check.finding == "Dockerfile is not a readable UTF-8 Dockerfile with a FROM instruction"


def test_a_single_stage_warns(service: ServiceRepo) -> None:
    service.write(
        "Dockerfile",
        "FROM python:3.11-slim\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY service/model/ service/model/\n"
        "COPY service/*.py service/\n"
        "USER 10001\n",
    )
    service.commit_all()

    check = service.check("dockerfile.multi-stage")

    assert check.status == "warn"
    assert check.finding.startswith("one stage only (FROM at line 1)")
    assert check.fix.startswith(
        "split it into a builder that installs the requirements into a virtualenv in /opt/venv "
        "and a runtime that copies it, non-root; replace Dockerfile with:\n"
    )
    assert service.check("dockerfile.layer-order").status == "ok"  # only the one fault


def test_a_full_runtime_base_warns_with_the_slim_tag(service: ServiceRepo) -> None:
    _dockerfile(service, "FROM ${PYTHON_IMAGE} AS runtime", "FROM python:3.11-bookworm AS runtime")

    check = service.check("dockerfile.slim-base")

    assert check.status == "warn"
    assert check.finding.startswith(
        "runtime base python:3.11-bookworm (FROM at line 7) is not a slim variant"
    )
    assert check.fix == "use python:3.11-slim-bookworm (FROM at line 7)"


def test_the_slim_base_is_resolved_as_mlrelease_build_passes_it(
    service: ServiceRepo, monkeypatch
) -> None:
    monkeypatch.setenv("MLRELEASE_BASE_IMAGE", "registry.local:5000/python:3.11")

    check = service.check("dockerfile.slim-base")

    assert check.status == "warn"
    assert "runtime base registry.local:5000/python:3.11 (`base_image` setting from env " in (
        check.finding
    )
    assert check.fix.startswith("use registry.local:5000/python:3.11-slim (")


def test_code_copied_before_the_install_names_the_line_to_move(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "COPY requirements.txt /tmp/requirements.txt\n",
        "COPY requirements.txt /tmp/requirements.txt\nCOPY service/ /src/service/\n",
    )

    check = service.check("dockerfile.layer-order")

    assert check.status == "fail"
    assert check.finding == (
        "line 5 copies application code before line 6 installs the requirements: every code "
        "change reinstalls them"
    )
    assert check.fix == (
        "move line 6 (`RUN pip install --user --no-cache-dir -r /tmp/requirements.txt`) "
        "above line 5 (`COPY service/ /src/service/`)"
    )


def test_requirements_copied_with_the_code_need_their_own_copy(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "COPY requirements.txt /tmp/requirements.txt\n"
        "RUN pip install --user --no-cache-dir -r /tmp/requirements.txt\n",
        "COPY . /tmp\nRUN pip install --user --no-cache-dir -r /tmp/requirements.txt\n",
    )

    check = service.check("dockerfile.layer-order")

    assert check.status == "fail"
    assert check.fix == (
        "add `COPY requirements.txt /tmp/requirements.txt` above line 4 (`COPY . /tmp`) and "
        "move line 5 (`RUN pip install --user --no-cache-dir -r /tmp/requirements.txt`) "
        "above line 4 (`COPY . /tmp`)"
    )


def test_runtime_copying_code_before_the_packages_fails(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "COPY --from=builder /root/.local /root/.local\nWORKDIR /app\n",
        "WORKDIR /app\nCOPY service/app.py service/\n"
        "COPY --from=builder /root/.local /root/.local\n",
    )

    check = service.check("dockerfile.layer-order")

    assert check.status == "fail"
    assert check.fix == (
        "move line 11 (`COPY --from=builder /root/.local /root/.local`) "
        "above line 10 (`COPY service/app.py service/`)"
    )


def test_requirements_never_installed_fails(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "RUN pip install --user --no-cache-dir -r /tmp/requirements.txt\n",
        "RUN pip install --user --no-cache-dir fastapi==0.110.0\n",
    )

    check = service.check("dockerfile.layer-order")

    assert check.status == "fail"
    assert check.finding == "no RUN installs the requirements (`pip install -r requirements.txt`)"


def test_a_runtime_stage_without_the_model_fails(service: ServiceRepo) -> None:
    _dockerfile(service, "COPY service/model/ service/model/\n", "")

    check = service.check("dockerfile.model")

    assert check.status == "fail"
    assert check.finding == (
        "the runtime stage (line 7) does not copy the model service/model/model.joblib"
    )
    assert check.fix == (
        "add `COPY service/model/ service/model/` above line 11 (`COPY service/*.py service/`)"
    )


def test_compilers_in_the_runtime_stage_fail(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "RUN useradd --system --uid 10001 --no-create-home app\n",
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev=15.* "
        "libgomp1 && useradd --system --uid 10001 --no-create-home app\n",
    )

    check = service.check("dockerfile.build-tools")

    assert check.status == "fail"
    assert check.finding == "line 8 installs gcc, libpq-dev in the runtime stage"
    assert check.fix.startswith("remove gcc, libpq-dev from line 8; build what needs them")


def test_no_user_means_root_and_fails(service: ServiceRepo) -> None:
    _dockerfile(service, "USER 10001\n", "")

    check = service.check("dockerfile.user")

    assert check.status == "fail"
    assert check.finding == "the runtime stage (line 7) has no USER: it runs as root"
    assert check.fix == (
        "add `RUN useradd --system --uid 10001 --no-create-home app && chown -R 10001 "
        '/app/service/model` and `USER 10001` above line 13 (`CMD ["python", "-m", "service"]`) '
        "(so that the service can write in /app/service/model; /tmp is writable by any user); "
        "/root is unreadable for that user: install the packages into a virtualenv (/opt/venv, "
        "`ENV PATH=/opt/venv/bin:$PATH`) and copy that instead"
    )


def test_user_root_fails(service: ServiceRepo) -> None:
    _dockerfile(service, "USER 10001\n", "USER root:root\n")

    check = service.check("dockerfile.user")

    assert check.status == "fail"
    assert check.finding == "line 13 (`USER root:root`) runs the service as root"


def test_buildkit_only_syntax_fails_with_the_edit_per_line(service: ServiceRepo) -> None:
    _dockerfile(
        service,
        "RUN pip install --user",
        "RUN --mount=type=cache,target=/root/.cache pip install --user",
    )

    check = service.check("dockerfile.buildkit")

    assert check.status == "fail"
    assert check.finding == (
        "BuildKit-only syntax in Dockerfile, which the classic builder (builder = auto, where no "
        "docker CLI can run BuildKit) builds and rejects: line 5: `RUN --mount`"
    )
    assert check.fix == (
        "drop `--mount=...` from line 5 (use `pip install --no-cache-dir`); or move that syntax "
        "into a Dockerfile of its own named by `buildkit_dockerfile` in [tool.mlrelease] "
        '(BuildKit builds it, the classic builder Dockerfile), or set `builder = "buildkit"`'
    )
