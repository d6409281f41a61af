"""The error tree. Each class says when it is raised, its exit code and a default hint.

Only the root command group (`cli/root.py`) turns these into exits; core modules raise them,
translating third-party exceptions at the seam (`raise EngineError(...) from err`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (README, `mlrelease --help`)."""

    OK = 0
    FAILED = 1  # the work itself failed: a build step, a check, a size budget, a smoke test
    USAGE = 2  # usage or configuration error
    PRECONDITION = 3  # dirty tree, tag exists, HEAD not at the tag, image not built, ...
    AUTH = 4  # authentication or permission denied
    EXTERNAL = 5  # engine unreachable, registry or API error after retries
    INTERNAL = 70  # a bug in mlrelease
    INTERRUPTED = 130  # Ctrl-C


class MlreleaseError(Exception):
    """Base of every error mlrelease reports to a user: one message line and one hint line.

    The message says what failed in words; `detail` (or, without it, the text of the exception
    this one was raised from) is the raw explanation, shown only with --verbose. `data` is what
    the JSON envelope's `data` holds on this failure (a push's attempts, what had landed).
    """

    exit_code: ExitCode = ExitCode.INTERNAL
    code: str = "internal"
    hint: str = "this is a bug in mlrelease; rerun with MLRELEASE_DEBUG=1 and report the traceback"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        detail: str | None = None,
        data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.data = data
        if hint is not None:
            self.hint = hint


class WorkFailed(MlreleaseError):
    """The work itself failed: a build step, a check, a size budget, a smoke test."""

    exit_code = ExitCode.FAILED
    code = "failed"
    hint = "read the output above for the failing step"


class BuildError(WorkFailed):
    """A Dockerfile step failed or the build stream reported an error."""

    code = "build_failed"
    hint = "fix the failing Dockerfile step shown above, then rebuild"


class SmokeTestError(WorkFailed):
    """The built image did not start, or /health or /predict answered wrongly."""

    code = "smoke_failed"
    hint = "run the image by hand (`docker run`) and read its log"


class SizeBudgetExceeded(WorkFailed):
    """The built image is larger than `size_budget_mb`; it is still built and tagged."""

    code = "size_budget"
    hint = "`mlrelease size` shows the largest layers; shrink them or raise size_budget_mb"


class OutputError(WorkFailed):
    """stdout could not be written (a full disk, an I/O error); a broken pipe is not one."""

    code = "output"
    hint = "check where stdout goes: a full disk or a file that cannot be written"


class UsageError(MlreleaseError):
    """A command was called wrongly: unknown argument, impossible combination."""

    exit_code = ExitCode.USAGE
    code = "usage"
    hint = "see `mlrelease COMMAND --help`"


class ConfigError(UsageError):
    """A configuration value is missing or invalid; the message names the key and its source."""

    code = "config"
    hint = "fix the value in [tool.mlrelease], the MLRELEASE_* variable or the flag named"


class BuildKitSyntax(ConfigError):
    """The Dockerfile uses syntax only BuildKit knows; docker-py's classic builder would fail."""

    code = "buildkit_syntax"
    hint = "rewrite the line for the classic builder (plain RUN/COPY, no heredoc, no # syntax=)"


class PreconditionError(MlreleaseError):
    """The world is not in the state the command needs (dirty tree, tag exists, image missing)."""

    exit_code = ExitCode.PRECONDITION
    code = "precondition"
    hint = "bring the repository or image into the state named, then rerun"


class AuthError(MlreleaseError):
    """Credentials are missing, rejected, or lack a permission."""

    exit_code = ExitCode.AUTH
    code = "auth"
    hint = "check the credentials source with `mlrelease doctor`"


class ExternalServiceError(MlreleaseError):
    """A service mlrelease depends on failed: the Docker engine, a registry, the GAR API, git."""

    exit_code = ExitCode.EXTERNAL
    code = "external"
    hint = "check that the service is reachable, then retry"


class EngineError(ExternalServiceError):
    """The Docker engine is unreachable or answered with an error."""

    code = "engine"
    hint = "start Docker or point DOCKER_HOST at a running engine (`docker version` must answer)"


class RegistryError(ExternalServiceError):
    """A registry or the Artifact Registry API failed after retries."""

    code = "registry"
    hint = "check the registry's status and your network, then retry"


class TransientError(ExternalServiceError):
    """A failure worth retrying (5xx, 429, a reset connection, a timeout); raised inside a
    retry loop, which reports it as its own error once the attempts are spent."""

    code = "transient"


class PushFailed(ExternalServiceError):
    """The engine's push failed for a reason that retrying did not cure."""

    code = "push_failed"


class RepositoryNotFound(PreconditionError):
    """The Artifact Registry repository does not exist (or the caller may not see it)."""

    code = "repository_not_found"


class PermissionDenied(AuthError):
    """The credentials lack a permission on the repository."""

    code = "permission_denied"


class Interrupted(MlreleaseError):
    """The user interrupted the command (Ctrl-C)."""

    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"
    hint = "rerun the command; check `git tag` if it was interrupted while tagging"


class GitError(ExternalServiceError):
    """A git remote failed (ls-remote, fetch, push) in a way not recognised more precisely."""

    code = "git"
    hint = "run the git command named above by hand to see why it fails"


class RepositoryError(PreconditionError):
    """The local repository is in a state git cannot work in: corrupt, read-only, locked."""

    code = "repository"
    hint = "run the git command named above by hand to see why it fails"


class GitIdentityError(ConfigError):
    """git has no committer identity, so it cannot create an annotated tag."""

    code = "git_identity"
    hint = 'set one: `git config user.name "Your Name"` and `git config user.email you@example.com`'


class NotAGitRepository(UsageError):
    """A command that needs git history was run outside a git working tree."""

    code = "not_a_git_repository"
    hint = "run mlrelease inside the service's git repository"


class DirtyTreeError(PreconditionError):
    """Tracked files have uncommitted changes (staged or not); untracked files do not count."""

    code = "dirty_tree"
    hint = "commit or stash your changes, then rerun"


class HeadAlreadyTagged(PreconditionError):
    """HEAD already carries a version tag, so bumping would tag one commit twice."""

    code = "head_already_tagged"
    hint = "commit the next change first; a commit gets one version"


class TagExistsError(PreconditionError):
    """The tag to create already exists, locally or on the remote it would be pushed to."""

    code = "tag_exists"
    hint = "fetch the tags (`git fetch --tags`) and rerun, so the next version is computed afresh"


class RemoteNotFound(PreconditionError):
    """`--push` names a git remote that the repository does not have."""

    code = "remote_not_found"
    hint = "add it with `git remote add NAME URL` or pass --remote with an existing one"


class PushRejected(ExternalServiceError):
    """The remote did not take a pushed tag; the local tag is kept and named in the message."""

    code = "push_rejected"
    hint = "fix the cause, then `git push REMOTE TAG`, or drop the local tag with `git tag -d TAG`"


MESSAGE_LIMIT = 300  # characters of a third-party message quoted in one of ours


def one_line(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """`text` as one line of at most `limit` characters, for quoting a third party's message."""
    return " ".join(str(text).split())[:limit]


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the work itself failed (a build step, a check, a size budget, a smoke test)",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.PRECONDITION: "a precondition is not met (dirty tree, tag exists, image not built)",
    ExitCode.AUTH: "authentication or permission denied",
    ExitCode.EXTERNAL: "an external service failed (engine, registry, API, git remote)",
    ExitCode.INTERNAL: "internal error (a bug in mlrelease)",
    ExitCode.INTERRUPTED: "interrupted",
}
"""One line per exit code, shown in `mlrelease --help` (and fit for the README)."""
