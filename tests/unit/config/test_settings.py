"""Configuration: precedence, sources, validation, masking (`mlrelease config`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from mlrelease.config.settings import KEY_NAMES, Flag, load_settings
from mlrelease.errors import ConfigError
from mlrelease.secrets import Secret
from tests.unit.conftest import Repo, init_repo

Run = Callable[..., Result]
TABLE = "pyproject.toml [tool.mlrelease]"


def write_pyproject(root: Path, body: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text(f'[project]\nname = "svc"\nversion = "0"\n\n[tool.mlrelease]\n{body}\n')
    return path


def settings_json(run: Run, *args: str) -> dict[str, Any]:
    result = run("--json", "config", *args)
    assert result.exit_code == 0, result.output
    settings: dict[str, Any] = json.loads(result.stdout)["data"]["settings"]
    return settings


def test_defaults_without_a_pyproject(repo: Repo, run: Run) -> None:
    settings = settings_json(run)

    assert list(settings) == list(KEY_NAMES)
    assert settings["image"] == {"value": "ml-service", "source": "default"}
    assert settings["region"] == {"value": "us-central1", "source": "default"}
    assert settings["repository"] == {"value": "docker", "source": "default"}
    assert settings["dockerfile"]["value"] == "Dockerfile"
    assert settings["context"]["value"] == "."
    assert settings["base_image"]["value"] == "python:3.11-slim"
    assert settings["model_path"]["value"] == "service/model/model.joblib"
    assert settings["gcp_project"] == {"value": None, "source": "default"}
    assert settings["size_budget_mb"]["value"] is None
    assert settings["tag_aliases"]["value"] == []
    assert settings["registry_host"] == {
        "value": "us-central1-docker.pkg.dev",
        "source": "default (from region)",
    }
    assert settings["gar_endpoint"]["value"] == "https://artifactregistry.googleapis.com"
    assert settings["gcp_sa_key"] == {"value": None, "source": "default", "secret": True}


def test_values_from_pyproject_name_their_source(repo: Repo, run: Run) -> None:
    write_pyproject(
        repo.path,
        'image = "team/ml-api"\nregion = "europe-west4"\nsize_budget_mb = 300\n'
        'size_warn_mb = 250.5\ntag_aliases = ["latest", "stable"]\n'
        'registry_host = "127.0.0.1:5000"\ngar_endpoint = "http://127.0.0.1:8080/"',
    )

    settings = settings_json(run)

    assert settings["image"] == {"value": "team/ml-api", "source": f"{TABLE} image"}
    assert settings["region"] == {"value": "europe-west4", "source": f"{TABLE} region"}
    assert settings["size_budget_mb"]["value"] == 300
    assert settings["size_warn_mb"]["value"] == 250.5
    assert settings["tag_aliases"]["value"] == ["latest", "stable"]
    assert settings["registry_host"] == {
        "value": "127.0.0.1:5000",
        "source": f"{TABLE} registry_host",
    }
    assert settings["gar_endpoint"]["value"] == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("env", "flag", "value", "source"),
    [
        ({}, None, "europe-west1", f"{TABLE} region"),
        ({"GAR_REGION": "europe-west2"}, None, "europe-west2", "env GAR_REGION"),
        (
            {"GAR_REGION": "europe-west2", "MLRELEASE_REGION": "europe-west3"},
            None,
            "europe-west3",
            "env MLRELEASE_REGION",
        ),
        (
            {"GAR_REGION": "europe-west2", "MLRELEASE_REGION": "europe-west3"},
            "europe-west4",
            "europe-west4",
            "flag --region",
        ),
    ],
)
def test_precedence_pyproject_alias_env_flag(
    repo: Repo,
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    flag: str | None,
    value: str,
    source: str,
) -> None:
    write_pyproject(repo.path, 'region = "europe-west1"')
    for name, text in env.items():
        monkeypatch.setenv(name, text)

    settings = settings_json(run, *(["--region", flag] if flag else []))

    assert settings["region"] == {"value": value, "source": source}
    # The derived registry host follows the effective region.
    assert settings["registry_host"]["value"] == f"{value}-docker.pkg.dev"


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"GOOGLE_CLOUD_PROJECT": "from-google"}, "env GOOGLE_CLOUD_PROJECT"),
        ({"GOOGLE_CLOUD_PROJECT": "from-google", "GCP_PROJECT": "from-gcp"}, "env GCP_PROJECT"),
        (
            {"GCP_PROJECT": "from-gcp", "MLRELEASE_GCP_PROJECT": "from-mlrelease"},
            "env MLRELEASE_GCP_PROJECT",
        ),
    ],
)
def test_project_aliases(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], source: str
) -> None:
    for name, text in env.items():
        monkeypatch.setenv(name, text)

    assert settings_json(run)["gcp_project"]["source"] == source


def test_project_flag_beats_everything(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRELEASE_GCP_PROJECT", "from-env")
    write_pyproject(repo.path, 'gcp_project = "from-file"')

    settings = settings_json(run, "--project", "from-flag")

    assert settings["gcp_project"] == {"value": "from-flag", "source": "flag --project"}


def test_runbook_names_are_honoured(repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAR_REPOSITORY", "ml-images")
    monkeypatch.setenv("MODEL_PATH", "models/iris.joblib")
    monkeypatch.setenv("MLRELEASE_TAG_ALIASES", "latest, stable,")

    settings = settings_json(run)

    assert settings["repository"] == {"value": "ml-images", "source": "env GAR_REPOSITORY"}
    assert settings["model_path"] == {"value": "models/iris.joblib", "source": "env MODEL_PATH"}
    assert settings["tag_aliases"] == {
        "value": ["latest", "stable"],
        "source": "env MLRELEASE_TAG_ALIASES",
    }


def test_an_empty_variable_counts_as_unset(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(repo.path, 'region = "europe-west1"')
    monkeypatch.setenv("MLRELEASE_REGION", "")
    monkeypatch.setenv("GAR_REGION", "")

    assert settings_json(run)["region"]["source"] == f"{TABLE} region"


def test_the_text_view_is_a_table_on_stdout(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAR_REGION", "asia-east1")

    result = run("config")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KEY", "VALUE", "SOURCE"]
    assert any(line.split() == ["region", "asia-east1", "env", "GAR_REGION"] for line in lines)
    assert f"project root {repo.path}" in result.stderr


# Secrets

KEY_MATERIAL = (
    '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----SECRETSTUFF"}'
)


def test_the_key_is_masked_in_text_and_json(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GCP_SA_KEY", KEY_MATERIAL)

    text = run("config")
    as_json = run("--json", "config")

    assert text.exit_code == 0, text.output
    assert as_json.exit_code == 0, as_json.output
    for output in (text.output, as_json.output):
        assert "SECRETSTUFF" not in output
        assert "PRIVATE KEY" not in output
    assert any(line.split()[:2] == ["gcp_sa_key", "********"] for line in text.stdout.splitlines())
    assert json.loads(as_json.stdout)["data"]["settings"]["gcp_sa_key"] == {
        "value": "********",
        "source": "env GCP_SA_KEY",
        "secret": True,
    }


def test_the_secret_type_never_shows_its_value(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRELEASE_GCP_SA_KEY", KEY_MATERIAL)

    settings = load_settings(repo.path)

    assert isinstance(settings.gcp_sa_key, Secret)
    assert settings.gcp_sa_key.reveal() == KEY_MATERIAL
    assert settings.source("gcp_sa_key") == "env MLRELEASE_GCP_SA_KEY"
    for shown in (str(settings.gcp_sa_key), repr(settings.gcp_sa_key), repr(settings)):
        assert "SECRETSTUFF" not in shown


def test_a_key_in_pyproject_is_refused(repo: Repo, run: Run) -> None:
    write_pyproject(repo.path, 'gcp_sa_key = "{SECRETSTUFF}"')

    result = run("config")

    assert result.exit_code == 2, result.output
    assert "gcp_sa_key is set in pyproject.toml [tool.mlrelease]" in result.stderr
    assert "SECRETSTUFF" not in result.output


# Bad values: exit 2 naming the key and where it came from


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'region = "Europe West"',
            "invalid region 'Europe West' from pyproject.toml [tool.mlrelease] region",
        ),
        (
            "region = 4",
            "invalid region 4 from pyproject.toml [tool.mlrelease] region: expected a string",
        ),
        (
            "size_budget_mb = -5",
            "invalid size_budget_mb -5 from pyproject.toml [tool.mlrelease] size_budget_mb",
        ),
        ("size_budget_mb = true", "invalid size_budget_mb True from"),
        ('size_warn_mb = "big"', "invalid size_warn_mb 'big' from"),
        ("tag_aliases = [1, 2]", "invalid tag_aliases [1, 2] from"),
        ('tag_aliases = ["ok", "not ok"]', "'not ok' is not a valid image tag"),
        ('gar_endpoint = "ftp://example.com"', "invalid gar_endpoint 'ftp://example.com' from"),
        ('gar_endpoint = "https://user:pw@example.com"', "without credentials"),
        (
            'registry_host = "http://127.0.0.1:5000"',
            "invalid registry_host 'http://127.0.0.1:5000'",
        ),
        ('image = "Ml-Service"', "invalid image 'Ml-Service' from"),
        ('repository = "-docker"', "invalid repository '-docker' from"),
    ],
)
def test_bad_values_in_pyproject(repo: Repo, run: Run, body: str, message: str) -> None:
    write_pyproject(repo.path, body)

    result = run("config")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert "hint: fix `" in result.stderr
    assert "under [tool.mlrelease] in pyproject.toml" in result.stderr


def test_a_bad_environment_value_names_the_variable(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAR_REGION", "us central")

    result = run("--json", "config")

    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["errors"][0]
    assert error["code"] == "config"
    assert error["message"].startswith("invalid region 'us central' from env GAR_REGION: ")
    assert error["hint"] == "fix or unset the environment variable GAR_REGION"


def test_a_bad_number_from_the_environment(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRELEASE_SIZE_BUDGET_MB", "lots")

    result = run("config")

    assert result.exit_code == 2, result.output
    assert "invalid size_budget_mb 'lots' from env MLRELEASE_SIZE_BUDGET_MB" in result.stderr


def test_a_bad_flag_value_names_the_flag(repo: Repo, run: Run) -> None:
    result = run("config", "--region", "Mars")

    assert result.exit_code == 2, result.output
    assert "error: invalid region 'Mars' from flag --region: " in result.stderr
    assert "hint: pass a valid value to --region" in result.stderr


def test_a_warning_threshold_above_the_budget(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(repo.path, "size_budget_mb = 200")
    monkeypatch.setenv("MLRELEASE_SIZE_WARN_MB", "250")

    result = run("config")

    assert result.exit_code == 2, result.output
    assert (
        "size_warn_mb 250 (from env MLRELEASE_SIZE_WARN_MB) is above size_budget_mb 200 "
        f"(from {TABLE} size_budget_mb)"
    ) in result.stderr


def test_an_unknown_key_is_named(repo: Repo, run: Run) -> None:
    write_pyproject(repo.path, 'regoin = "us-east1"')

    result = run("config")

    assert result.exit_code == 2, result.output
    assert "error: unknown key 'regoin' in pyproject.toml [tool.mlrelease]" in result.stderr
    assert "did you mean 'region'?" in result.stderr


def test_a_malformed_pyproject_names_the_file(repo: Repo, run: Run) -> None:
    (repo.path / "pyproject.toml").write_text("[tool.mlrelease\nregion = 'x'\n")

    result = run("config")

    assert result.exit_code == 2, result.output
    assert "error: pyproject.toml is not valid TOML" in result.stderr
    assert f"hint: fix the syntax error in {repo.path / 'pyproject.toml'}" in result.stderr


# Finding the project root


def test_the_nearest_pyproject_upwards_is_used(
    repo: Repo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = write_pyproject(repo.path, 'region = "europe-west1"')
    (repo.path / "service" / "api").mkdir(parents=True)
    monkeypatch.chdir(repo.path / "service" / "api")

    result = run("--json", "config")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    assert data["root"] == str(repo.path)
    assert data["pyproject"] == str(pyproject)
    assert data["settings"]["region"] == {
        "value": "europe-west1",
        "source": f"{pyproject} [tool.mlrelease] region",
    }


def test_a_pyproject_outside_the_repository_is_not_used(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, 'region = "europe-west1"')
    inner = init_repo(tmp_path / "inner")
    monkeypatch.chdir(inner.path)

    result = run("--json", "config")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    assert data["root"] == str(inner.path)
    assert data["pyproject"] is None
    assert data["settings"]["region"]["source"] == "default"


# The Python API other modules use


def test_load_settings_api(repo: Repo) -> None:
    write_pyproject(repo.path, 'dockerfile = "docker/Dockerfile"\nsize_budget_mb = 400')

    settings = load_settings(
        repo.path,
        flags={"image": Flag("--image", "flagged"), "region": Flag("--region", None)},
        env={"GAR_REGION": "us-east4"},
    )

    assert settings.image == "flagged"
    assert settings.source("image") == "flag --image"
    assert settings.region == "us-east4"
    assert settings.registry_host == "us-east4-docker.pkg.dev"
    assert settings.size_budget_mb == 400
    assert settings.tag_aliases == ()
    assert settings.path("dockerfile") == repo.path / "docker" / "Dockerfile"
    assert settings.root == repo.path
    with pytest.raises(AttributeError):
        settings.image = "changed"  # type: ignore[misc]


def test_load_settings_raises_config_error(repo: Repo) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(repo.path, env={"MLRELEASE_GAR_ENDPOINT": "nope"})

    assert caught.value.exit_code == 2
    assert "invalid gar_endpoint 'nope' from env MLRELEASE_GAR_ENDPOINT" in caught.value.message
