"""Every doctor check, in the order they are reported: one line each.

A local check takes the `Project`; a remote check (`RemoteCheck`) takes the `Settings`, runs
concurrently with the others and is skipped by `--offline`.
"""

from __future__ import annotations

from mlrelease.doctor import (
    builder,
    cloud,
    cloud_build,
    config,
    dockerfile,
    engine,
    files,
    git,
    scanning,
    secrets,
    signing,
    size,
    testsuite,
    workflow,
)
from mlrelease.doctor.frame import CheckSpec, LocalCheck, RemoteCheck

CHECKS: tuple[CheckSpec, ...] = (
    LocalCheck("config", "Configuration is valid", config.check_config),
    LocalCheck("engine", "Docker engine answers", engine.check_engine),
    LocalCheck("builder", "A builder for the Dockerfile", builder.check_builder),
    LocalCheck("dockerfile.present", "Dockerfile present", dockerfile.check_present),
    LocalCheck("dockerfile.multi-stage", "Multi-stage build", dockerfile.check_multi_stage),
    LocalCheck("dockerfile.slim-base", "Slim runtime base image", dockerfile.check_slim_base),
    LocalCheck(
        "dockerfile.layer-order",
        "Requirements installed before the code is copied",
        dockerfile.check_layer_order,
    ),
    LocalCheck("dockerfile.model", "Runtime stage copies the model", dockerfile.check_model_copied),
    LocalCheck(
        "dockerfile.build-tools",
        "No compilers or -dev packages in the runtime stage",
        dockerfile.check_no_build_tools,
    ),
    LocalCheck("dockerfile.user", "Runs as a non-root user", dockerfile.check_non_root_user),
    LocalCheck(
        "dockerfile.buildkit",
        "No BuildKit-only syntax where the classic builder may build",
        builder.check_no_buildkit_syntax,
    ),
    LocalCheck("dockerignore", ".dockerignore keeps the context small", files.check_dockerignore),
    LocalCheck(
        "requirements.pinned", "Requirements pinned with ==", files.check_requirements_pinned
    ),
    LocalCheck("model", "Model present and matching its metadata", files.check_model),
    LocalCheck("tests.collect", "Tests collectable from the root", testsuite.check_collect),
    LocalCheck("tests.paths", "No machine-specific paths in tests", testsuite.check_paths),
    LocalCheck("git.repository", "A git repository with commits", git.check_repository),
    LocalCheck("git.tags", "Version tags are v+semver", git.check_tags),
    LocalCheck("git.clean", "No uncommitted changes", git.check_clean),
    LocalCheck("secrets.files", "No keys tracked in git", secrets.check_tracked_keys),
    LocalCheck(
        "secrets.workflow", "Workflows take GCP_SA_KEY from secrets", secrets.check_workflow_secrets
    ),
    LocalCheck("workflow", "A workflow runs the tests and mlrelease", workflow.check_workflow),
    LocalCheck("size", "The last build is within the size budget", size.check_size),
    LocalCheck("signing", "Releases are signed", signing.check_signing),
    RemoteCheck("credentials", "Google credentials parse and refresh", cloud.check_credentials),
    RemoteCheck("repository", "The release repository exists", cloud.check_repository),
    RemoteCheck("permission", "Uploads to the repository are allowed", cloud.check_permission),
    RemoteCheck(
        "cloud-build", "Cloud Build answers, its bucket is usable", cloud_build.check_cloud_build
    ),
    RemoteCheck("scanning", "Container Scanning answers", scanning.check_scanning),
)
