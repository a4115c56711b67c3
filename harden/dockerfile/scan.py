"""The line scanner: a Dockerfile's text into instructions with exact source spans.

It follows BuildKit's rules: parser directives at the top (`# escape=` sets the continuation
character), continuation lines, comment and blank lines inside a continuation (dropped), lower-case
keywords, and heredoc bodies (`RUN <<EOF`, `COPY <<EOF`), which are opaque text that no edit ever
touches. A continuation that runs into the end of the file ends the instruction there, as in
BuildKit. dockerfile-parse (the engine's second opinion, see `crosscheck`) cannot do this part: it
has no heredocs and ends an instruction at a blank line inside a continuation, where BuildKit does
not.

Text is kept exactly as read (line endings included), so every offset is an offset into the file
as the user wrote it. Stages and ARGs are the document's business (`document.py`), not the
scanner's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from harden.model import DocumentError

__all__ = ["HEREDOC_KEYWORDS", "KEYWORDS", "Heredoc", "Instruction", "Scan", "scan"]

KEYWORDS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_KEYWORD = re.compile(r"\s*([A-Za-z]+)(?=\s|$)")
# A heredoc marker is a shell word starting with `<<` (optionally `<<-`, an fd number before it):
# BuildKit's `^(\d*)<<(-?)([^<]*)$` applied to each word, with the quotes the shell lexer removes.
_HEREDOC = re.compile(r"(?:^|(?<=\s))\d*<<(-?)([\"']?)([^\s<\"']+)\2(?=\s|$)")


@dataclass(frozen=True)
class Heredoc:
    delimiter: str
    body_start: int  # offset of the body's first line
    body_end: int  # offset just past the terminating delimiter line


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case
    start_line: int  # 0-based, first line of the instruction
    end_line: int  # 0-based, last line, heredoc bodies included
    start: int  # offset of the first line's first character
    end: int  # offset just past the last line (its line ending included)
    indent: str  # whitespace before the keyword
    args: str  # the logical line after the keyword and its flags, continuations joined
    flags: tuple[str, ...]  # leading --name=value words (FROM --platform, RUN --mount, ...)
    heredocs: tuple[Heredoc, ...] = ()

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form's arguments, or None for the shell form."""
        if not self.args.startswith("["):
            return None
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None

    def flag(self, name: str) -> str | None:
        prefix = f"--{name}="
        for flag in self.flags:
            if flag.lower().startswith(prefix):
                return flag[len(prefix) :]
        return None


@dataclass(frozen=True)
class Scan:
    """What the scanner reads from a file's text."""

    directives: dict[str, str]  # lower-case name -> value
    escape: str  # the continuation character: \ or `
    newline: str  # "\r\n" or "\n": what lines the engine adds are written with
    line_starts: list[int]  # offset of each line's first character
    instructions: list[Instruction]
    # Offset of the escape character of a continuation that runs into the end of the file, or None.
    dangling_escape: int | None


def scan(text: str) -> Scan:
    """Scan a Dockerfile; DocumentError (with a 1-based line) for what BuildKit would refuse."""
    return _Scanner(text).scan()


class _Scanner:
    """One pass over the lines, BuildKit's rules; see the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        pieces = text.split("\n")
        self.lines = [piece + "\n" for piece in pieces[:-1]]
        if pieces[-1] or not self.lines:
            self.lines.append(pieces[-1])
        self.line_starts: list[int] = []
        self.dangling_escape: int | None = None
        position = 0
        for line in self.lines:
            self.line_starts.append(position)
            position += len(line)

    def _line_end(self, index: int) -> int:
        return self.line_starts[index] + len(self.lines[index])

    def scan(self) -> Scan:
        directives, first = self._directives()
        escape = directives.get("escape", "\\")
        if escape not in ("\\", "`"):
            raise DocumentError(1, f"invalid escape directive {escape!r}: must be \\ or `")
        instructions = self._instructions(first, escape)
        return Scan(directives, escape, self._newline(), self.line_starts, instructions, self.dangling_escape)

    def _newline(self) -> str:
        """CRLF when the first line ends with it or most lines do; else LF."""
        text = self.text
        if "\r\n" in text[: self._line_end(0) + 1] or ("\r\n" in text and text.count("\r\n") * 2 > text.count("\n")):
            return "\r\n"
        return "\n"

    def _directives(self) -> tuple[dict[str, str], int]:
        directives: dict[str, str] = {}
        index = 0
        while index < len(self.lines):
            match = _DIRECTIVE.fullmatch(self.lines[index].rstrip("\r\n"))
            if not match or match.group(1).lower() in directives:
                break
            directives[match.group(1).lower()] = match.group(2)
            index += 1
        return directives, index

    def _instructions(self, first: int, escape: str) -> list[Instruction]:
        instructions: list[Instruction] = []
        index = first
        while index < len(self.lines):
            stripped = self.lines[index].strip()
            if stripped and stripped[0] != "#":
                instruction = self._instruction(index, escape)
                instructions.append(instruction)
                index = instruction.end_line
            index += 1
        return instructions

    def _instruction(self, start_line: int, escape: str) -> Instruction:
        """The instruction starting on `start_line` (not blank, not a comment)."""
        line = self.lines[start_line]
        match = _KEYWORD.match(line)
        if not match:
            raise DocumentError(start_line + 1, f"cannot parse instruction: {line.strip()[:60]!r}")
        keyword = match.group(1).upper()
        if keyword not in KEYWORDS:
            raise DocumentError(start_line + 1, f"unknown instruction {match.group(1)!r}")
        logical, last_line = self._logical_line(start_line, line[match.end() :], escape)
        flags, args = _split_flags(logical)
        heredocs: tuple[Heredoc, ...] = ()
        if keyword in HEREDOC_KEYWORDS and "<<" in args and not args.startswith("["):
            heredocs, last_line = self._heredocs(args, start_line, last_line)
        return Instruction(
            keyword=keyword,
            start_line=start_line,
            end_line=last_line,
            start=self.line_starts[start_line],
            end=self._line_end(last_line),
            indent=line[: len(line) - len(line.lstrip())],
            args=args,
            flags=flags,
            heredocs=heredocs,
        )

    def _logical_line(self, index: int, rest: str, escape: str) -> tuple[str, int]:
        """The text after the keyword with continuation lines joined, and the last line it takes.

        BuildKit drops comment lines and blank lines inside a continuation; a continuation at the
        end of the file ends the instruction (its escape is remembered in `dangling_escape`).
        """
        count = len(self.lines)
        parts = [rest]
        body = rest.rstrip(" \t\r\n")
        while body.endswith(escape):
            parts[-1] = body[: -len(escape)]
            escape_at = self.line_starts[index] + len(self.lines[index].rstrip(" \t\r\n")) - len(escape)
            index += 1
            while index < count:
                skipped = self.lines[index].lstrip()
                if skipped and skipped[0] != "#":
                    break
                index += 1
            if index >= count:
                index = count - 1
                self.dangling_escape = escape_at
                break
            parts.append(self.lines[index])
            body = parts[-1].rstrip(" \t\r\n")
        logical = "".join(p.rstrip("\r\n") if i == len(parts) - 1 else p for i, p in enumerate(parts))
        return logical.replace("\r", "").replace("\n", "").strip(), index

    def _heredocs(self, args: str, start_line: int, index: int) -> tuple[tuple[Heredoc, ...], int]:
        """The heredocs `args` opens, their bodies following line `index` in order, and the last
        line they take."""
        count = len(self.lines)
        heredocs: list[Heredoc] = []
        for marker in _HEREDOC.finditer(args):
            strip_tabs, delimiter = marker.group(1) == "-", marker.group(3)
            body_start_line = index + 1
            end = body_start_line
            while end < count:
                body_line = self.lines[end].rstrip("\r\n")
                if (body_line.lstrip("\t") if strip_tabs else body_line) == delimiter:
                    break
                end += 1
            if end >= count:
                raise DocumentError(start_line + 1, f"unterminated heredoc <<{delimiter}")
            start = self.line_starts[body_start_line] if body_start_line < count else len(self.text)
            heredocs.append(Heredoc(delimiter, start, self._line_end(end)))
            index = end
        return tuple(heredocs), index


def _split_flags(logical: str) -> tuple[tuple[str, ...], str]:
    flags: list[str] = []
    rest = logical
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        flags.append(word)
        rest = remainder.lstrip()
    return tuple(flags), rest
