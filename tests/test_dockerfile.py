"""The Dockerfile scanner agrees with BuildKit's parser, and reads stages, ARGs and errors."""

from __future__ import annotations

import dockerfile
import pytest
from conftest import corpus_files
from golden import cases

from harden.dockerfile import DockerfileDocument, validate_output
from harden.model import DocumentError

FIXTURE_INPUTS = [c.input for c in cases() if c.kind == "dockerfile"]


def buildkit(text: str) -> list[tuple[str, int, int]]:
    return [(c.cmd.upper(), c.start_line, c.end_line) for c in dockerfile.parse_string(text)]


def ours(text: str) -> list[tuple[str, int, int]]:
    document = DockerfileDocument.parse("Dockerfile", text)
    return [(i.keyword, i.start_line + 1, i.end_line + 1) for i in document.instructions]


@pytest.mark.parametrize("path", FIXTURE_INPUTS + corpus_files("dockerfile"), ids=str)
def test_instruction_spans_agree_with_buildkit(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8-sig")
    assert ours(text) == buildkit(text)


def test_heredoc_bodies_are_opaque() -> None:
    text = 'FROM alpine\nRUN <<EOF\nUSER root\nFROM x\nEOF\nCOPY <<-A <<B /x/\n\tCMD a\n\tA\nbody\nB\nCMD ["sh"]\n'
    document = DockerfileDocument.parse("Dockerfile", text)
    assert [i.keyword for i in document.instructions] == ["FROM", "RUN", "COPY", "CMD"]
    assert len(document.instructions[2].heredocs) == 2
    assert ours(text) == buildkit(text)


def test_continuation_with_comment_and_blank_lines() -> None:
    text = "FROM a\nRUN one \\\n# comment\n\n  two\nCMD x\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    run = document.instructions[1]
    assert (run.start_line, run.end_line) == (1, 4)
    assert run.args.split() == ["one", "two"]


def test_backtick_escape_and_crlf() -> None:
    text = "# escape=`\r\nFROM mcr.microsoft.com/windows/nanoserver:ltsc2022\r\nRUN a `\r\n  b\r\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    assert document.escape == "`" and document.newline == "\r\n"
    assert document.instructions[1].args == "a   b"


def test_stages_chains_and_args() -> None:
    text = (
        "ARG BASE=debian:bookworm\nARG TAG\nFROM ${BASE} AS Base\nFROM base AS build\nFROM build\n"
        "FROM ${REGISTRY:-docker.io}/library/alpine:${TAG:-3.20}\nFROM image:${TAG}\n"
    )
    document = DockerfileDocument.parse("Dockerfile", text)
    base, build, final, alpine, unknown = document.stages
    assert base.name == "base" and build.label == "build" and final.label == "2"
    assert [s.label for s in document.chain(final)] == ["2", "build", "base"]
    assert document.external_base(final) == "debian:bookworm"
    assert document.external_base(alpine) == "docker.io/library/alpine:3.20"
    assert document.external_base(unknown) is None


def test_flags_and_exec_form() -> None:
    text = 'FROM --platform=$BUILDPLATFORM golang AS b\nRUN --mount=type=cache,target=/c go build\nCMD ["a", "b"]\n'
    document = DockerfileDocument.parse("Dockerfile", text)
    assert document.stages[0].platform == "$BUILDPLATFORM"
    assert document.instructions[1].flag("mount") == "type=cache,target=/c"
    assert document.instructions[2].exec_form == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# just a comment\n", 1, "no FROM"),
        ("RUN echo hi\nFROM a\n", 1, "before the first FROM"),
        ("FROM a\nFOO bar\n", 2, "unknown instruction"),
        ("FROM a\nRUN <<EOF\necho\n", 2, "unterminated heredoc"),
        ("# escape=x\nFROM a\n", 1, "escape"),
        ("FROM a b c d\n", 1, "cannot parse FROM"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(DocumentError) as raised:
        DockerfileDocument.parse("Dockerfile", text)
    assert raised.value.line == line and words in raised.value.message


def test_validate_output_catches_a_broken_instruction() -> None:
    before = DockerfileDocument.parse("D", "FROM a\nRUN x\nCMD y\n")
    good = DockerfileDocument.parse("D", "FROM a\nRUN x\nUSER app\nCMD y\n")
    lost = DockerfileDocument.parse("D", "FROM a\nCMD y\n")
    assert validate_output(before, good) == []
    assert validate_output(before, lost)


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\nRUN echo hi \\",
        "FROM a\nRUN echo hi \\\n",
        "FROM a\nRUN echo hi \\\n# comment\n\n",
        "FROM a\nRUN a \\\n  b \\",
        "FROM a\nCMD \\",
        "# escape=`\nFROM a\nRUN a `\r\n",
    ],
)
def test_a_continuation_that_runs_into_the_end_of_the_file(text: str) -> None:
    """BuildKit ends the instruction at the end of the file; so do we, and an appended line
    does not join it (append removes the dangling escape character)."""
    assert ours(text) == buildkit(text)
    document = DockerfileDocument.parse("Dockerfile", text)
    assert document.dangling_escape is not None and text[document.dangling_escape] == document.escape
    edit = document.append(["USER app"])
    output = text[: edit.start] + edit.text + text[edit.end :]
    assert [c.cmd.upper() for c in dockerfile.parse_string(output)][-1] == "USER"
    assert ours(output) == buildkit(output)
    assert validate_output(document, DockerfileDocument.parse("Dockerfile", output)) == []


def test_offset_of_names_the_instruction_of_a_semantic_path() -> None:
    text = "ARG V=1\nFROM a AS build\nRUN make\nFROM b\nUSER app\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    assert document.offset_of(("stages", "build", "RUN make")) == text.index("RUN make")
    assert document.offset_of(("stages", "1", "USER app")) == text.index("USER app")
    assert document.offset_of(("stages", "1", "USER gone")) == text.index("FROM b")
    assert document.offset_of(("global", "ARG V=1")) == 0
    assert document.offset_of(("stages", "9")) is None
