"""`secrets.*`: no key is tracked in git, and workflows take GCP_SA_KEY from secrets."""

from __future__ import annotations

import json
import re

from mlrelease.doctor.frame import Outcome, Project, fail, ok
from mlrelease.doctor.workflow import workflow_files
from mlrelease.versions.git import GitRepo

# Written so that these lines do not match themselves.
_BEGIN = "-----BEGIN " + "[A-Z ]*PRIVATE KEY-----"
# A key, not a mention of one: the marker, a body of base64 (newlines raw or JSON-escaped), the
# end marker. A placeholder such as "-----BEGIN PRIVATE KEY-----xyz" in a test is no key.
_KEY = re.compile(_BEGIN + r"(?:[A-Za-z0-9+/=\s]|\\[nr]){100,}-----END [A-Z ]*PRIVATE KEY-----")
_SERVICE_ACCOUNT_KEY = re.compile(r'"private_key"\s*:\s*"' + _BEGIN)
_SA_KEY_ASSIGNMENT = re.compile(r"^\s*(?:-\s+)?(?:export\s+)?GCP_SA_KEY\s*[:=]\s*(?P<value>.*)$")
_FROM_SECRETS = re.compile(r"""["']?\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}["']?""")


def check_tracked_keys(project: Project) -> Outcome:
    """No service-account key or PEM private key in the index or in HEAD's tree."""
    repo = project.git
    found: dict[tuple[str, int], tuple[str, bool]] = {}
    for revision in ("HEAD", None) if repo.head_commit() else (None,):
        candidates = repo.grep(_BEGIN, revision=revision)
        keys = {path for path in {c[0] for c in candidates} if _holds_key(repo, path, revision)}
        for path, line, text in candidates:
            if path in keys:
                kind = (
                    "a service-account key"
                    if _SERVICE_ACCOUNT_KEY.search(text)
                    else "a PEM private key"
                )
                found[(path, line)] = (kind, revision is None)  # the index wins over HEAD
    if not found:
        return ok("no service-account key or private key in tracked files or HEAD")
    listed = "; ".join(
        f"{kind} in {path}:{line}{'' if staged else ' (in HEAD, removed from the index)'}"
        for (path, line), (kind, staged) in sorted(found.items())
    )
    paths = sorted({path for path, _ in found})
    staged_paths = sorted({path for (path, _), (_, staged) in found.items() if staged})
    steps = []
    if staged_paths:
        steps.append(f"`git rm --cached {' '.join(staged_paths)}`, add them to .gitignore")
    steps.append("commit, then revoke the key: it is in the history already")
    steps.extend(_revoke(project, path) for path in paths)
    return fail(f"{listed}", "; ".join(step for step in steps if step))


def _holds_key(repo: GitRepo, path: str, revision: str | None) -> bool:
    text = repo.show_file(path, revision)
    return text is not None and _KEY.search(text) is not None


def _revoke(project: Project, path: str) -> str:
    """The command that revokes a service-account key file, from its (non-secret) IDs."""
    try:
        key = json.loads((project.git.root / path).read_text(encoding="utf-8"))
        key_id, account = key["private_key_id"], key["client_email"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f"`gcloud iam service-accounts keys delete {key_id} --iam-account={account}`"


def check_workflow_secrets(project: Project) -> Outcome:
    """Every workflow that sets GCP_SA_KEY takes it from `${{ secrets.* }}`."""
    files = workflow_files(project.root)
    inline = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = _SA_KEY_ASSIGNMENT.match(line)
            if match and not _FROM_SECRETS.fullmatch(match["value"].strip()):
                inline.append(f"{project.relative(path)}:{number}")
    if inline:
        return fail(
            f"GCP_SA_KEY is not taken from secrets at {', '.join(inline)}: a key written in a "
            "workflow is readable by everyone who can read the repository",
            "store the key as a repository secret (`gh secret set GCP_SA_KEY < key.json`), "
            "write `GCP_SA_KEY: ${{ secrets.GCP_SA_KEY }}` at "
            + ", ".join(inline)
            + ", and revoke the key that was written there",
        )
    return ok(f"no workflow sets GCP_SA_KEY other than from secrets ({len(files)} read)")
