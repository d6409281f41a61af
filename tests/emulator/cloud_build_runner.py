"""One build, run for real: FETCHSOURCE (the source archive from the storage emulator), BUILD
(each step on the local Docker engine), PUSH (each of `images` to the GAR emulator's registry
with a token of the build's service account), DONE; the log written as it goes, the Build
updated as the real service updates it, and the timeout and cancellation enforced."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.emulator import cloud_build_steps as steps
from tests.emulator.cloud_build_log import BuildLog
from tests.emulator.cloud_build_resources import (
    FAILURE_TYPE,
    NO_GCS_LOG,
    STATUS,
    BuildRecord,
    log_object,
)
from tests.emulator.storage import StorageEmulator

_LAYER = re.compile(r" ---> ([0-9a-f]{12})")
_DIGEST = re.compile(r": digest: (sha256:[0-9a-f]{64}) size: \d+")
_TIMED_OUT = ["TIMEOUT", "ERROR: context deadline exceeded"]


@dataclass(frozen=True)
class Worker:
    """What every build runs with."""

    docker: str  # the docker CLI
    env: Mapping[str, str]  # the environment steps start from (DOCKER_HOST, PATH)
    storage: StorageEmulator
    registry_host: str  # the only registry images may be pushed to
    token: Callable[[str], str]  # a service account's email -> a fresh access token
    service_account: str  # Cloud Build's own, for builds that name none
    workdir: Path
    substitutions: Mapping[str, str]  # PROJECT_ID, PROJECT_NUMBER, ...
    keep_images: bool
    queue_delay_s: float


class _Ended(Exception):
    """The build ends before DONE: its status, failureInfo (type, detail), last log lines."""

    def __init__(
        self, status: str, failure: tuple[str, str] | None = None, lines: list[str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.failure = failure
        self.lines = lines or []


class BuildRunner:
    """Runs `record` on a thread of its own; every change to the Build is made under `lock`."""

    def __init__(self, record: BuildRecord, lock: threading.Lock, worker: Worker) -> None:
        self.record = record
        self.build = record.build
        self.lock = lock
        self.worker = worker
        self.root = worker.workdir / self.build.id
        self.workspace = self.root / "workspace"
        self.built: list[str] = []  # image names this build made, removed afterwards
        self.layers: list[str] = []  # image IDs the classic builder reported (` ---> ID`)
        self.values = {**worker.substitutions, "BUILD_ID": self.build.id}
        self.values["LOCATION"] = record.location
        self.values.update(self.build.substitutions)
        self.deadline = 0.0
        self.log: BuildLog | None = None

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"build-{self.build.id}", daemon=True).start()

    def _run(self) -> None:
        time.sleep(self.worker.queue_delay_s)  # a build is seen QUEUED before it starts
        with self.lock:
            if self.build.status != STATUS.Value("QUEUED"):
                return  # cancelled while queued
            self.build.status = STATUS.Value("WORKING")
            self.build.start_time.GetCurrentTime()
            for step in self.build.steps:
                step.status = STATUS.Value("QUEUED")
        bucket, name = log_object(self.build)
        gcs = None if self.build.options.logging in NO_GCS_LOG else self.worker.storage.client()
        self.log = self.record.log = BuildLog(gcs, bucket, name)
        self.deadline = time.monotonic() + self.build.timeout.seconds
        try:
            self.log.line(f'starting build "{self.build.id}"')
            self.log.line()
            self._registry_credentials()
            if self.build.HasField("source"):
                self._fetch_source()
            self._steps()
            if self.build.images:
                self._push()
            self.log.line("DONE")
            self._finish("SUCCESS")
        except _Ended as ended:
            for line in ended.lines:
                self.log.line(line)
            self._finish(ended.status, ended.failure)
        except Exception as err:  # the emulator's own failure: the service's INTERNAL_ERROR
            self.log.line("ERROR")
            self.log.line(f"ERROR: {type(err).__name__}: {err}")
            self._finish("INTERNAL_ERROR")
        finally:
            self._clean_up()

    def _finish(self, status: str, failure: tuple[str, str] | None = None) -> None:
        assert self.log is not None
        self.log.close()  # the whole log is in the bucket before the build is seen finished
        with self.lock:
            self.build.status = STATUS.Value(status)
            self.build.finish_time.GetCurrentTime()
            for _ in self.build.steps:
                self.build.results.build_step_images.append("")
                self.build.results.build_step_outputs.append(b"")
            if failure is not None:
                self.build.failure_info.type_ = FAILURE_TYPE.Value(failure[0])
                self.build.failure_info.detail = self.build.status_detail = failure[1]

    @contextlib.contextmanager
    def _phase(self, key: str) -> Iterator[None]:
        with self.lock:
            self.build.timing[key].start_time.GetCurrentTime()
        try:
            yield
        finally:
            with self.lock:
                self.build.timing[key].end_time.GetCurrentTime()

    def _registry_credentials(self) -> None:
        """A docker config for the steps and the push: the registry host, with a token of the
        build's service account (`serviceAccount`, or Cloud Build's own)."""
        email = self.build.service_account.rpartition("/")[2] or self.worker.service_account
        auth = base64.b64encode(f"oauth2accesstoken:{self.worker.token(email)}".encode())
        config = self.root / "docker-config"
        config.mkdir(parents=True)
        (config / "config.json").write_text(
            json.dumps({"auths": {self.worker.registry_host: {"auth": auth.decode()}}})
        )

    def _fetch_source(self) -> None:
        source = self.build.source.storage_source
        log = self.log
        assert log is not None
        log.line("FETCHSOURCE")
        if not source.bucket:
            raise _Ended("FAILURE", ("FETCH_SOURCE_FAILED", "unsupported source"), ["ERROR"])
        with self._phase("FETCHSOURCE"):
            client = self.worker.storage.client()
            blob = client.bucket(source.bucket).get_blob(source.object_)
            uri = f"gs://{source.bucket}/{source.object_}"
            generation = source.generation or (blob.generation if blob else 0)
            log.line(f"Fetching storage object: {uri}#{generation}")
            if blob is None or generation != blob.generation:
                detail = "fetching storage source: exit status 1"
                raise _Ended(
                    "FAILURE",
                    ("FETCH_SOURCE_FAILED", f"Failed to fetch source: {detail}"),
                    [
                        f"CommandException: No URLs matched: {uri}#{generation}",
                        "CommandException: 1 file/object could not be transferred.",
                        "ERROR",
                        f"ERROR: {detail}",
                    ],
                )
            log.line(f"Copying {uri}#{generation}...")
            archive = self.root / Path(source.object_).name
            # Not through the blob's mediaLink: that names the front its uploader used.
            client.bucket(source.bucket).blob(source.object_).download_to_filename(str(archive))
            size = _human(archive.stat().st_size)
            log.line(f"/ [1 files][{size:>9}/{size:>9}]")
            log.line(f"Operation completed over 1 objects/{size}.")
            self.workspace.mkdir(parents=True)
            _extract(archive, self.workspace)
            archive.unlink()
            with self.lock:
                resolved = self.build.source_provenance.resolved_storage_source
                resolved.bucket, resolved.object_ = source.bucket, source.object_
                resolved.generation = generation

    def _steps(self) -> None:
        log = self.log
        assert log is not None
        self.workspace.mkdir(parents=True, exist_ok=True)
        log.line("BUILD")
        several = len(self.build.steps) > 1  # one step's lines go unprefixed, as the service does
        with self._phase("BUILD"):
            for index, step in enumerate(self.build.steps):
                label = f"Step #{index}" + (f' - "{step.id}"' if step.id else "")
                prefix = f"{label}: " if several else ""
                if several:
                    log.line(f"Starting {label}")
                with self.lock:
                    step.status = STATUS.Value("WORKING")
                    step.timing.start_time.GetCurrentTime()
                    step.pull_timing.start_time.GetCurrentTime()
                    step.pull_timing.end_time.GetCurrentTime()
                outcome = self._step(index, step, lambda text, p=prefix: log.line(p + text))
                allowed = step.allow_failure or outcome.exit_code in step.allow_exit_codes
                if outcome.stopped:
                    status = "CANCELLED" if outcome.stopped == "cancelled" else "TIMEOUT"
                else:
                    status = "FAILURE" if outcome.exit_code and not allowed else "SUCCESS"
                with self.lock:
                    step.timing.end_time.GetCurrentTime()
                    step.status = STATUS.Value(status)
                    if outcome.exit_code is not None:
                        step.exit_code = outcome.exit_code
                if several:
                    log.line(f"Finished {label}")
                self._raise_if_stopped(outcome)
                if status == "FAILURE":
                    detail = (
                        f'build step {index} "{step.name}" failed: step exited with non-zero '
                        f"status: {outcome.exit_code}"
                    )
                    failure = ("USER_BUILD_STEP", f"Build step failure: {detail}")
                    raise _Ended("FAILURE", failure, ["ERROR", f"ERROR: {detail}"])

    def _step(self, index: int, step: Any, line: Callable[[str], None]) -> steps.Outcome:
        args = [steps.substitute(arg, self.values) for arg in step.args]
        env = [steps.substitute(v, self.values) for v in [*self.build.options.env, *step.env]]
        directory = steps.substitute(step.dir_, self.values).strip("/")
        cwd = self.workspace / directory
        cwd.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + step.timeout.seconds if step.HasField("timeout") else None
        name = steps.substitute(step.name, self.values)
        run = {
            "cwd": cwd,
            "on_line": line,
            "cancel": self.record.cancel,
            "deadline": self.deadline,
            "step_deadline": deadline,
        }
        if steps.DOCKER_BUILDER.match(name):
            line(f"Already have image (with digest): {name}")
            if step.entrypoint not in ("", "docker"):
                line(f"exec: {step.entrypoint!r}: the docker builder runs docker only")
                return steps.Outcome(127)
            self.built += steps.built_tags(args)
            if args[:1] == ["push"] and not self._reachable(args[-1]):
                return self._unreachable(args[-1], line)
            variables = dict(variable.split("=", 1) for variable in env if "=" in variable)

            cached = [False]

            def noted(text: str) -> None:
                # Only layers this build made: a cached one may be another build's.
                if (layer := _LAYER.fullmatch(text)) and not cached[0]:
                    self.layers.append(layer[1])
                cached[0] = text == " ---> Using cache"
                line(text)

            return steps.run(
                [self.worker.docker, *steps.with_host_network(args)],
                env=self._docker_env(variables),
                **{**run, "on_line": noted},
            )
        line(f"Already have image: {name}" if self._has_image(name) else f"Pulling image: {name}")
        container = f"cloudbuild-{self.build.id[:8]}-{index}"
        command = steps.container_command(
            self.worker.docker,
            name,
            name=container,
            workspace=self.workspace,
            directory=directory,
            env=env,
            entrypoint=step.entrypoint,
            args=args,
        )
        return steps.run(
            command,
            env=self._docker_env({}),
            on_stop=lambda: self._docker("rm", "-f", container),
            **run,
        )

    def _push(self) -> None:
        log = self.log
        assert log is not None
        log.line("PUSH")
        with self._phase("PUSH"):
            images = [steps.substitute(image, self.values) for image in self.build.images]
            missing = [image for image in images if not self._has_image(image)]
            if missing:
                detail = (
                    "failed to find one or more images after execution of build steps: "
                    f"{json.dumps(missing)}"
                )
                raise _Ended(
                    "FAILURE", ("PUSH_IMAGE_NOT_FOUND", detail), ["ERROR", f"ERROR: {detail}"]
                )
            for image in images:
                log.line(f"Pushing {image}")
                started = time.time()
                output: list[str] = []

                def line(text: str, output: list[str] = output) -> None:
                    log.line(text)
                    output.append(text)

                outcome = self._push_one(image, line)
                self._raise_if_stopped(outcome)
                digest = next((m[1] for m in map(_DIGEST.search, output) if m), None)
                if outcome.exit_code or digest is None:
                    refused = any(t.startswith(("denied:", "unauthorized:")) for t in output)
                    kind = "PUSH_NOT_AUTHORIZED" if refused else "PUSH_FAILED"
                    detail = f'failed to push image "{image}"'
                    lines = ["ERROR", "ERROR: failed to push because we ran out of retries."]
                    raise _Ended("FAILURE", (kind, detail), lines)
                with self.lock:
                    built = self.build.results.images.add(name=image, digest=digest)
                    built.push_timing.start_time.FromNanoseconds(int(started * 1e9))
                    built.push_timing.end_time.GetCurrentTime()

    def _reachable(self, image: str) -> bool:
        """Whether `image` names the GAR emulator's registry: the only one pushed to, so that
        no push leaves this machine."""
        return image.split("/", 1)[0] == self.worker.registry_host

    def _unreachable(self, image: str, line: Callable[[str], None]) -> steps.Outcome:
        host = image.split("/", 1)[0]
        line(f'Get "https://{host}/v2/": dial tcp: lookup {host}: no such host')
        return steps.Outcome(1)

    def _push_one(self, image: str, line: Callable[[str], None]) -> steps.Outcome:
        if not self._reachable(image):
            return self._unreachable(image, line)
        return steps.run(
            [self.worker.docker, "push", image],
            cwd=self.root,
            env=self._docker_env({}),
            on_line=line,
            cancel=self.record.cancel,
            deadline=self.deadline,
        )

    def _raise_if_stopped(self, outcome: steps.Outcome) -> None:
        if outcome.stopped == "cancelled":
            raise _Ended("CANCELLED")
        if outcome.stopped:
            raise _Ended("TIMEOUT", lines=_TIMED_OUT)

    def _docker_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        # The classic builder, as Cloud Build's docker builder runs it (a step may set its own).
        env = {**self.worker.env, "DOCKER_BUILDKIT": "0", **extra}
        env["DOCKER_CONFIG"] = str(self.root / "docker-config")
        return env

    def _docker(self, *args: str) -> bool:
        return steps.docker_succeeds(self.worker.docker, self._docker_env({}), *args)

    def _has_image(self, name: str) -> bool:
        return self._docker("image", "inspect", name)

    def _clean_up(self) -> None:
        """What a worker VM would take with it: the workspace, the credentials, the images."""
        try:
            if not self.worker.keep_images:
                names = [steps.substitute(name, self.values) for name in self.build.images]
                steps.remove_images(
                    self.worker.docker, self._docker_env({}), [*self.built, *names], self.layers
                )
            shutil.rmtree(self.root, ignore_errors=True)
        finally:
            self.record.finished.set()


def _extract(archive: Path, into: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(into)
        return
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(into, filter="data")


def _human(size: float) -> str:
    """A size as gsutil prints it: `7.0 KiB`, `22.9 MiB`."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
