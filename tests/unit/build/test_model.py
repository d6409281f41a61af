"""Which model files a build checks, their checksums with and without metadata, their labels."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlrelease.build.dockerfile import copies_path, covers, parse
from mlrelease.build.model import check_model, file_sha256, model_spec
from mlrelease.build.plan import model_labels
from mlrelease.config.settings import load_settings
from mlrelease.errors import PreconditionError


def _project(tmp_path: Path, table: str = "", dockerfile: str = "FROM scratch\n") -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(f'[tool.mlrelease]\nimage = "svc"\n{table}')
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return tmp_path


def _spec(root: Path):
    settings = load_settings(root)
    return settings, model_spec(settings, parse((root / "Dockerfile").read_text()))


@pytest.mark.parametrize(
    ("source", "path", "expected"),
    [
        (".", "service/model/model.joblib", True),
        ("service", "service/model/model.joblib", True),
        ("service/model", "service/model/model.joblib", True),
        ("service/model/model.joblib", "service/model/model.joblib", True),
        ("service/*", "service/model/model.joblib", True),  # a glob over a directory above
        ("service/model/*.joblib", "service/model/model.joblib", True),
        ("*.joblib", "service/model/model.joblib", False),  # `*` never crosses `/`
        ("service/app.py", "service/model/model.joblib", False),
        ("service/mod", "service/model/model.joblib", False),  # a prefix is not a directory
    ],
)
def test_a_copy_source_covers_the_paths_the_builder_would_bring(source, path, expected) -> None:
    assert covers(source, path) is expected


def test_copies_path_reads_every_copy_form_and_ignores_other_stages() -> None:
    parsed = parse(
        "FROM python AS build\n"
        "COPY --from=train /opt/model service/model/\n"  # another stage: not the context
        "FROM python\n"
        'COPY ["./service/model/", "/app/service/model/"]\n'
    )

    found = copies_path(parsed, "service/model/model.joblib")

    assert found is not None and found.line == 4
    assert copies_path(parse("FROM python\nCOPY --from=build / /\n"), "a") is None


def test_the_default_model_absent_and_not_copied_means_no_model_check(tmp_path: Path) -> None:
    root = _project(tmp_path, dockerfile="FROM python\nCOPY app.py .\n")

    assert _spec(root)[1] is None


def test_the_default_model_copied_by_the_dockerfile_must_exist(tmp_path: Path) -> None:
    root = _project(tmp_path, dockerfile="FROM python\nCOPY service/ /app/service/\n")
    settings, spec = _spec(root)
    assert spec is not None

    with pytest.raises(PreconditionError) as caught:
        check_model(settings, spec)

    assert caught.value.message == (
        "the model file service/model/model.joblib does not exist (from default)"
    )
    assert "`python -m service.train`" in str(caught.value.hint)


def test_a_configured_model_path_must_exist_and_the_hint_uses_train_command(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, 'model_path = "m/iris.joblib"\ntrain_command = "python train.py"\n')
    settings, spec = _spec(root)
    assert spec is not None

    with pytest.raises(PreconditionError) as caught:
        check_model(settings, spec)

    assert caught.value.message.startswith("the model file m/iris.joblib does not exist")
    assert str(caught.value.hint).startswith("train it with `python train.py`")


def test_an_empty_model_path_means_no_model(tmp_path: Path) -> None:
    root = _project(tmp_path, 'model_path = ""\n', "FROM python\nCOPY . .\n")

    assert _spec(root)[1] is None


def test_without_metadata_the_checksum_is_computed(tmp_path: Path) -> None:
    root = _project(tmp_path, 'model_path = "iris.joblib"\n')
    (root / "iris.joblib").write_bytes(b"x" * 3_000_000)  # more than one chunk
    settings, spec = _spec(root)
    assert spec is not None

    report = check_model(settings, spec)

    digest = hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert file_sha256(root / "iris.joblib") == digest
    assert [(f.path, f.sha256, f.metadata) for f in report.files] == [("iris.joblib", digest, None)]
    assert report.sklearn_version is None
    assert model_labels(report) == {"org.mlrelease.model.sha256": digest}


def test_metadata_is_used_and_its_checksum_checked(tmp_path: Path) -> None:
    root = _project(tmp_path, 'model_path = "model.joblib"\n')
    (root / "model.joblib").write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    (root / "model.json").write_text(json.dumps({"sha256": digest, "sklearn_version": "1.9.1"}))
    settings, spec = _spec(root)
    assert spec is not None

    report = check_model(settings, spec)
    assert report.files[0].metadata == "model.json"
    assert model_labels(report) == {
        "org.mlrelease.model.sha256": digest,
        "org.mlrelease.model.sklearn_version": "1.9.1",
    }

    (root / "model.joblib").write_bytes(b"changed")
    with pytest.raises(PreconditionError) as caught:
        check_model(settings, spec)
    assert "model.json records" in caught.value.message
    assert "the file changed after training" in caught.value.message


def test_several_model_files_get_one_stable_combined_label(tmp_path: Path) -> None:
    root = _project(tmp_path, 'model_paths = ["models/b.joblib", "models/a.joblib"]\n')
    (root / "models").mkdir()
    (root / "models/a.joblib").write_bytes(b"a")
    (root / "models/b.joblib").write_bytes(b"b")
    settings, spec = _spec(root)
    assert spec is not None

    found = model_labels(check_model(settings, spec))

    files = {
        "models/a.joblib": hashlib.sha256(b"a").hexdigest(),
        "models/b.joblib": hashlib.sha256(b"b").hexdigest(),
    }
    text = json.dumps(files, sort_keys=True, separators=(",", ":"))
    assert found == {
        "org.mlrelease.model.files": text,
        "org.mlrelease.model.sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def test_the_missing_one_of_several_files_is_named(tmp_path: Path) -> None:
    root = _project(tmp_path, 'model_paths = ["a.joblib", "b.joblib"]\n')
    (root / "a.joblib").write_bytes(b"a")
    settings, spec = _spec(root)
    assert spec is not None

    with pytest.raises(PreconditionError) as caught:
        check_model(settings, spec)

    assert caught.value.message.startswith("the model file b.joblib does not exist (from ")


def test_the_headline_metric_is_the_first_number_the_metadata_records() -> None:
    from mlrelease.build.model import headline_metric

    assert headline_metric({"accuracy": 0.96491228, "f1": 0.97}) == "accuracy=0.9649"
    assert headline_metric({"note": "x", "auc": 1}) == "auc=1"
    assert headline_metric({"flag": True}) is None
    assert headline_metric(None) is None
