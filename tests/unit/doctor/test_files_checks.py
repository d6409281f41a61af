"""`dockerignore`, `requirements.pinned` and `model`, each broken alone in the fixture service."""

from __future__ import annotations

import hashlib
import json

from mlrelease.doctor.files import ignoring_rule, read_dockerignore
from tests.unit.doctor.conftest import DOCKERIGNORE, MODEL, ServiceRepo


def test_no_dockerignore_fails_with_its_content(service: ServiceRepo) -> None:
    service.remove(".dockerignore")
    service.commit_all()

    check = service.check("dockerignore")

    assert check.status == "fail"
    assert check.finding.startswith("no .dockerignore: the whole directory")
    assert check.fix == (
        "create .dockerignore with these lines: .git, tests, .venv, venv, **/__pycache__, "
        "**/*.py[cod], .pytest_cache"
    )


def test_a_dockerignore_missing_entries_names_them(service: ServiceRepo) -> None:
    kept = [line for line in DOCKERIGNORE.splitlines() if line not in (".git", ".venv", "venv")]
    service.write(".dockerignore", "\n".join(kept) + "\n")
    service.commit_all()

    check = service.check("dockerignore")

    assert check.status == "warn"
    assert check.finding == ".dockerignore does not exclude .git, .venv, venv"
    assert check.fix == "add these lines to .dockerignore: .git, .venv, venv"


def test_a_re_included_directory_counts_as_missing(service: ServiceRepo) -> None:
    service.write(".dockerignore", DOCKERIGNORE + "!tests\n")
    service.commit_all()

    check = service.check("dockerignore")

    assert (check.status, check.finding) == ("warn", ".dockerignore does not exclude tests")


def test_dockerignore_patterns_match_as_docker_does(tmp_path) -> None:
    path = tmp_path / ".dockerignore"
    path.write_text("# comment\n/build\n**/*.log\ndata/*\n!data/keep.csv\nsrc/[!a]*.tmp\n")
    rules = read_dockerignore(path)

    def ignored(name: str) -> bool:
        return ignoring_rule(name, rules) is not None

    assert ignored("build/lib/x.py")  # a parent directory matches
    assert ignored("a/b/c.log") and ignored("c.log")
    assert ignored("data/big.csv") and not ignored("data/keep.csv")
    assert ignored("src/b.tmp") and not ignored("src/a.tmp")
    assert not ignored("builder/x") and not ignored("service/app.py")
    assert ignoring_rule("data/big.csv", rules).line == 4  # type: ignore[union-attr]


def test_unpinned_requirements_are_named_with_the_pin_to_write(service: ServiceRepo) -> None:
    service.write(
        "requirements.txt",
        "# service\nfastapi==0.110.0\nrich>=13  # pretty\n\nnot-installed-anywhere~=1.0\n",
    )
    service.write("requirements-dev.txt", "-r requirements.txt\npytest==8.0.0\nruff[dev]\n")
    service.commit_all()

    check = service.check("requirements.pinned")

    assert check.status == "fail"
    assert check.finding == (
        "not pinned: requirements-dev.txt:3 `ruff[dev]`; requirements.txt:3 `rich>=13`; "
        "requirements.txt:5 `not-installed-anywhere~=1.0`"
    )
    # The versions of the service's .venv (VERSIONS), not of the environment running doctor.
    assert check.fix == (
        "pin them to the versions installed in .venv (./.venv): "
        "requirements-dev.txt:3 `ruff[dev]==0.4.2`; requirements.txt:3 `rich==13.7.1`; "
        "not installed in .venv: not-installed-anywhere; install them there "
        "(`.venv/bin/python -m pip install -r requirements.txt`), run `pip freeze` in the "
        "service's environment and pin them to what it lists"
    )


def test_a_wildcard_is_not_a_pin(service: ServiceRepo) -> None:
    service.write("requirements.txt", "fastapi==0.110.*\n")
    service.commit_all()

    check = service.check("requirements.pinned")

    assert check.status == "fail"
    assert check.finding == "not pinned: requirements.txt:1 `fastapi==0.110.*`"


def test_no_requirements_file_fails(service: ServiceRepo) -> None:
    service.remove("requirements.txt")
    service.commit_all()

    check = service.check("requirements.pinned")

    assert (check.status, check.finding) == ("fail", "no requirements*.txt at the project root")
    assert "`pip freeze > requirements.txt`" in check.fix


def test_a_missing_model_says_how_to_train_it(service: ServiceRepo) -> None:
    service.remove(MODEL)

    check = service.check("model")

    assert check.status == "fail"
    assert check.finding == f"no model at {MODEL} (model_path from default)"
    assert check.fix == "train it: `python -m service.train`"


def test_a_model_path_from_the_environment_is_named(service: ServiceRepo, monkeypatch) -> None:
    monkeypatch.setenv("MODEL_PATH", "models/other.joblib")

    check = service.check("model")

    assert check.finding == "no model at models/other.joblib (model_path from env MODEL_PATH)"
    assert check.fix == "train it: `python -m service.train`"


def test_a_model_that_changed_after_training_fails(service: ServiceRepo) -> None:
    service.write_model(b"the trained model")
    (service.path / MODEL).write_bytes(b"the trained model, edited")

    check = service.check("model")

    assert check.status == "fail"
    recorded = json.loads((service.path / "service/model/model.json").read_text())["sha256"]
    assert f"model.json records {recorded[:12]}: the model changed after training" in (
        check.finding
    )
    assert check.fix == (
        "retrain it: `python -m service.train` (or restore the model file model.json describes)"
    )


def test_a_model_without_metadata_is_checksummed_by_doctor(service: ServiceRepo) -> None:
    service.remove("service/model/model.json")

    check = service.check("model")

    digest = hashlib.sha256(b"a trained model").hexdigest()
    assert check.status == "ok"
    assert check.finding == (
        f"{MODEL} (0.0 kB), sha256 {digest[:12]} (no model.json to compare with)"
    )


def test_unreadable_metadata_fails(service: ServiceRepo) -> None:
    service.write("service/model/model.json", "{not json")

    check = service.check("model")

    assert check.status == "fail"
    assert check.finding == f"service/model/model.json has no readable sha256 for {MODEL}"


def test_a_model_kept_out_of_the_context_by_dockerignore_fails(service: ServiceRepo) -> None:
    service.write(".dockerignore", DOCKERIGNORE + "*.md\nservice/model\n")
    service.commit_all()

    check = service.check("model")

    assert check.status == "fail"
    assert check.finding == (
        ".dockerignore line 9 (`service/model`) keeps service/model/model.joblib out of the "
        "build context"
    )
    assert check.fix == (
        "delete line 9 of .dockerignore or add `!service/model/model.joblib` and "
        "`!service/model/model.json` after it"
    )
