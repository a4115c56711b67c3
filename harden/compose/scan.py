"""Text scanners for what ruamel.yaml's tree does not hold: where a block collection or one of
its entries ends, where a quoted scalar or a flow collection closes, which quote or bracket is
still open at the end of a line.

They read the text as ruamel.yaml reads it (lines end at LF or CRLF; a lone CR is refused
before) and are exact for the YAML ruamel accepted; positions come from the tree, these only
find ends. `quote_end` is the one scanner of quoted scalars: everything that skips or ends one
goes through it.
"""

from __future__ import annotations

import re

LINE_BREAK = re.compile(r"\r\n|[\r\n]")  # where ruamel.yaml counts a new line (a lone CR is refused by parse)
BLOCK_HEADER = re.compile(r"(?:^|[\s:-])[|>]([-+1-9]{0,2})[ \t]*(?:#.*)?$")


def split_lines(text: str) -> tuple[list[int], list[str]]:
    """Line start offsets and line texts (without line breaks), breaking where ruamel does."""
    starts = [0]
    lines = []
    position = 0
    for match in LINE_BREAK.finditer(text):
        lines.append(text[position : match.start()])
        position = match.end()
        starts.append(position)
    lines.append(text[position:])
    return starts, lines


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def is_dash(stripped: str) -> bool:
    """Whether a line (without its indentation) starts a block sequence item."""
    return stripped == "-" or stripped.startswith(("- ", "-\t"))


def quote_end(text: str, i: int, quote: str, end: int) -> int | None:
    """The offset just past the quote that closes a `quote`-quoted scalar whose text goes on at
    offset `i`, or None when it does not close before `end`. In double quotes a backslash
    escapes the next character; in single quotes `''` is a quote."""
    while i < end:
        c = text[i]
        if quote == '"' and c == "\\":
            i += 2
            continue
        if c == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return None


def line_state(line: str, quote: str, depth: int) -> tuple[str, int]:
    """The open quote ('', '"' or "'") and flow depth at the end of a line, from those at its start.

    A quote or bracket opens a scalar or collection only where a token starts (after `key: `,
    `- `, `? `, at the start of the line, or after `[`, `{`, `,` or `:` inside a flow collection),
    so `echo "hi` and `a[0]` in plain scalars open nothing."""
    if not quote and not depth and not any(c in line for c in "\"'[{"):
        return quote, depth
    i, n = 0, len(line)
    previous = ""  # the previous significant character on this line
    while i < n:
        c = line[i]
        if quote:
            close = quote_end(line, i, quote, n)
            if close is None:
                return quote, depth
            i, quote, previous = close, "", quote
            continue
        if c in " \t":
            i += 1
            continue
        spaced = i == 0 or line[i - 1] in " \t"
        if c == "#" and spaced:
            break
        if c in "&!" and spaced:  # properties (`&anchor`, `!tag`) do not change where a token starts
            while i < n and line[i] not in " \t":
                i += 1
            continue
        starts = (spaced and previous in ("", ":", "-", "?")) or (depth > 0 and previous in ("[", "{", ",", ":"))
        if c in "\"'" and starts:
            quote = c
        elif c in "[{" and (starts or depth > 0):
            depth += 1
        elif c in "]}" and depth > 0:
            depth -= 1
        previous = c
        i += 1
    return quote, depth


def flow_end(text: str, start: int) -> tuple[int, int]:
    """(offset just past the bracket closing the flow collection opened at `start`, offset just
    past its last character that is not whitespace or comment)."""
    depth = 0
    i = start
    n = len(text)
    last = start + 1
    while i < n:
        c = text[i]
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1, last
        elif c in "\"'" and text[i - 1] in " \t\r\n[{,:":
            close = quote_end(text, i + 1, c, n)
            i = (close if close is not None else n + 1) - 1  # at the closing quote
        elif c == "#" and text[i - 1] in " \t\r\n":
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if c not in " \t\r\n":
            last = min(i + 1, n)
        i += 1
    return n, last


def last_content_line(lines: list[str], first: int, col: int, is_seq: bool, single: bool = False) -> tuple[int, int, bool]:
    """(last line, first line of the last entry, whether the last line is in a block scalar) of
    the block collection whose entries start at `col` from line `first`; `single`: of the one
    entry (a key and its value, or a sequence item) that starts on line `first`.

    A block ends at the first line (not blank, not a comment, not inside a block scalar, a
    multi-line quoted scalar or a multi-line flow collection) that is indented less than its
    entries, or, for a sequence, that is level with its dashes but is not an item. Blank lines
    at its end are not part of it (unless they end a block scalar that keeps them, `|+`), nor
    are comment lines there unless they are indented deeper than its entries (a commented-out
    item of the last entry). An entry ends where the next one starts.
    """
    last = entry = first
    in_scalar = False
    header = BLOCK_HEADER.search(lines[first])
    scalar_indent = indent(lines[first]) if header else None
    keep = bool(header and "+" in header.group(1))
    quote, depth = line_state(lines[first], "", 0)
    end = len(lines) - 1 if lines[-1] == "" else len(lines)  # an empty last "line" is the text after its final newline
    for i in range(first + 1, end):
        line = lines[i]
        stripped = line.strip()
        if quote or depth:  # inside a quoted scalar or flow collection that spans lines
            quote, depth = line_state(line, quote, depth)
            if stripped:
                last, in_scalar = i, False
            continue
        if scalar_indent is not None:
            if not stripped:
                if keep:
                    last, in_scalar = i, True
                continue
            if indent(line) > scalar_indent:
                last, in_scalar = i, True
                continue
            scalar_indent = None
        if not stripped:
            continue
        at = indent(line)
        if stripped.startswith("#"):
            if at > col:
                last, in_scalar = i, False  # a comment inside the last entry (a commented-out item or key)
            continue
        if _ends_block(stripped, at, col, is_seq):
            break
        if at == col and (is_seq or not is_dash(stripped)):
            if single:
                break
            entry = i  # (a dash level with a mapping's keys is an item of its last entry's sequence)
        last, in_scalar = i, False
        quote, depth = line_state(line, quote, depth)
        header = BLOCK_HEADER.search(line)
        if header and not (quote or depth):
            scalar_indent, keep = at, "+" in header.group(1)
    return last, entry, in_scalar


def _ends_block(stripped: str, at: int, col: int, is_seq: bool) -> bool:
    """Whether a content line (not blank, not a comment) at column `at` ends a block whose
    entries start at `col`: a document marker, a line less indented, or a sequence's sibling key."""
    if at == 0 and (stripped in ("---", "...") or stripped.startswith(("--- ", "... "))):
        return True
    return at < col or (is_seq and at == col and not is_dash(stripped))
