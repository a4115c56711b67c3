"""Edits that remove text: a key of a mapping (`remove_key`) or an item of a sequence
(`remove_item`), in block or flow style.

Decisions
---------
* A block entry goes with all its lines: the key (or dash) line, its value's lines, comment
  lines inside it (indented deeper than its key), and the comment lines right above it at its
  own column, which describe it (as go-yaml's head comments do); its end-of-line comment goes
  too. Blank lines keep separating what is left: when blank lines come right before the entry
  and blank lines or the end of its collection right after it, the ones before it go; when it
  is the first entry of its collection, the blank lines right after it go. So no gap doubles,
  and none is left at the start or the end of a block.
* An entry that shares its line with its parent's dash (`- target: 80` then `  published: 8080`)
  takes the text up to the next entry, which moves onto the dash line (`- published: 8080`).
* In a flow collection the entry goes with the comma after it (`{a: 1, b: 2}` -> `{b: 2}`), or
  the one before it when it is the last (`{a: 1}`), and a line it held alone goes too.
* Removing the last entry of a collection leaves it empty, written `{}` or `[]` (so that an
  empty service or list does not become null).
* Refused (ValueError, saying why): a key that is not written on the mapping (merged from an
  anchor: remove it there, or write `key: !reset null` on the service), an explicit key
  (`? key`), an item written as an alias (`- *name`: the tree does not keep its place), the
  last key of the top level, a Service owner whose mapping other places share
  (harden.compose.sharing), and text that defines an anchor (`&name`) used elsewhere: the
  aliases would be left without it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harden.compose import locate
from harden.compose.scan import flow_end, indent, last_content_line
from harden.compose.tree import is_flow, is_map, is_seq, merges, own, own_items
from harden.model import Edit

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument, Owner

_ANCHOR = re.compile(r"(?:^|(?<=[\s\[{,]))&([^\s,\[\]{}]+)")


def remove_key(document: ComposeDocument, owner: Owner, key: str) -> list[Edit]:
    """Remove `key` and its value from a mapping (ComposeDocument.remove_key)."""
    reason = document.sharing.reason(owner, key, removing=True)
    if reason:
        raise ValueError(reason)
    node = document.mapping(owner)
    if not own(node, key):
        raise ValueError(
            f"{key!r} is not written on this mapping (merged from an anchor: remove it there, or write `{key}: !reset null`)"
        )
    if node is document.data and len(own_items(node)) == 1:
        raise ValueError(f"{key!r} is the only top-level key: harden does not empty a Compose file")
    line, col = node.lc.key(key)
    before = document.lines[line][:col]
    if before.rstrip(" ").endswith("?"):
        raise ValueError(f"{key!r} is an explicit key (`? {key}`): harden does not remove it")
    empty = len(own_items(node)) == 1 and not merges(node)
    if is_flow(node):
        edits = [_remove_flow(document, node, key, "{")]
    elif before.strip():
        edits = [_remove_compact(document, int(line), int(col), False, "{}" if empty else "")]
    else:
        edits = [_remove_block(document, node, int(line), int(col), False)]
        if empty:
            edits.append(_emptied(document, node))
    _check_anchors(document, edits)
    return edits


def remove_item(document: ComposeDocument, owner: Owner, key: str, index: int) -> list[Edit]:
    """Remove item `index` of the sequence `key` of a mapping (ComposeDocument.remove_item)."""
    reason = document.sharing.reason(owner, key)
    if reason:
        raise ValueError(reason)
    node = document.mapping(owner)
    seq: Any = node.get(key) if own(node, key) else None
    if not is_seq(seq) or locate.is_alias_value(document, node, key):
        raise ValueError(f"{key!r} is not a sequence written here")
    if not 0 <= index < len(seq):
        raise ValueError(f"{key!r} has no item {index}")
    if seq.lc.item(index) is None or locate.is_alias_value(document, seq, index):
        raise ValueError(f"item {index} of {key!r} is an alias (`*name`): harden does not remove it")
    empty = len(seq) == 1
    if is_flow(seq):
        edits = [_remove_flow(document, seq, index, "[")]
    else:
        line, col = seq.lc.item(index)
        before = document.lines[line][:col].rstrip()
        if not before.endswith("-"):
            raise ValueError(f"item {index} of {key!r} does not start on its dash line: harden does not remove it")
        dash = len(before) - 1
        if before[:dash].strip():
            edits = [_remove_compact(document, int(line), dash, True, "[]" if empty else "")]
        else:
            edits = [_remove_block(document, seq, int(line), dash, True)]
            if empty:
                offset = locate.after_colon(document, node, key)
                edits.append(Edit(offset, offset, " []"))
    _check_anchors(document, edits)
    return edits


def _remove_block(document: ComposeDocument, node: Any, line: int, col: int, is_item: bool) -> Edit:
    """The lines of the block entry at (line, col) with its head comments, and the blank lines
    before it when it would leave two gaps or one at the end (module docstring)."""
    lines, starts = document.lines, document.line_starts
    last, _, _ = locate.entry_end(document, line, col, is_item)
    first = line
    while first > 0 and lines[first - 1].strip().startswith("#") and indent(lines[first - 1]) == col:
        first -= 1
    if is_item:
        block_first, dash_col = locate.dash_position(document, node)
        block_last, _, _ = locate.block_end(document, node, dash_col, block_first)
    else:
        block_first = locate.first_key_line(document, node)
        block_last, _, _ = locate.block_end(document, node)
    blank = first
    while blank > 0 and not lines[blank - 1].strip():
        blank -= 1
    if blank < first and block_first < line:  # blank lines a block scalar keeps (`|+`) are its text
        previous, _, _ = last_content_line([*lines[:first], "..."], block_first, col, is_item)
        blank = max(blank, previous + 1)
    after = last
    while after + 1 < len(lines) - 1 and not lines[after + 1].strip():
        after += 1
    if blank < first and (last == block_last or after > last):
        first = blank  # the gap before it goes, the one after it stays
    elif line == block_first and after > last and last != block_last:
        last = after  # the first entry: the gap after it goes
    if last + 1 < len(starts):
        return Edit(starts[first], starts[last + 1], "")
    start = starts[first - 1] + len(lines[first - 1]) if first else 0  # the last line has no break: take the one before
    return Edit(start, len(document.text), "")


def _remove_compact(document: ComposeDocument, line: int, col: int, is_item: bool, nothing: str) -> Edit:
    """An entry on its parent's dash line: the text up to the next entry, or `nothing` (`{}`,
    `[]`) in its place when it is the only one."""
    last, _, _ = locate.entry_end(document, line, col, is_item)
    start = document.offset(line, col)
    if nothing:
        return Edit(start, document.line_starts[last] + len(document.lines[last]), nothing)
    following = _next_entry(document, last, col)
    if following is None:
        raise ValueError("cannot find the entry after the one to remove")
    return Edit(start, document.offset(following, col), "")


def _next_entry(document: ComposeDocument, last: int, col: int) -> int | None:
    for i in range(last + 1, len(document.lines)):
        text = document.lines[i]
        if text.strip() and not text.strip().startswith("#"):
            return i if indent(text) == col else None
    return None


def _remove_flow(document: ComposeDocument, node: Any, key: Any, opener: str) -> Edit:
    """An entry of a flow collection with the comma after it (or before it, when it is last)."""
    text = document.text
    start = _flow_entry_start(document, node, key)
    end = locate.value_end(document, node, key)
    after = _skip(text, end, " \t")
    if text[after : after + 1] == ",":
        end = _skip(text, after + 1, " \t")
        if not text[document.line_starts[document.line_of(start)] : start].strip() and text[end : end + 1] in ("\r", "\n", ""):
            line = document.line_of(start)
            return Edit(document.line_starts[line], document.line_starts[line + 1], "")  # it had a line of its own
        return Edit(start, end, "")
    back = start
    while back > 0 and text[back - 1] in " \t\r\n":
        back -= 1
    if text[back - 1 : back] == ",":
        return Edit(back - 1, end, "")
    opened = locate.flow_start(document, node, opener)  # the only entry: `{}` is left
    return Edit(opened + 1, flow_end(text, opened)[0] - 1, "")


def _flow_entry_start(document: ComposeDocument, node: Any, key: Any) -> int:
    if is_map(node):
        line, col = node.lc.key(key)
    else:
        line, col = node.lc.item(key)
    return document.offset(line, col)


def _skip(text: str, i: int, characters: str) -> int:
    while i < len(text) and text[i] in characters:
        i += 1
    return i


def _emptied(document: ComposeDocument, node: Any) -> Edit:
    """` {}` after the key whose block mapping loses its last entry."""
    paths = document.sharing.uses_of(node)
    parent: Any = document.data
    for part in paths[0][:-1] if len(paths) == 1 else ():
        parent = parent[part]
    if len(paths) != 1 or not is_map(parent) or not own(parent, paths[0][-1]):
        raise ValueError("it is the last key of a mapping that is not the value of one key in the file (harden leaves it)")
    offset = locate.after_colon(document, parent, paths[0][-1])
    return Edit(offset, offset, " {}")


def _check_anchors(document: ComposeDocument, edits: list[Edit]) -> None:
    """Refuse removing text that defines an anchor used elsewhere (its aliases would break)."""
    text = document.text
    edits = sorted(edits, key=lambda edit: edit.start)
    ends = [0, *(edit.end for edit in edits)]
    starts = [*(edit.start for edit in edits), len(text)]
    kept = "".join(text[a:b] for a, b in zip(ends, starts, strict=True))
    for edit in edits:
        for match in _ANCHOR.finditer(text[edit.start : edit.end]):
            if re.search(r"\*" + re.escape(match.group(1)) + r"(?![^\s,\[\]{}])", kept):
                raise ValueError(f"it defines the anchor &{match.group(1)}, which is used elsewhere (*{match.group(1)})")
