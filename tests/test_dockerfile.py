"""The Dockerfile scanner agrees with BuildKit's parser, and reads stages, ARGs and errors."""

from __future__ import annotations

import dockerfile
import pytest
from conftest import corpus_files
from golden import cases

from harden.dockerfile import DockerfileDocument, validate_output
from harden.model import DocumentError, Edit

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


def apply(text: str, edit: Edit) -> str:
    return text[: edit.start] + edit.text + text[edit.end :]


def test_positions_are_line_and_column_of_what_was_written() -> None:
    text = 'ARG BASE="python:3.12"\r\nFROM ${BASE} AS app\r\n  RUN a \\\r\n# inside\r\n    b\r\nFROM \\\r\n  alpine:3.20\r\n'
    document = DockerfileDocument.parse("Dockerfile", text)
    arg, from_app, run, from_alpine = document.instructions
    assert document.position(document.word_offset(arg, "python:3.12")) == (1, 11)
    assert document.position(document.word_offset(from_app, "${BASE}")) == (2, 6)
    assert document.position(document.word_offset(from_alpine, "alpine:3.20")) == (7, 3)
    assert document.position_of(run) == (3, 3) == document.position(run.start + 2)
    assert document.source(run) == "  RUN a \\\r\n# inside\r\n    b\r\n"
    assert document.line_start(4) == text.index("    b") and document.line_of(text.index("b\r")) == 4


def test_word_offset_finds_whole_words_after_the_keyword() -> None:
    text = "FROM alpine AS alpine\nRUN echo python:3.12-slim python:3.12\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    from_, run = document.instructions
    assert document.word_offset(from_, "alpine") == text.index("alpine")
    assert document.word_offset(run, "python:3.12") == text.index("python:3.12\n")
    with pytest.raises(ValueError, match="not found"):
        document.word_offset(run, "python")  # only a prefix of words here
    with pytest.raises(ValueError, match="not found"):
        document.word_offset(from_, "FROM")  # the keyword is not an argument


def test_arg_declaration_is_the_last_global_arg_with_a_default() -> None:
    text = "ARG A=1\nARG B\nARG A=2 C=3\nFROM x\nARG A=4\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    assert document.arg_declaration("A") is document.instructions[2]
    assert document.arg_declaration("C") is document.instructions[2]
    assert document.arg_declaration("B") is None  # declared without a default
    assert document.arg_declaration("X") is None


def test_replace_word_edits_only_that_word() -> None:
    text = "ARG BASE=python:3.12\nFROM ${BASE}\nFROM python:3.12 AS b\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    pinned = "python:3.12@sha256:" + "a" * 64
    arg = document.arg_declaration("BASE")
    assert arg is not None
    assert apply(text, document.replace_word(arg, "python:3.12", pinned)) == text.replace("python:3.12", pinned, 1)
    edit = document.replace_word(document.stages[1].instructions[0], "python:3.12", pinned)
    assert apply(text, edit) == f"ARG BASE=python:3.12\nFROM ${{BASE}}\nFROM {pinned} AS b\n"


def test_attached_comment_start_skips_parser_directives() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=\\\n# base image\nFROM a\n\n# run it\n# twice\nCMD x\n"
    document = DockerfileDocument.parse("Dockerfile", text)
    from_, cmd = document.instructions
    assert document.attached_comment_start(from_) == 2
    assert document.attached_comment_start(cmd) == 5
    edit = document.insert_before(document.attached_comment_start(cmd), ["USER app"])
    assert apply(text, edit).endswith("\nUSER app\n# run it\n# twice\nCMD x\n")


@pytest.mark.parametrize("path", FIXTURE_INPUTS + corpus_files("dockerfile"), ids=str)
def test_replace_word_rewrites_every_from_of_real_files(path) -> None:  # type: ignore[no-untyped-def]
    """Over real Dockerfiles: replacing each stage's base changes that FROM and nothing else."""
    text = path.read_text(encoding="utf-8-sig")
    document = DockerfileDocument.parse("Dockerfile", text)
    for stage in document.stages:
        new = stage.base + "-x"
        output = apply(text, document.replace_word(stage.instructions[0], stage.base, new))
        after = DockerfileDocument.parse("Dockerfile", output)
        assert [s.base for s in after.stages] == [new if s.index == stage.index else s.base for s in document.stages]
        assert len(after.instructions) == len(document.instructions)
