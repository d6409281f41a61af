"""Cleanup policies on a repository: repositories.patch and get, as the client library and
gcloud use them, validated as the API validates them."""

from __future__ import annotations

import json

import pytest

from tests.emulator import GarEmulator
from tests.emulator.conftest import REPOSITORY
from tests.emulator.test_gcloud import LOCATION, Gcloud, gcloud  # noqa: F401

KEEP_RELEASES = {
    "id": "keep-releases",
    "action": "KEEP",
    "condition": {"tagState": "TAGGED", "tagPrefixes": ["v"]},
}
DELETE_OLD = {
    "id": "delete-old",
    "action": "DELETE",
    "condition": {"tagState": "UNTAGGED", "olderThan": "2592000s"},
}
KEEP_RECENT = {
    "id": "keep-recent",
    "action": "KEEP",
    "mostRecentVersions": {"packageNamePrefixes": ["app"], "keepCount": 5},
}


def patch(gar: GarEmulator, token: str, body: dict, mask: str | None, ints: bool = False):
    import requests

    params = {"updateMask": mask} if mask else {}
    if ints:
        params["$alt"] = "json;enum-encoding=int"
    return requests.patch(
        f"{gar.api_endpoint}/v1/{REPOSITORY}",
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_policies_set_through_the_client_library(client):
    from google.cloud.artifactregistry_v1 import CleanupPolicy, Repository
    from google.protobuf import duration_pb2, field_mask_pb2

    policies = {
        "delete-old": CleanupPolicy(
            id="delete-old",
            action=CleanupPolicy.Action.DELETE,
            condition={
                "tag_state": "UNTAGGED",
                "older_than": duration_pb2.Duration(seconds=2592000),
            },
        ),
        "keep-recent": CleanupPolicy(
            id="keep-recent",
            action=CleanupPolicy.Action.KEEP,
            most_recent_versions={"package_name_prefixes": ["app"], "keep_count": 5},
        ),
    }

    updated = client.update_repository(
        repository=Repository(name=REPOSITORY, cleanup_policies=policies),
        update_mask=field_mask_pb2.FieldMask(paths=["cleanup_policies"]),
    )
    read = client.get_repository(name=REPOSITORY)

    for repository in (updated, read):
        assert set(repository.cleanup_policies) == {"delete-old", "keep-recent"}
        old = repository.cleanup_policies["delete-old"]
        assert old.action == CleanupPolicy.Action.DELETE
        assert old.condition.older_than.total_seconds() == 2592000
        assert repository.cleanup_policies["keep-recent"].most_recent_versions.keep_count == 5
        assert not repository.cleanup_policy_dry_run


def test_the_json_is_as_stored_and_dry_run_toggles(gar: GarEmulator, credentials):
    body = {"cleanupPolicies": {"keep-releases": KEEP_RELEASES, "delete-old": DELETE_OLD}}
    patch(gar, credentials.token, body, "cleanupPolicies").raise_for_status()

    dry = patch(gar, credentials.token, {"cleanupPolicyDryRun": True}, "cleanupPolicyDryRun")
    numbers = patch(gar, credentials.token, {}, "cleanupPolicyDryRun", ints=True)

    assert dry.json()["cleanupPolicies"] == {
        "keep-releases": KEEP_RELEASES,
        "delete-old": DELETE_OLD,
    }
    assert dry.json()["cleanupPolicyDryRun"] is True
    assert "cleanupPolicyDryRun" not in numbers.json()  # false: left out, as proto3 JSON does
    assert numbers.json()["cleanupPolicies"]["keep-releases"]["action"] == 2
    assert numbers.json()["cleanupPolicies"]["keep-releases"]["condition"]["tagState"] == 1


@pytest.mark.parametrize(
    ("policies", "words"),
    [
        ({f"p{i}": {**DELETE_OLD, "id": f"p{i}"} for i in range(11)}, "at most 10"),
        ({"p": {"id": "p", "condition": DELETE_OLD["condition"]}}, "must have an action"),
        ({"p": {**KEEP_RECENT, "id": "p", "condition": {}}}, "exactly one of"),
        ({"p": {"id": "p", "action": "KEEP"}}, "exactly one of"),
        ({"p": {**KEEP_RECENT, "id": "p", "action": "DELETE"}}, "needs action KEEP"),
        ({"p": {**DELETE_OLD, "id": "q"}}, "does not match its key"),
        ({"p": {**DELETE_OLD, "id": "p", "action": "ARCHIVE"}}, "Invalid value"),
        ({"p": {"id": "p", "action": "DELETE", "condition": {"olderThan": "30d"}}}, "Duration"),
        ({"p": {"id": "p", "action": "DELETE", "condition": {"age": "1s"}}}, 'Unknown name "age"'),
    ],
)
def test_invalid_policies_are_refused(gar: GarEmulator, credentials, policies, words):
    refused = patch(gar, credentials.token, {"cleanupPolicies": policies}, "cleanup_policies")

    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert words in refused.json()["error"]["message"]
    assert "cleanupPolicies" not in patch(gar, credentials.token, {}, "description").json()


def test_an_unknown_mask_is_refused(gar: GarEmulator, credentials):
    refused = patch(gar, credentials.token, {"format": "MAVEN"}, "format")

    assert refused.status_code == 400


def test_patch_needs_repositories_update(gar: GarEmulator, credentials):
    gar.deny("artifactregistry.repositories.update")

    refused = patch(gar, credentials.token, {"cleanupPolicyDryRun": True}, "cleanupPolicyDryRun")

    assert refused.status_code == 403


def test_gcloud_sets_lists_and_deletes_policies(gcloud: Gcloud, gar: GarEmulator, tmp_path, client):  # noqa: F811
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        json.dumps(
            [
                {
                    "name": "delete-old",
                    "action": {"type": "Delete"},
                    "condition": {"tagState": "untagged", "olderThan": "30d"},
                },
                {
                    "name": "keep-recent",
                    "action": {"type": "Keep"},
                    "mostRecentVersions": {"keepCount": 3},
                },
            ]
        )
    )
    where = ["docker", f"--location={LOCATION}"]

    gcloud.run(
        "artifacts", "repositories", "set-cleanup-policies", *where, f"--policy={policy_file}"
    )
    listed = gcloud.json("artifacts", "repositories", "list-cleanup-policies", *where)
    gcloud.run(
        "artifacts", "repositories", "delete-cleanup-policies", *where, "--policynames=delete-old"
    )

    assert {p["name"] for p in listed} == {"delete-old", "keep-recent"}
    remaining = client.get_repository(name=REPOSITORY).cleanup_policies
    assert set(remaining) == {"keep-recent"}
    assert remaining["keep-recent"].most_recent_versions.keep_count == 3
    old = next(p for p in listed if p["name"] == "delete-old")
    assert old["condition"]["olderThan"] == "2592000s"
