"""Push a release and prove that what landed is what was built.

`push_release` gathers the facts (push_facts.py), lets `push_plan.plan_push` decide, and then
carries the plan out, stopping at the first failure:
1. what may be pushed: a `vX.Y.Z` tag that exists in git, and an image built from that tag's
   commit on a clean tree (its revision label says so): in the engine, or, with the
   `cloud-build` builder, the `sha-<7>` image Cloud Build pushed (then no layer is sent: the
   release tag is created on its manifest);
2. the target's preflight (repository, upload permission, or a plain registry that answers);
3. the plan: the tag absent (push), the same image (nothing to push), another image (refused
   unless `--force`, never on immutable tags); the aliases that move forward;
4. the push, with per-call credentials, every stream item checked, transient failures retried;
5. verification: the tag resolves, through the API, to the digest the engine reported;
6. the aliases (`tag_aliases`: major, minor, latest), for stable versions only.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mlrelease.errors import (
    ExternalServiceError,
    MlreleaseError,
    PreconditionError,
    RegistryError,
)
from mlrelease.registry.engine_push import Deadline, EnginePush, push_with_retry
from mlrelease.registry.push_facts import (
    gather_facts,
    local_images,
    registry_images,
    release_commit,
)
from mlrelease.registry.push_plan import (
    PushPlan,
    choose_image,
    plan_push,
)
from mlrelease.results.push import PushEvent, PushResult

if TYPE_CHECKING:
    import docker

    from mlrelease.config.settings import Settings
    from mlrelease.refs import ImageRef
    from mlrelease.registry.target import Target
    from mlrelease.registry.v2 import Manifest


def push_release(
    settings: Settings,
    tag: str,
    *,
    key_file: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[PushEvent], None] = lambda event: None,
    backoff_s: float = 1.0,
) -> PushResult:
    """Push the release `tag` (vX.Y.Z) to the configured target, as the module docstring says."""
    from mlrelease.engine import docker_client
    from mlrelease.registry.target import open_target, require_destination

    deadline = Deadline(settings.deadline_s)
    require_destination(settings)
    commit = release_commit(settings, tag)
    client = None
    if settings.builder == "cloud-build":  # the image is in the registry; no engine is needed
        target = open_target(settings, key_file=key_file)
        target.preflight()
        candidates = registry_images(target, commit)
    else:
        # A read that outlasts the request timeout is a stalled push (a frozen registry).
        client = docker_client(timeout=settings.request_timeout_s)
        candidates = local_images(settings, tag, commit, client)
        # The local side first: no credentials are asked for an image that may not go out.
        choose_image(settings.image, tag, commit, candidates)
        target = open_target(settings, key_file=key_file)
        target.preflight()
    plan = plan_push(gather_facts(settings, tag, commit, candidates, target, force=force))
    ref = target.ref(tag)
    if dry_run:
        existing = target.manifest(tag) if plan.action == "unchanged" else None
        return _result(
            target,
            ref,
            plan,
            digest=existing.digest if existing else None,
            size=existing.compressed_size_bytes if existing else None,
            pushed=False,
            verified=False,
            dry_run=True,
            attempts=0,
        )
    publish = Publish(settings, target, plan, ref, client, deadline, on_progress, backoff_s)
    try:
        landed = publish.release_tag()
        for alias in plan.aliases:
            target.point_tag(alias, landed)
            _verify(target, ref.with_tag(alias), landed.digest)
    except MlreleaseError as err:
        raise publish.failure(err) from err
    return _result(
        target,
        ref,
        plan,
        digest=landed.digest,
        size=landed.compressed_size_bytes,
        pushed=publish.pushed,
        verified=True,
        dry_run=False,
        attempts=publish.attempts,
        warnings=tuple(publish.warnings),
    )


class Publish:
    """Carrying out a plan's push: the image's layers through the engine, then the release tag.

    On Artifact Registry with mutable tags the engine pushes under a temporary tag of this push
    alone (so it also has its own local name), and the release tag is then created through the
    API, which refuses a tag that exists: of two pushes racing to one tag, exactly one wins.
    With immutable tags the registry itself refuses to move a tag. A plain registry has neither:
    the tag is checked again just before the push, the push verified after, and a warning says
    that pushes from elsewhere can still race there."""

    def __init__(
        self,
        settings: Settings,
        target: Target,
        plan: PushPlan,
        ref: ImageRef,
        client: docker.DockerClient | None,
        deadline: Deadline,
        on_progress: Callable[[PushEvent], None],
        backoff_s: float,
    ) -> None:
        self.settings = settings
        self.target = target
        self.plan = plan
        self.ref = ref
        self.client = client
        self.deadline = deadline
        self.on_progress = on_progress
        self.backoff_s = backoff_s
        self.attempts = 0
        self.pushed = False
        self.sent: str | None = None  # the digest the engine reported, once it has
        self.leftover: ImageRef | None = None  # a temporary tag that could not be removed
        self.warnings = list(plan.warnings)

    def release_tag(self) -> Manifest:
        """The manifest the release tag holds once this push is done (verified)."""
        if self.plan.action == "unchanged":
            landed = self.target.manifest(self.plan_tag)
            if landed is None:
                raise RegistryError(f"{self.ref} vanished from the registry during the push")
            return landed
        if self.plan.image.digest is not None:
            return self._tag_in_the_registry(self.plan.image.digest)
        if self.target.atomic_tags and not self.target.immutable_tags:
            return self._through_a_temporary_tag()
        return self._straight_to_the_tag()

    @property
    def plan_tag(self) -> str:
        return self.ref.tag or ""

    def _through_a_temporary_tag(self) -> Manifest:
        temporary = self.ref.with_tag(f"mlrelease-push-{uuid.uuid4().hex[:16]}")
        try:
            landed = self._push(temporary)
            self._create_release_tag(landed, "this push's image is in the registry untagged")
        finally:
            self._forget(temporary)
        _verify(self.target, self.ref, landed.digest)
        return landed

    def _tag_in_the_registry(self, digest: str) -> Manifest:
        """The builder pushed the image: the release tag is created on its manifest, and no
        layer is sent."""
        landed = self.target.manifest(digest)
        if landed is None or landed.config_digest != self.plan.image.image_id:
            raise RegistryError(
                f"{self.plan.image.name} ({digest}) is no longer in the registry",
                hint="build it again (`mlrelease build`), then push",
            )
        if not self.target.atomic_tags:
            self.warnings.append(_PLAIN_RACE.format(host=self.target.repository.host))
        self._create_release_tag(landed, f"the build stays at {self.plan.image.name}")
        _verify(self.target, self.ref, landed.digest)
        return landed

    def _create_release_tag(self, landed: Manifest, left: str) -> None:
        """The release tag at `landed`: moved with --force, else created unless another push
        created it first (PreconditionError saying what is `left`)."""
        if self.plan.action == "replace":
            self.target.point_tag(self.plan_tag, landed)
            self.pushed = True
            return
        held = self.target.create_tag(self.plan_tag, landed)
        if held is not None and held != landed.digest:
            raise PreconditionError(
                f"{self.ref} was created by another push while this one ran: it holds "
                f"{held}, not this push's {landed.digest}",
                hint=f"release a new version (`mlrelease bump patch`); {left}",
            )
        self.pushed = held is None

    def _straight_to_the_tag(self) -> Manifest:
        if not self.target.atomic_tags:
            self.warnings.append(_PLAIN_RACE.format(host=self.target.repository.host))
        with engine_name_lock(self.ref):
            if self.plan.action == "push":  # checked again, right before the push
                held = self.target.manifest(self.plan_tag)
                if held is not None and held.config_digest != self.plan.image.image_id:
                    raise PreconditionError(
                        f"{self.ref} was created by another push while this one ran: it "
                        f"holds {held.digest}",
                        hint="release a new version (`mlrelease bump patch`)",
                    )
            landed = self._push(self.ref)
        self.pushed = True
        _verify(self.target, self.ref, landed.digest)
        return landed

    def _push(self, ref: ImageRef) -> Manifest:
        assert self.client is not None  # an engine push has an engine
        push = EnginePush(
            self.plan.image.image_id, ref, self.settings.attempts, self.deadline, self.backoff_s
        )
        try:
            digest, self.attempts = push_with_retry(
                self.client, push, self.target.auth_config, self.on_progress
            )
        finally:
            self._untag_locally(ref)
        self.sent = digest
        landed = self.target.manifest(digest)
        if landed is None or landed.config_digest != self.plan.image.image_id:
            raise RegistryError(
                f"the registry does not hold {self.plan.image.name} as {digest} after the push",
                hint="another push may have used the same name; push again",
            )
        return landed

    def _forget(self, temporary: ImageRef) -> None:
        try:
            self.target.delete_tag(temporary.tag or "")
        except MlreleaseError as err:
            self.leftover = temporary
            self.warnings.append(f"the temporary tag {temporary} is left: {err.message}")

    def _untag_locally(self, ref: ImageRef) -> None:
        from docker.errors import DockerException

        # Only the name this push gave; the release's own local names stay.
        if self.client is not None and ref.tag and ref.tag.startswith("mlrelease-push-"):
            with contextlib.suppress(DockerException):
                self.client.images.remove(str(ref), noprune=True)

    def failure(self, err: MlreleaseError) -> MlreleaseError:
        """`err` saying whether the image had landed, with the push's data for the envelope."""
        landed = f"the image had landed as {self.sent}" if self.sent else "nothing had landed"
        if self.leftover is not None:
            landed += f", under the temporary tag {self.leftover.tag}, which is left to delete"
        data = {"attempts": self.attempts, **(err.data or {}), "landed_digest": self.sent}
        if self.deadline.expired():
            return ExternalServiceError(
                f"the push of {self.ref} did not finish within its deadline of "
                f"{self.deadline.seconds:g} s ({err.message}); {landed}",
                hint="retry: a second push sends only what is missing; a slow uplink may need "
                "a longer deadline_s",
                data=data,
            )
        failed = type(err)(f"{err.message}; {landed}", hint=err.hint, detail=err.detail, data=data)
        return failed


_PLAIN_RACE = (
    "{host} is a plain registry, which cannot create a tag atomically: a push of the same tag "
    "from another machine can still race this one"
)


@contextlib.contextmanager
def engine_name_lock(ref: ImageRef) -> Iterator[None]:
    """Held while a push uses `ref` as a local name in the engine, so that two pushes of one
    tag from this machine take turns instead of pushing each other's image."""
    import fcntl
    import hashlib
    import os
    import tempfile

    key = hashlib.sha256(f"{os.environ.get('DOCKER_HOST', '')} {ref}".encode()).hexdigest()
    path = Path(tempfile.gettempdir()) / f"mlrelease-push-{key[:24]}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _result(
    target: Target,
    ref: ImageRef,
    plan: PushPlan,
    *,
    digest: str | None,
    size: int | None,
    pushed: bool,
    verified: bool,
    dry_run: bool,
    attempts: int,
    warnings: tuple[str, ...] | None = None,
) -> PushResult:
    return PushResult(
        ref=str(ref),
        uri=ref.repository,
        digest=digest,
        pushed=pushed,
        verified=verified,
        dry_run=dry_run,
        local_image=plan.image.name,
        compressed_size_bytes=size,
        aliases=plan.aliases,
        attempts=attempts,
        credentials_source=target.credentials_source,
        target=target.kind,
        warnings=plan.warnings if warnings is None else warnings,
        notes=plan.notes,
    )


def _verify(target: Target, ref: ImageRef, digest: str) -> None:
    """RegistryError (exit 5) unless `ref`'s tag resolves, through the API, to `digest`."""
    resolved = target.resolve(ref.tag or "")
    if resolved != digest:
        raise RegistryError(
            f"{ref} resolves to {resolved or 'nothing'} after the push, not to the pushed {digest}",
            hint="another push may have moved the tag; inspect it with `mlrelease releases`",
        )
