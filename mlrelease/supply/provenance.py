"""Build provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1.

The subject is the image's manifest digest in the registry. `buildDefinition` says what was
built from what (the Dockerfile with its sha256, the build arguments, the source repository and
commit; the base image as a resolved dependency); `runDetails` who built it (the GitHub Actions
run, or `local:<hostname>`) and when. The shape is checked with the in-toto-attestation
bindings before anything is attached.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlrelease.errors import WorkFailed

MEDIA_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://mlrelease.dev/buildtypes/docker-image/v1"
CLOUD_BUILD_BUILDER = "https://cloudbuild.googleapis.com/GoogleHostedWorker"
BUILDERS = {
    "classic": "docker classic builder",
    "buildkit": "BuildKit (docker CLI)",
    "cloud-build": "Cloud Build (gcr.io/cloud-builders/docker, BuildKit)",
}


@dataclass(frozen=True)
class BuildFacts:
    """What a provenance records about one build."""

    repository: str  # HOST/PATH of the released image
    digest: str  # its manifest digest, sha256:<hex>
    dockerfile: str  # path relative to the project root
    dockerfile_sha256: str | None  # None when the Dockerfile cannot be read
    commit: str | None
    source: str | None  # the source repository's URL (https), None without a remote
    build_args: Mapping[str, str] = field(default_factory=dict)
    base_image: str | None = None
    base_digest: str | None = None  # sha256:<hex> in its registry, or the local image ID
    base_digest_is_image_id: bool = False  # no registry digest known: the engine's image ID
    started_on: str | None = None  # RFC 3339
    finished_on: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    builder: str = "classic"  # what built it: classic, buildkit or cloud-build (its label)


def builder_id(env: Mapping[str, str]) -> tuple[str, str | None]:
    """(builder.id, invocationId): the GitHub Actions run when there is one, else this host."""
    server, repository, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repository and run:
        url = f"{server.rstrip('/')}/{repository}/actions/runs/{run}"
        attempt = env.get("GITHUB_RUN_ATTEMPT")
        return url, f"{url}/attempts/{attempt}" if attempt else url
    return f"local:{socket.gethostname()}", None


def docker_purl(reference: str) -> str:
    """The purl of an image reference: `pkg:docker/ns/name@tag`, the registry as the
    `repository_url` qualifier when it is not Docker Hub."""
    from packageurl import PackageURL

    name, at, digest = reference.partition("@")
    host, slash, rest = name.partition("/")
    qualifiers = {}
    if slash and ("." in host or ":" in host or host == "localhost"):
        qualifiers["repository_url"] = host
        name = rest
    path, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        path, tag = name, "latest"
    namespace, _, base = path.rpartition("/")
    return str(
        PackageURL(
            type="docker",
            namespace=namespace or None,
            name=base,
            version=digest if at else tag,
            qualifiers=qualifiers or None,
        )
    )


def provenance_statement(facts: BuildFacts) -> dict[str, Any]:
    """The in-toto Statement for `facts`, validated."""
    algorithm, _, hex_digest = facts.digest.partition(":")
    external: dict[str, Any] = {
        "dockerfile": {"path": facts.dockerfile},
        "buildArgs": dict(sorted(facts.build_args.items())),
    }
    if facts.dockerfile_sha256:
        external["dockerfile"]["sha256"] = facts.dockerfile_sha256
    dependencies: list[dict[str, Any]] = []
    if facts.source or facts.commit:
        external["source"] = {
            key: value
            for key, value in (("repository", facts.source), ("commit", facts.commit))
            if value
        }
        source: dict[str, Any] = {"digest": {"gitCommit": facts.commit}} if facts.commit else {}
        if facts.source:
            source["uri"] = f"git+{facts.source}"
        dependencies.append(source)
    if facts.base_image or facts.base_digest:
        base: dict[str, Any] = {"name": facts.base_image or "base image"}
        if facts.base_image:
            base["uri"] = docker_purl(facts.base_image)
        if facts.base_digest:
            kind, _, value = facts.base_digest.partition(":")
            base["digest"] = {kind: value}
            if facts.base_digest_is_image_id:
                base["annotations"] = {"digestOf": "the local image ID (config digest)"}
        dependencies.append(base)
    builder, invocation = builder_id(facts.env)
    if facts.builder == "cloud-build":  # the platform that ran the build, as Cloud Build names it
        builder = CLOUD_BUILD_BUILDER
    metadata: dict[str, Any] = {}
    if invocation:
        metadata["invocationId"] = invocation
    if facts.started_on:
        metadata["startedOn"] = facts.started_on
    if facts.finished_on:
        metadata["finishedOn"] = facts.finished_on
    run_details: dict[str, Any] = {"builder": {"id": builder}}
    if metadata:
        run_details["metadata"] = metadata
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": facts.repository, "digest": {algorithm: hex_digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"builder": BUILDERS.get(facts.builder, facts.builder)},
                "resolvedDependencies": dependencies,
            },
            "runDetails": run_details,
        },
    }
    validate(statement)
    return statement


def validate(statement: dict[str, Any]) -> None:
    """WorkFailed unless `statement` is an in-toto Statement v1 with an SLSA v1 predicate, as
    the in-toto-attestation bindings read them."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    try:
        parsed = json_format.ParseDict(statement, statement_pb2.Statement())
        Statement.copy_from_pb(parsed).validate()
        if parsed.predicate_type != PREDICATE_TYPE:
            raise ValueError(f"predicateType is {parsed.predicate_type}")
        json_format.ParseDict(statement["predicate"], provenance_pb2.Provenance())
    except (json_format.ParseError, ValueError, KeyError) as err:
        raise WorkFailed(
            f"the provenance is not a valid in-toto Statement v1 / SLSA v1: {err}",
            hint="this is a bug in mlrelease's provenance; rerun with MLRELEASE_DEBUG=1",
        ) from err


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The statement as stored: compact JSON, keys in order."""
    return json.dumps(statement, separators=(",", ":")).encode()


def subject_digests(statement: dict[str, Any]) -> list[str]:
    """The digests (`sha256:<hex>`) a statement's subjects name."""
    found = []
    for subject in statement.get("subject") or []:
        for algorithm, value in (subject.get("digest") or {}).items():
            found.append(f"{algorithm}:{value}")
    return found


def source_commit(statement: dict[str, Any]) -> str | None:
    """The commit the provenance says the image was built from."""
    predicate = statement.get("predicate") or {}
    external = (predicate.get("buildDefinition") or {}).get("externalParameters") or {}
    commit = (external.get("source") or {}).get("commit")
    return str(commit) if commit else None
