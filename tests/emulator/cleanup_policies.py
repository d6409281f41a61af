"""repositories.patch and the repository's cleanup policies, validated as the API validates them.

A Repository's `cleanupPolicies` is a map from policy ID to
`{"id", "action": DELETE|KEEP, "condition": {...}}` or `{..., "mostRecentVersions": {...}}`,
at most 10 (Artifact Registry's documented limit); `cleanupPolicyDryRun` keeps them from
deleting anything. Unknown fields are refused as Google's JSON front end refuses them. The
emulator stores policies and never applies them (GAR applies them about once a day)."""

from __future__ import annotations

import re
from typing import Any

from tests.emulator import google_errors
from tests.emulator.http import Response
from tests.emulator.resources import Call
from tests.emulator.state import now

MAX_POLICIES = 10
ACTIONS = {"DELETE": 1, "KEEP": 2}
TAG_STATES = {"TAGGED": 1, "UNTAGGED": 2, "ANY": 3}
_CONDITION = {"tagState", "tagPrefixes", "versionNamePrefixes", "packageNamePrefixes"}
_DURATIONS = {"olderThan", "newerThan"}
_MOST_RECENT = {"packageNamePrefixes", "keepCount"}
_DURATION = re.compile(r"^(?P<seconds>\d+)(?P<fraction>\.\d{1,9})?s$")
# updateMask paths, as gcloud writes them (snake_case) or as JSON names them (camelCase).
_MASK = {
    "cleanup_policies": "cleanupPolicies",
    "cleanuppolicies": "cleanupPolicies",
    "cleanup_policy_dry_run": "cleanupPolicyDryRun",
    "cleanuppolicydryrun": "cleanupPolicyDryRun",
    "description": "description",
    "labels": "labels",
    "docker_config.immutable_tags": "dockerConfig.immutableTags",
    "dockerconfig.immutabletags": "dockerConfig.immutableTags",
}


class Invalid(Exception):
    """A request body the API refuses; the message is the API's, `field` where it is."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def update_repository(call: Call) -> Response | None:
    """Apply a repositories.patch to the call's repository; the refusal, if any. Without an
    updateMask every updatable field is replaced by the body's (gcloud's read-modify-update
    deletes a policy by sending the repository without it)."""
    body = call.request.json()
    if not isinstance(body, dict):
        return google_errors.invalid_argument("Invalid JSON payload received.", "repository")
    mask = [m.strip() for m in (call.request.arg("updateMask") or "").split(",") if m.strip()]
    fields = set()
    for path in mask:
        if path.lower() not in _MASK:
            return google_errors.invalid_argument(
                f'Invalid update_mask path "{path}" for Repository.', "update_mask"
            )
        fields.add(_MASK[path.lower()])
    fields = fields or set(_MASK.values())
    try:
        policies = parse_policies(body.get("cleanupPolicies") or {})
    except Invalid as err:
        return google_errors.invalid_argument(str(err), err.field)
    repository = call.repository
    if "cleanupPolicies" in fields:
        repository.cleanup_policies = policies
    if "cleanupPolicyDryRun" in fields:
        repository.cleanup_policy_dry_run = bool(body.get("cleanupPolicyDryRun"))
    if "description" in fields:
        repository.description = str(body.get("description") or "")
    if "labels" in fields:
        repository.labels = dict(body.get("labels") or {})
    if "dockerConfig.immutableTags" in fields:
        repository.immutable_tags = bool((body.get("dockerConfig") or {}).get("immutableTags"))
    repository.updated = now()
    return None


def parse_policies(raw: Any) -> dict[str, dict[str, Any]]:
    """The policies of a request body, normalised (enum names, durations as "Ns")."""
    at = "repository.cleanup_policies"
    if not isinstance(raw, dict):
        raise Invalid(_payload_error(at, "expected a map of policies"), at)
    if len(raw) > MAX_POLICIES:
        raise Invalid(
            f"Repository can have at most {MAX_POLICIES} cleanup policies, got {len(raw)}.", at
        )
    return {key: _policy(key, value, f"{at}[{key!r}]") for key, value in raw.items()}


def _policy(key: str, raw: Any, at: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(_payload_error(at, "expected a CleanupPolicy object"), at)
    _known(raw, {"id", "action", "condition", "mostRecentVersions"}, at)
    policy_id = raw.get("id", key)
    if policy_id != key or not key:
        raise Invalid(f'Cleanup policy ID "{policy_id}" does not match its key "{key}".', at)
    action = _enum(raw.get("action"), ACTIONS, f"{at}.action")
    if action is None:
        raise Invalid(f'Cleanup policy "{key}" must have an action: DELETE or KEEP.', at)
    if ("condition" in raw) == ("mostRecentVersions" in raw):
        raise Invalid(
            f'Cleanup policy "{key}" must have exactly one of condition or mostRecentVersions.',
            at,
        )
    policy: dict[str, Any] = {"id": key, "action": action}
    if "condition" in raw:
        policy["condition"] = _condition(raw["condition"], f"{at}.condition")
    else:
        if action != "KEEP":
            raise Invalid(f'Cleanup policy "{key}": mostRecentVersions needs action KEEP.', at)
        policy["mostRecentVersions"] = _most_recent(
            raw["mostRecentVersions"], f"{at}.most_recent_versions"
        )
    return policy


def _condition(raw: Any, at: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(_payload_error(at, "expected a CleanupPolicyCondition object"), at)
    _known(raw, _CONDITION | _DURATIONS, at)
    condition: dict[str, Any] = {}
    if raw.get("tagState") is not None:
        state = _enum(raw["tagState"], TAG_STATES, f"{at}.tag_state")
        if state is not None:
            condition["tagState"] = state
    for field in sorted(_CONDITION - {"tagState"}):
        if field in raw:
            condition[field] = _strings(raw[field], f"{at}.{field}")
    for field in sorted(_DURATIONS):
        if field in raw:
            condition[field] = _duration(raw[field], f"{at}.{field}")
    return condition


def _most_recent(raw: Any, at: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(_payload_error(at, "expected a CleanupPolicyMostRecentVersions object"), at)
    _known(raw, _MOST_RECENT, at)
    versions: dict[str, Any] = {}
    if "packageNamePrefixes" in raw:
        versions["packageNamePrefixes"] = _strings(raw["packageNamePrefixes"], at)
    if "keepCount" in raw:
        count = raw["keepCount"]
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 2**31:
            raise Invalid(_payload_error(f"{at}.keep_count", f"invalid int32 {count!r}"), at)
        versions["keepCount"] = count
    return versions


def _known(raw: dict, fields: set[str], at: str) -> None:
    for name in raw:
        if name not in fields:
            raise Invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{at}': "
                "Cannot find field.",
                at,
            )


def _enum(value: Any, names: dict[str, int], at: str) -> str | None:
    """An enum given by name in any case (GAR's documented policy files write "Delete" and
    "tagged", and gcloud sends them as they are) or by number; None when unspecified."""
    for name, number in names.items():
        if value == number or (isinstance(value, str) and value.upper() == name):
            return name
    if value in (None, 0) or str(value).endswith("_UNSPECIFIED"):
        return None
    raise Invalid(_payload_error(at, f"invalid value {value!r}"), at)


def _strings(value: Any, at: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(_payload_error(at, "expected a list of strings"), at)
    return value


def _duration(value: Any, at: str) -> str:
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise Invalid(_payload_error(at, f"invalid google.protobuf.Duration {value!r}"), at)
    fraction = (match["fraction"] or "").rstrip("0").rstrip(".")
    return f"{int(match['seconds'])}{fraction}s"


def _payload_error(at: str, problem: str) -> str:
    return f"Invalid JSON payload received. Invalid value at '{at}': {problem}."


def policies_json(policies: dict[str, dict[str, Any]], ints: bool) -> dict[str, Any]:
    """Stored policies as the API answers them, enums as numbers when the client asked."""
    if not ints:
        return policies
    answered = {}
    for key, policy in policies.items():
        policy = {**policy, "action": ACTIONS[policy["action"]]}
        if "tagState" in policy.get("condition", {}):
            condition = policy["condition"]
            policy["condition"] = {**condition, "tagState": TAG_STATES[condition["tagState"]]}
        answered[key] = policy
    return answered
