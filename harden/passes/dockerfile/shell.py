"""The shell commands of a Dockerfile's RUN instructions, for the rules that look for a program.

`commands` splits a RUN (shell form, exec form, and the script of a `RUN <<EOF` heredoc) into
simple commands with shlex's POSIX rules: quoted text stays one word (`echo "curl x | sh"` is
one command), `;`, `&&`, `||`, `&`, newlines and parentheses end a command, `|` joins commands
into a pipeline. Leading `NAME=value` assignments are dropped. Text shlex cannot split (an
unbalanced quote) gives no commands: the rules then report nothing rather than guess.

`locate` finds where a word is written, for a finding's `line:col`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import NamedTuple

from harden.dockerfile import DockerfileDocument, Instruction

_SEPARATORS = frozenset({";", "&&", "||", "&", "(", ")", ";;", "$", "$("})
_PIPES = frozenset({"|", "|&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})


class Command(NamedTuple):
    words: tuple[str, ...]  # assignments dropped; never empty
    pipeline: int  # commands joined by `|` share it (numbered within the instruction)


def name(word: str) -> str:
    """A program's name: `/usr/bin/sudo` is sudo."""
    return word.rsplit("/", 1)[-1]


def commands(document: DockerfileDocument, instruction: Instruction) -> list[Command]:
    exec_form = instruction.exec_form
    if exec_form is not None:
        if len(exec_form) >= 3 and name(exec_form[0]) in SHELLS and exec_form[1] == "-c":
            return _split([exec_form[2]])
        return [Command(tuple(exec_form), 0)] if exec_form else []
    lines = [instruction.args]
    for heredoc in instruction.heredocs:
        body = document.text[heredoc.body_start : heredoc.body_end].replace("\r\n", "\n")
        script = body.removesuffix("\n").split("\n")[:-1]  # the last line is the terminator
        interpreter = script[0][2:].split() if script and script[0].startswith("#!") else ["sh"]
        if interpreter and name(interpreter[-1] if name(interpreter[0]) == "env" else interpreter[0]) in SHELLS:
            lines.extend(_logical(script))  # not a Python or Perl heredoc
    return _split(lines)


def _logical(script: list[str]) -> list[str]:
    """A script's logical lines: a line ending in a backslash continues on the next."""
    joined: list[str] = []
    pending = ""
    for line in script:
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [*joined, pending] if pending else joined


def _split(lines: list[str]) -> list[Command]:
    found: list[Command] = []
    pipeline = 0
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            return []
        words: list[str] = []
        for token in [*tokens, ";"]:
            if token in _SEPARATORS or token in _PIPES:
                while words and _ASSIGNMENT.match(words[0]):
                    words.pop(0)
                if words:
                    found.append(Command(tuple(words), pipeline))
                words = []
                if token not in _PIPES:
                    pipeline += 1
            else:
                words.append(token)
    return found


def locate(document: DockerfileDocument, instruction: Instruction, pattern: str) -> tuple[int, int]:
    """1-based (line, column) of the first match of a regular expression in the instruction's
    text after its keyword; the keyword's position when it is not found as written."""
    source = document.source(instruction)
    match = re.compile(pattern).search(source, len(instruction.indent) + len(instruction.keyword))
    if match is None:
        return document.position_of(instruction)
    return document.position(instruction.start + match.start())


def about_of(document: DockerfileDocument, instruction: Instruction, seen: dict[str, int]) -> str:
    """What a finding about one instruction is about: its text, with a count when a stage
    repeats it (stable across rounds of fixes, which never change a RUN)."""
    text = document.instruction_text(instruction)
    seen[text] = seen.get(text, 0) + 1
    return text if seen[text] == 1 else f"{text} ({seen[text]})"


class Run(NamedTuple):
    """One RUN instruction of a stage, with its commands and its finding's `about`."""

    instruction: Instruction
    about: str
    commands: list[Command]


def runs(document: DockerfileDocument) -> Iterator[Run]:
    """Every RUN instruction, stage by stage, with its commands (the rules that read RUN share this)."""
    for stage in document.stages:
        seen: dict[str, int] = {}
        for instruction in stage.instructions:
            if instruction.keyword == "RUN":
                about = f"stage {stage.label}: {about_of(document, instruction, seen)}"
                yield Run(instruction, about, commands(document, instruction))
