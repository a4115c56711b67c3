"""Where each key of a TOML text is: its 1-based line, for `path:line: message` errors.

Why hand-written: tomllib (the standard library's parser, which reads the file) gives no
positions, and tomlkit, the one well-kept round-trip TOML library, keeps no line numbers
either: it would be a dependency that does no work here. So the text is scanned once more,
after tomllib accepted it: table headers (`[a."b.c"]`, `[[a]]`), `key = value` lines (dotted and
quoted keys), and the values' strings, arrays and inline tables, which may span lines (a key
inside them is not indexed: it gets its parent's line, see `line_of`).

What might break: nothing in the run; a key this scanner misses only makes an error point at the
line of the nearest enclosing key (or line 1), never at a wrong key.
"""

from __future__ import annotations

import json
import re

Key = tuple[str, ...]
_BARE = re.compile(r"[A-Za-z0-9_-]+")


class Lines:
    """The lines of a TOML text's keys: `spans[key] = (first line, last line)` of its value."""

    def __init__(self, text: str) -> None:
        self.spans: dict[Key, tuple[int, int]] = {}
        self.text_lines = text.splitlines()
        self._scan()

    def line_of(self, key: Key) -> int:
        """The line of `key`; else (a table only its sub-tables name) the first line of a key
        under it; else the line of its nearest enclosing key that has one; else 1."""
        if key in self.spans:
            return self.spans[key][0]
        under = [first for found, (first, _) in self.spans.items() if found[: len(key)] == key]
        if under:
            return min(under)
        for end in range(len(key), 0, -1):
            if key[:end] in self.spans:
                return self.spans[key[:end]][0]
        return 1

    def line_of_item(self, key: Key, item: str) -> int:
        """The line of the string `item` in the value of `key` (an array spread over lines), else
        the line of `key`."""
        first, last = self.spans.get(key, (self.line_of(key), self.line_of(key)))
        quoted = (json.dumps(item), f"'{item}'")
        for number in range(first, last + 1):
            if any(q in self.text_lines[number - 1] for q in quoted):
                return number
        return first

    def _scan(self) -> None:
        table: Key = ()
        number = 0
        while number < len(self.text_lines):
            line = self.text_lines[number].strip()
            number += 1
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                header = line[2:] if line.startswith("[[") else line[1:]
                keys, _ = _keys(header)
                table = tuple(keys)
                self.spans.setdefault(table, (number, number))
                continue
            keys, rest = _keys(line)
            if not keys or not rest.startswith("="):
                continue
            first = number
            number = _value_end(self.text_lines, number - 1, rest[1:])
            self.spans[(*table, *keys)] = (first, number)


def _keys(text: str) -> tuple[list[str], str]:
    """The dotted key at the start of `text`, and what follows it (stripped)."""
    keys: list[str] = []
    rest = text.lstrip()
    while rest:
        if rest[0] == '"':
            end = _string_end(rest, 1, '"')
            keys.append(json.loads(rest[:end]))
            rest = rest[end:]
        elif rest[0] == "'":
            end = _string_end(rest, 1, "'")
            keys.append(rest[1 : end - 1])
            rest = rest[end:]
        else:
            match = _BARE.match(rest)
            if match is None:
                break
            keys.append(match.group())
            rest = rest[match.end() :]
        rest = rest.lstrip()
        if not rest.startswith("."):
            break
        rest = rest[1:].lstrip()
    return keys, rest.lstrip()


def _string_end(text: str, start: int, quote: str) -> int:
    """The index just after the closing `quote` of a one-line string opened before `start`
    (a basic string's backslash escapes the next character; a literal string has no escapes)."""
    index = start
    while index < len(text):
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index + 1
        index += 1
    return len(text)


def _value_end(lines: list[str], index: int, value: str) -> int:
    """The 1-based line on which the value that starts with `value` (on line index + 1) ends:
    arrays and inline tables are followed to their closing bracket, multi-line strings to
    their closing quotes; comments are skipped."""
    depth, quote = 0, ""
    text = value
    while True:
        position = 0
        while position < len(text):
            if quote:
                end = text.find(quote, position)
                if end < 0:
                    break
                position, quote = end + 3, ""
                continue
            char = text[position]
            if text.startswith(('"""', "'''"), position):
                quote, position = text[position : position + 3], position + 3
            elif char in "\"'":
                position = _string_end(text, position + 1, char)
            elif char == "#":
                break
            else:
                depth += (char in "[{") - (char in "]}")
                position += 1
        if (depth <= 0 and not quote) or index + 1 >= len(lines):
            return index + 1
        index += 1
        text = lines[index]
