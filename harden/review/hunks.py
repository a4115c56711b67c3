"""Unified hunks of one file's lines: made for a change, edited by the reviewer, applied back.

A reviewer's `e` edits the hunks of one change, as `git add -p` lets one edit a hunk: the
buffer holds the change's hunks (three lines of context) and `#` lines that say what to do. The
edited hunks are read back as git reads them: a hunk's old side (context and `-` lines) must be
the file as read at the line its header names (the header's counts are recounted, so adding or
deleting `+` lines needs no arithmetic); `+` lines are what the reviewer wants there. Lines are
handled without their endings: the edited text gets the file's own line ending, and the file
keeps its final newline (or its absence) whatever the edit says.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from harden.output.diff import unified_hunks

CONTEXT_LINES = 3
_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class HunkError(Exception):
    """Edited hunks that cannot be applied to the file as read; the message says why."""


class Lines(NamedTuple):
    """A text as lines without their endings, the line ending it uses, and whether it ends with one."""

    lines: list[str]
    newline: str
    final_newline: bool

    @classmethod
    def of(cls, text: str) -> Lines:
        newline = "\r\n" if "\r\n" in text else "\n"
        final = text.endswith("\n")
        body = text[: -len(newline)] if text.endswith(newline) else text[:-1] if final else text
        return cls(body.split(newline) if body else [], newline, final)

    def text(self, lines: list[str]) -> str:
        """`lines` written as this text is: its line ending, and its final newline (or none)."""
        joined = self.newline.join(lines)
        return joined + self.newline if self.final_newline and lines else joined


def make(before: list[str], after: list[str]) -> str:
    """The unified hunks from `before` to `after` (lines without endings), without file headers."""
    return "".join(line + "\n" for line in unified_hunks(before, after, CONTEXT_LINES))


def apply(before: list[str], patch: str) -> list[str]:
    """`before` with the hunks of `patch` applied (lines starting with `#` are left out first);
    HunkError when a hunk's old side is not the file at its line, or a line is not a hunk line."""
    hunks = _parse([line for line in patch.split("\n") if not line.startswith("#")])
    out: list[str] = []
    position = 0
    for start, old, new in hunks:
        start = max(start - 1, 0) if old else start  # an insertion's header names the line before it
        if start < position:
            raise HunkError(f"the hunk at line {start + 1} overlaps the one before it")
        if before[start : start + len(old)] != old:
            raise HunkError(f"the hunk at line {start + 1} does not match the file as read (edit only `+` lines)")
        out.extend(before[position:start])
        out.extend(new)
        position = start + len(old)
    out.extend(before[position:])
    return out


def _parse(lines: list[str]) -> list[tuple[int, list[str], list[str]]]:
    """(old start line, old lines, new lines) of each hunk; empty lines after the last hunk are ignored."""
    while lines and not lines[-1].strip():
        lines.pop()
    hunks: list[tuple[int, list[str], list[str]]] = []
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header:
            hunks.append((int(header.group(1)), [], []))
            continue
        if line.startswith("\\"):  # "\ No newline at end of file": the file keeps its own
            continue
        if not hunks:
            raise HunkError(f"line {number}: expected a hunk header (@@ -L,N +L,N @@) first")
        _, old, new = hunks[-1]
        sign, text = (line[:1], line[1:]) if line else (" ", "")
        if sign not in " -+":
            raise HunkError(f"line {number}: a hunk line starts with ' ', '-' or '+', not {sign!r}")
        if sign != "+":
            old.append(text)
        if sign != "-":
            new.append(text)
    if not hunks:
        raise HunkError("no hunk is left")
    return hunks
