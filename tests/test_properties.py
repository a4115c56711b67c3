"""Property tests: over generated Dockerfiles in many styles, `fix` only inserts lines (every
original line stays byte-identical, in order), agrees with BuildKit, and is idempotent."""

from __future__ import annotations

import difflib
from collections import Counter

import dockerfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harden import engine
from harden.config import Settings
from harden.diff import split_lines

IMAGES = [
    "debian:bookworm",
    "alpine:3.20",
    "python:3.12-slim",
    "node:20",
    "scratch",
    "registry.example.com/x/y:1",
    "registry.access.redhat.com/ubi9/ubi",
    "gcr.io/distroless/static",
    "busybox",
    "postgres:16",
    "${BASE}",
]


@st.composite
def dockerfiles(draw: st.DrawFn) -> bytes:
    escape = draw(st.sampled_from(["\\", "`"]))
    lines: list[str] = []
    if escape == "`" or draw(st.booleans()):
        lines.append(f"# escape={escape}")
    if draw(st.booleans()):
        lines.append("# syntax=docker/dockerfile:1")
    if draw(st.booleans()):
        lines.append("ARG BASE=debian:bookworm")
    indent = draw(st.sampled_from(["", "  ", "\t"]))

    def kw(word: str) -> str:
        return word.lower() if draw(st.booleans()) and draw(st.booleans()) else word

    names: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        image = draw(st.sampled_from(IMAGES + names))
        name = f"s{index}"
        names.append(name)
        lines.append(f"{kw('FROM')} {image} AS {name}" if draw(st.booleans()) else f"{kw('FROM')} {image}")
        for _ in range(draw(st.integers(0, 6))):
            choice = draw(st.integers(0, 9))
            if choice == 0:
                lines.append(f"{indent}{kw('RUN')} apt-get update {escape}")
                if draw(st.booleans()):
                    lines.append("    # a comment inside the continuation")
                if draw(st.booleans()):
                    lines.append("")
                lines.append("    && echo done")
            elif choice == 1:
                lines.extend([f"{indent}{kw('RUN')} <<EOF", "set -e", "USER root", "CMD fake", "EOF"])
            elif choice == 2:
                lines.append(f"{indent}{kw('COPY')} --chown=1:1 . /app")
            elif choice == 3:
                lines.append(f"{indent}{kw('USER')} {draw(st.sampled_from(['root', '0', 'app', 'node', '1000:1000']))}")
            elif choice == 4:
                lines.append(f"{indent}{kw('EXPOSE')} {draw(st.sampled_from(['80', '8080', '443/tcp 9000']))}")
            elif choice == 5:
                command = draw(st.sampled_from(['["app"]', "app --serve"]))
                lines.append(f"{indent}{kw('CMD')} {command}")
            elif choice == 6:
                lines.append(indent + kw("ENTRYPOINT") + ' ["/entrypoint.sh"]')
            elif choice == 7:
                lines.append("# a comment")
            elif choice == 8:
                lines.append("")
            else:
                lines.append(indent + kw("ENV") + ' A=1 B="two words"')
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode("utf-8")


def only_insertions(before: str, after: str) -> bool:
    ending = "\r\n" if "\r\n" in before else "\n"
    assert before.endswith("\n") == after.endswith("\n")  # a missing final newline stays missing
    old, new = (
        split_lines(before + ("" if before.endswith("\n") else ending)),
        split_lines(after + ("" if after.endswith("\n") else ending)),
    )
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in opcodes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
def test_fix_inserts_lines_only_agrees_with_buildkit_and_is_idempotent(raw: bytes) -> None:
    result = engine.harden_text("Dockerfile", "dockerfile", raw, Settings(offline=True), apply=True)
    assert not result.errors, result.errors
    assert only_insertions(result.original, result.output)
    before = [c.cmd.upper() for c in dockerfile.parse_string(result.original)]
    after = [c.cmd.upper() for c in dockerfile.parse_string(result.output)]
    assert not Counter(before) - Counter(after)
    assert set(Counter(after) - Counter(before)) <= {"RUN", "USER"}
    again = engine.harden_text(
        "Dockerfile", "dockerfile", engine.encode(result, result.output), Settings(offline=True), apply=True
    )
    assert again.output == result.output and not again.applied
