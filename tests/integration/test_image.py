"""The service image, built from the repository's own Dockerfile through docker-py."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from mlrelease.build.classic import build_image
from mlrelease.build.smoke import smoke_test
from mlrelease.errors import BuildError
from mlrelease.results.build import BuildResult

pytestmark = pytest.mark.integration


def _build(context: Path, base_image: str, tag: str, client) -> tuple[BuildResult, list[str]]:
    log: list[str] = []
    result = build_image(
        context=context,
        tags=[tag],
        buildargs={"PYTHON_IMAGE": base_image},
        network_mode="host",  # pip reaches PyPI through the host's network here
        on_log=log.append,
        client=client,
    )
    return result, log


def _step_of(log: list[str], instruction: str) -> int:
    for line in log:
        if line.startswith("Step ") and instruction in line:
            return int(line.split()[1].split("/")[0])
    raise AssertionError(f"no step {instruction!r} in the build log:\n" + "\n".join(log))


@pytest.fixture(scope="module")
def built(
    docker_client, base_image, service_context, image_namespace
) -> tuple[BuildResult, list[str]]:
    return _build(service_context, base_image, f"{image_namespace}/service:first", docker_client)


def _run(docker_client, image: str, command: str) -> tuple[int, str]:
    container = docker_client.containers.run(image, ["sh", "-c", command], detach=True)
    try:
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode().strip()
    finally:
        container.remove(force=True)


def _trained(service_context: Path) -> dict:
    """The metadata training wrote beside the model: its sha256 and its example."""
    return json.loads((service_context / "service/model/model.json").read_text())


def test_image_serves_health_and_correct_predictions(docker_client, built, service_context):
    result, _ = built
    trained = _trained(service_context)

    smoke = smoke_test(result.tags[0], client=docker_client)

    assert smoke.prediction == trained["example"]["prediction"]
    assert smoke.model_sha256 == trained["sha256"]


def test_image_runs_as_non_root_without_a_compiler(docker_client, built):
    result, _ = built
    code, uid = _run(docker_client, result.image_id, "id -u")
    assert code == 0, uid
    assert uid != "0"
    code, found = _run(
        docker_client,
        result.image_id,
        "command -v gcc cc c++ g++ clang || ls /usr/bin/*-gcc* 2>/dev/null",
    )
    assert code != 0 and found == "", f"a compiler is in the runtime image: {found}"


def test_image_has_healthcheck_and_keeps_tests_out(docker_client, built):
    result, _ = built
    config = docker_client.images.get(result.image_id).attrs["Config"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    code, listing = _run(docker_client, result.image_id, "ls -A /app /app/service")
    assert code == 0, listing
    assert "model" in listing
    for unwanted in ("tests", ".git", "Dockerfile", "requirements.txt", "mlrelease"):
        assert unwanted not in listing.split(), listing


def test_code_change_rebuild_reuses_dependency_layers(
    docker_client, base_image, built, service_context, tmp_path, image_namespace
):
    first, _ = built
    context = tmp_path / "context"
    shutil.copytree(service_context, context)
    app = context / "service" / "app.py"
    app.write_text(app.read_text() + "\n# a code-only change\n")
    second, log = _build(context, base_image, f"{image_namespace}/service:second", docker_client)

    install = _step_of(log, "RUN python -m pip install")
    copy_code = _step_of(log, "COPY service/*.py")
    assert install in second.cached_steps, "\n".join(log)
    assert copy_code not in second.cached_steps, "\n".join(log)
    # Only the code layer differs: every filesystem layer below it is the very same one.
    first_fs = docker_client.images.get(first.image_id).attrs["RootFS"]["Layers"]
    second_fs = docker_client.images.get(second.image_id).attrs["RootFS"]["Layers"]
    assert first_fs[:-1] == second_fs[:-1]
    assert first_fs[-1] != second_fs[-1]


def test_failing_step_is_a_build_error_naming_the_step(
    docker_client, base_image, tmp_path, image_namespace
):
    (tmp_path / "Dockerfile").write_text(
        "ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\nRUN echo about to fail && exit 3\n"
    )
    with pytest.raises(BuildError, match=r"step 3/3.*returned a non-zero code: 3"):
        _build(tmp_path, base_image, f"{image_namespace}/broken:1", docker_client)


def test_image_pushes_to_the_local_registry(docker_client, built, registry):
    result, _ = built
    reference = f"{registry.host}/ml-service"
    docker_client.images.get(result.image_id).tag(reference, "smoke")
    items = list(docker_client.api.push(reference, tag="smoke", stream=True, decode=True))
    assert not [item for item in items if "error" in item or "errorDetail" in item], items
    request = urllib.request.Request(
        f"{registry.url}/v2/ml-service/manifests/smoke",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        digest = response.headers["Docker-Content-Digest"]
    pushed = [item["aux"]["Digest"] for item in items if "aux" in item]
    assert pushed == [digest]


def test_pruned_image_has_no_test_suites_compiles_nothing_and_predicts(
    docker_client, built, service_context
):
    result, _ = built
    code, found = _run(
        docker_client,
        result.image_id,
        "find /install -type d \\( -name tests -o -name test \\) ; "
        "find /install \\( -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.h' \\)",
    )
    assert code == 0 and found == "", f"left in the image:\n{found}"
    # Every module has its bytecode, so the non-root service (which cannot write
    # __pycache__) never compiles at start.
    code, missing = _run(
        docker_client,
        result.image_id,
        'python -c "import importlib.util as u, pathlib as p; '
        "print('\\n'.join(str(f) for f in p.Path('/install').rglob('*.py') "
        'if not p.Path(u.cache_from_source(str(f))).exists()))"',
    )
    assert code == 0 and missing == "", f"without bytecode:\n{missing[:2000]}"
    smoke = smoke_test(result.tags[0], client=docker_client)
    assert smoke.prediction == _trained(service_context)["example"]["prediction"]


def test_docker_stop_lets_a_request_in_flight_finish_and_exits_0(docker_client, built):
    """`docker stop` sends SIGTERM to PID 1 (the server): the request being uploaded when it
    arrives still gets its 200, and the container exits 0, not 143."""
    import json
    import socket
    import threading
    import time

    from mlrelease.build.smoke import free_port

    result, _ = built
    port = free_port()
    container = docker_client.containers.run(
        result.tags[0],
        detach=True,
        network_mode="host",
        environment={"PORT": str(port), "HOST": "127.0.0.1", "GRACEFUL_TIMEOUT": "15"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/metadata", timeout=1) as answer:
                    example = json.loads(answer.read())["model"]["example"]
                break
            except OSError:
                assert time.monotonic() < deadline, container.logs().decode()[-2000:]
                time.sleep(0.2)
        body = json.dumps({"instances": [example["instance"]] * 200}).encode()
        head = (
            f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head + body[: len(body) // 2])
            time.sleep(0.5)  # accepted and reading the body
            stopping = threading.Thread(target=container.stop, kwargs={"timeout": 30})
            stopping.start()
            time.sleep(1.0)  # SIGTERM has arrived
            sock.sendall(body[len(body) // 2 :])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        stopping.join(timeout=60)
        status_line = answer.split(b"\r\n", 1)[0].decode()
        assert status_line.endswith("200 OK"), answer[:500]
        assert (
            json.loads(answer.split(b"\r\n\r\n", 1)[1])["predictions"][0] == (example["prediction"])
        )
        assert container.wait(timeout=30)["StatusCode"] == 0, container.logs().decode()[-2000:]
    finally:
        container.remove(force=True)
