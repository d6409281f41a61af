"""The fixes doctor prints are right for someone else's project, and applying one as written
satisfies its check (the engine builds them in tests/integration/test_doctor_fixes.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlrelease.build.dockerfile import parse
from tests.unit.doctor.conftest import DOCKERFILE, MODEL, ServiceRepo, init_repo
from tests.unit.doctor.fixes import apply_fix, project_environment

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "single-stage"


@pytest.fixture
def single_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ServiceRepo:
    """The unpolished single-stage fixture in a git repository, its model trained (as bytes)."""
    init_repo(tmp_path / "svc", commit=False)
    repo = ServiceRepo(tmp_path / "svc")
    shutil.copytree(FIXTURE, repo.path, dirs_exist_ok=True)
    (repo.path / ".git" / "info" / "exclude").write_text(".venv/\nvenv/\n")
    repo.write("model.pkl", "a pickled model")
    repo.commit_all("the fixture")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.chdir(repo.path)
    return repo


def _fix(repo: ServiceRepo, check_id: str) -> None:
    check = repo.check(check_id)
    assert check.status in ("fail", "warn"), check
    apply_fix(repo.path, check_id, check.fix)
    assert repo.check(check_id).status == "ok", repo.check(check_id)


def test_pins_come_from_the_project_environment_with_extras_kept(
    single_stage: ServiceRepo,
) -> None:
    single_stage.write("requirements.txt", "fastapi\nuvicorn[standard]>=0.20\nscikit-learn~=1.9\n")
    project_environment(
        single_stage.path, fastapi="0.110.0", uvicorn="0.30.1", scikit_learn="1.4.2"
    )

    check = single_stage.check("requirements.pinned")

    assert check.fix == (
        "pin them to the versions installed in .venv (./.venv): requirements.txt:1 "
        "`fastapi==0.110.0`; requirements.txt:2 `uvicorn[standard]==0.30.1`; "
        "requirements.txt:3 `scikit-learn==1.4.2`"
    )
    _fix(single_stage, "requirements.pinned")
    assert (single_stage.path / "requirements.txt").read_text().splitlines()[1] == (
        "uvicorn[standard]==0.30.1"
    )


def test_virtual_env_is_preferred_and_named(
    single_stage: ServiceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_environment(single_stage.path, fastapi="0.1.0")
    elsewhere = project_environment(tmp_path, "env", fastapi="0.99.0")
    monkeypatch.setenv("VIRTUAL_ENV", str(elsewhere))

    check = single_stage.check("requirements.pinned")

    assert f"installed in {elsewhere} ($VIRTUAL_ENV): requirements.txt:1 `fastapi==0.99.0`" in (
        check.fix
    )


def test_without_an_environment_no_version_is_invented(single_stage: ServiceRepo) -> None:
    check = single_stage.check("requirements.pinned")

    assert check.fix == (
        "no environment of the service found ($VIRTUAL_ENV, ./.venv or ./venv): run `pip "
        "freeze` in the service's environment (where its tests pass) and pin fastapi, uvicorn, "
        "scikit-learn to the versions it lists, keeping extras (`uvicorn[standard]==0.30.1`)"
    )
    assert "==0" not in check.fix.replace("uvicorn[standard]==0.30.1", "")


def test_the_multi_stage_recipe_is_complete(single_stage: ServiceRepo) -> None:
    check = single_stage.check("dockerfile.multi-stage")
    recipe = check.fix.partition("replace Dockerfile with:\n")[2]

    assert recipe.splitlines()[0] == "ARG PYTHON_IMAGE=python:3.11-slim"
    parsed = parse(recipe)
    assert [(s.base, s.name) for s in parsed.stages] == [
        ("${PYTHON_IMAGE}", "builder"),
        ("${PYTHON_IMAGE}", "runtime"),
    ]
    runtime = [i.text for i in parsed.stages[1].instructions]
    assert runtime == [
        "COPY --from=builder /opt/venv /opt/venv",
        "ENV PATH=/opt/venv/bin:$PATH",
        "WORKDIR /code",
        "COPY app/ app/",
        "COPY tests/ tests/",
        "COPY model.pkl .",
        "EXPOSE 8000",
        "RUN useradd --system --uid 10001 --no-create-home app && chown -R 10001 /code",
        "USER 10001",
        "CMD uvicorn app.main:app --host 0.0.0.0 --port ${PORT:-8000}",
    ]
    apply_fix(single_stage.path, check.id, check.fix)
    for check_id in ("multi-stage", "layer-order", "user", "model", "buildkit", "slim-base"):
        assert single_stage.check(f"dockerfile.{check_id}").status == "ok", check_id


def test_the_line_fixes_apply_one_after_the_other(single_stage: ServiceRepo) -> None:
    user = single_stage.check("dockerfile.user")
    assert user.fix.startswith(
        "add `RUN useradd --system --uid 10001 --no-create-home app && chown -R 10001 /code` "
        "and `USER 10001` above line 12"
    )

    _fix(single_stage, "dockerfile.layer-order")
    _fix(single_stage, "dockerfile.user")

    assert single_stage.check("dockerfile.model").status == "ok"


def test_dockerignore_advice_keeps_what_the_dockerfile_copies(single_stage: ServiceRepo) -> None:
    check = single_stage.check("dockerignore")

    assert check.fix == (
        "create .dockerignore with these lines: .git, .venv, venv, **/__pycache__, "
        "**/*.py[cod], .pytest_cache"
    )
    _fix(single_stage, "dockerignore")


def test_a_dockerignore_excluding_a_copied_path_fails(single_stage: ServiceRepo) -> None:
    single_stage.write(".dockerignore", ".git\ntests\n")

    check = single_stage.check("dockerignore")

    assert check.status == "fail"
    assert check.finding == (
        ".dockerignore line 2 (`tests`) excludes tests, which Dockerfile line 6 copies: "
        "that COPY fails"
    )
    assert check.fix == "delete line 2 of .dockerignore"


@pytest.mark.parametrize(
    ("setting", "fix"),
    [
        ('train_command = "make model"', "train it: `make model`"),
        ('train_command = ""', "put the trained model there (no `train_command` is set"),
    ],
)
def test_the_model_fix_runs_the_train_command(
    single_stage: ServiceRepo, setting: str, fix: str
) -> None:
    pyproject = (single_stage.path / "pyproject.toml").read_text()
    single_stage.write(
        "pyproject.toml", pyproject.replace('train_command = "python train.py"', setting)
    )
    single_stage.remove("model.pkl")

    assert single_stage.check("model").fix.startswith(fix)


def test_tests_are_collected_with_the_project_interpreter_only(
    single_stage: ServiceRepo,
) -> None:
    without = single_stage.check("tests.collect")
    assert without.status == "warn"
    assert "not run with mlrelease's own Python" in without.finding

    project_environment(single_stage.path, "venv")
    single_stage.write("tests/test_main.py", "def test_nothing():\n    pass\n")

    found = single_stage.check("tests.collect")
    assert found.status == "ok", found
    assert "(`venv/bin/python -m pytest --collect-only" in found.finding


def test_model_path_empty_means_no_model(service: ServiceRepo) -> None:
    service.write("pyproject.toml", '[tool.mlrelease]\nimage = "svc"\nmodel_path = ""\n')

    assert service.check("model").status == "skip"
    assert service.check("dockerfile.model").status == "skip"
    assert service.check("dockerfile.layer-order").status == "ok"


def test_every_model_path_is_checked(service: ServiceRepo) -> None:
    service.write("models/a.joblib", "a")
    service.write(
        "pyproject.toml",
        f'[tool.mlrelease]\nimage = "svc"\nmodel_paths = ["{MODEL}", "models/b.joblib"]\n',
    )

    check = service.check("model")

    assert (check.status, check.finding) == (
        "fail",
        "no model at models/b.joblib (model_paths from pyproject.toml [tool.mlrelease] "
        "model_paths)",
    )


def test_an_absent_default_model_that_is_not_copied_is_not_checked(service: ServiceRepo) -> None:
    service.write("Dockerfile", DOCKERFILE.replace("COPY service/model/ service/model/\n", ""))
    service.remove(MODEL)

    assert service.check("model").status == "skip"
    assert service.check("dockerfile.model").status == "skip"
