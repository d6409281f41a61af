"""Reading Dockerfiles as the classic builder does, and finding BuildKit-only syntax."""

from __future__ import annotations

from pathlib import Path

from mlrelease.build import dockerfile

REPO = Path(__file__).resolve().parents[3]


def test_the_project_dockerfile_has_two_named_stages_and_no_buildkit_syntax() -> None:
    parsed = dockerfile.read(REPO / "Dockerfile")

    assert [stage.name for stage in parsed.stages] == ["builder", "runtime"]
    assert all(stage.base == "${PYTHON_IMAGE}" for stage in parsed.stages)
    assert [i.keyword for i in parsed.preamble] == ["ARG"]
    assert dockerfile.buildkit_only(parsed) == []


def test_continuations_are_joined_and_flags_split_off() -> None:
    parsed = dockerfile.parse(
        "FROM base AS build\n"
        "RUN apt-get update \\\n"
        "    # a comment inside the instruction\n"
        "    && apt-get install -y gcc\n"
        "\n"
        "FROM base\n"
        "COPY --from=build --chown=10001 /install /install\n"
    )

    first, second = parsed.stages
    (run,) = first.instructions
    assert (run.line, run.keyword) == (2, "RUN")
    assert run.arguments == "apt-get update && apt-get install -y gcc"
    (copy,) = second.instructions
    assert (copy.line, copy.flags, copy.arguments) == (
        7,
        {"from": "build", "chown": "10001"},
        "/install /install",
    )
    assert second.name is None


def test_buildkit_only_syntax_is_found_with_its_line() -> None:
    parsed = dockerfile.parse(
        "# syntax=docker/dockerfile:1.7\n"
        "FROM base\n"
        "RUN --mount=type=cache,target=/root/.cache pip install -r r.txt\n"
        "COPY --link . /app\n"
        "RUN <<EOF\n"
        "echo hi\n"
        "EOF\n"
        "RUN cat <<< 'here-string is plain shell' && echo $((1<<2))\n"
        "USER 10001\n"
    )

    uses = [(use.line, use.what) for use in dockerfile.buildkit_only(parsed)]

    assert uses == [
        (1, "the `# syntax=docker/dockerfile:1.7` parser directive"),
        (3, "`RUN --mount`"),
        (4, "`COPY --link`"),
        (5, "a heredoc in `RUN`"),
    ]
    # The heredoc's body is not read as instructions.
    assert [i.keyword for i in parsed.instructions] == ["RUN", "COPY", "RUN", "RUN", "USER"]


def test_a_directive_after_the_first_instruction_is_a_comment() -> None:
    parsed = dockerfile.parse("FROM base\n# syntax=docker/dockerfile:1\nRUN true\n")

    assert parsed.directives == {}
    assert dockerfile.buildkit_only(parsed) == []
