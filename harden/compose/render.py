"""New YAML text in the file's own style: scalars quoted only when they must be, entries with
nested mappings and sequences in block or flow style.

Decisions
---------
* Style of new text is detected from the file (`Style`, by harden.compose.walk): mapping indent
  (most common step between a key and its nested block mapping), sequence dash offset and item
  gap (first from sibling block sequences of the same mapping, then the file's most common),
  quote character (the more common of `"` and `'` in the file, `"` by default), and whether the
  file prefers flow sequences (scalar lists under keys written `[a, b]` more often than as
  block sequences) and flow mappings (non-empty mappings under keys written `{a: b}` more often
  than as blocks).
* A new list is written in flow style when its owner mapping is flow, or when the file prefers
  flow sequences and no per-item comments were asked for; a new non-empty mapping when its owner
  is flow or the file prefers flow mappings (so `networks: {frontend: {aliases: [a]}}` in a
  file of flow services); otherwise both as blocks, nested values recursively: a nested list
  follows the file's preference for flow sequences, a nested mapping is a block, a mapping in a
  block sequence starts on the dash line (`- target: 80`), an empty mapping is `{}`, an empty
  list `[]`. In block style an empty value (None) is written as nothing (`frontend:`, as
  Compose files declare networks and volumes), in flow style as `null`.
* Scalars are written plain when that reads back as the same string (in YAML 1.1 *and* 1.2:
  `yes`, `on`, `0777`, `1:20` are quoted), else quoted with the file's quote character.
* Comments asked for (`comments`: an item, key or scalar value's text -> its comment) end the
  line of that item or key of the value's first level; for a flow value they all follow it,
  `# item: why; other: why`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_NOT_STRING = r"""^(?:~|null|Null|NULL
    |y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |[-+]?(?:0|[1-9][0-9_]*)|[-+]?0[0-7_]+|0o[0-7]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|=|<<)$"""  # read as something else than a string (YAML 1.1 or 1.2)


@dataclass(frozen=True)
class Style:
    """How the file writes YAML; new text copies it."""

    indent: int = 2  # a nested block mapping's keys are this many columns right of its key
    seq_offset: int = 2  # a block sequence's dashes are this many columns right of its key
    seq_gap: int = 2  # an item's text starts this many columns right of its dash ("- x")
    flow_sequences: bool = False  # scalar lists are written [a, b] more often than as blocks
    quote: str = '"'  # the quote character the file uses most
    flow_mappings: bool = False  # non-empty mappings under keys are written {a: b} more often than as blocks


def plain_ok(value: str, flow: bool = False) -> bool:
    """Whether `value` can be written as a plain scalar and read back as the same string."""
    if not value or value != value.strip() or re.match(_NOT_STRING, value, re.VERBOSE):
        return False
    if any(c in value for c in "\n\r\t") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    first = value[0]
    if first in _INDICATORS and not (first in "-?:" and len(value) > 1 and value[1] not in " ,[]{}"):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    return not (flow and any(c in value for c in ",[]{}:"))


def double_quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    escaped = "".join(c if ord(c) >= 32 and ord(c) != 127 else f"\\x{ord(c):02x}" for c in escaped)
    return '"' + escaped + '"'


def single_quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def scalar(value: Any, flow: bool, quote: str, force: bool = False) -> str:
    """A scalar's text: plain when it reads back the same (unless `force`), else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if not force and plain_ok(text, flow):
        return text
    if quote == "'" and not any(ord(c) < 32 for c in text):
        return single_quoted(text)
    return double_quoted(text)


def comment(comments: dict[str, str], item: Any) -> str:
    """`  # why` for an item, key or value that has a comment asked for, else ''."""
    note = comments.get(str(item))
    if not note:
        return ""
    return "  # " + " ".join(note.split())


def flow_value(value: Any, quote: str) -> str:
    """A value in flow style, nested collections included."""
    if isinstance(value, list):
        return "[" + ", ".join(flow_value(v, quote) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, True, quote)}: {flow_value(v, quote)}" for k, v in value.items()) + "}"
    return scalar(value, True, quote)


def flow_comment(value: Any, comments: dict[str, str], key: str | None) -> str:
    """The comments asked for a flow value, after it: `  # a: why; b: why`."""
    if not comments:
        return ""
    items = value if isinstance(value, list | dict) else [key]
    notes = [f"{item}: {' '.join(comments[str(item)].split())}" for item in items if comments.get(str(item))]
    return "  # " + "; ".join(notes) if notes else ""


def prefers_flow(value: Any, style: Style, comments: dict[str, str]) -> bool:
    """Whether a new value (in a block mapping) is written in flow style (module docstring)."""
    if isinstance(value, list):
        return not comments and style.flow_sequences
    return isinstance(value, dict) and bool(value) and style.flow_mappings


def render_entry(
    key: str,
    value: Any,
    col: int,
    style: Style,
    seq_offset: int,
    seq_gap: int,
    use_flow: bool,
    comments: dict[str, str],
) -> list[str]:
    """The lines of a block mapping entry `key: value` whose key is at column `col`; a list's
    dashes are `seq_offset` columns right of the key and its items `seq_gap` right of the dash;
    `use_flow`: the value in flow style."""
    head = " " * col + scalar(key, False, style.quote) + ":"
    if isinstance(value, list | dict) and (use_flow or not value):
        return [head + " " + flow_value(value, style.quote) + flow_comment(value, comments, None)]
    if isinstance(value, list):
        return [head, *block_items(value, col + seq_offset, seq_gap, style, comments)]
    if isinstance(value, dict):
        return [head, *block_mapping(value, col + style.indent, style, comments)]
    if value is None:
        return [head + comment(comments, key)]
    return [head + " " + scalar(value, False, style.quote) + comment(comments, key)]


def block_items(items: list[Any], dash_col: int, seq_gap: int, style: Style, comments: dict[str, str]) -> list[str]:
    """The lines of block sequence items whose dashes are at `dash_col`: a mapping item starts
    on its dash line, a list item is written in flow style."""
    dash = " " * dash_col + "-" + " " * max(seq_gap - 1, 1)
    col = len(dash)
    lines = []
    for item in items:
        if isinstance(item, dict) and item:
            entries = block_mapping(item, col, style, {})
            lines.extend([dash + entries[0][col:], *entries[1:]])
        elif isinstance(item, list | dict):
            lines.append(dash + flow_value(item, style.quote))
        else:
            lines.append(dash + scalar(item, False, style.quote) + comment(comments, item))
    return lines


def block_mapping(value: dict[Any, Any], col: int, style: Style, comments: dict[str, str]) -> list[str]:
    """The lines of a block mapping whose keys are at column `col` (`comments` for its keys)."""
    lines: list[str] = []
    for k, v in value.items():
        entry = render_entry(k, v, col, style, style.seq_offset, style.seq_gap, prefers_flow(v, style, {}), {})
        lines.extend([entry[0] + comment(comments, k), *entry[1:]])
    return lines
