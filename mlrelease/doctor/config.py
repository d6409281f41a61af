"""`config`: the settings load, so the other checks (and every command) can use them."""

from __future__ import annotations

from mlrelease.doctor.frame import Outcome, Project, fail, ok


def check_config(project: Project) -> Outcome:
    """The configuration is valid; the finding says where it was read from."""
    if project.config_error is not None:
        return fail(project.config_error.message, project.config_error.hint)
    pyproject = project.settings.pyproject
    where = (
        f"{project.relative(pyproject)} [tool.mlrelease]"
        if pyproject
        else "defaults and environment (no pyproject.toml)"
    )
    return ok(f"settings from {where}; see `mlrelease config`")
