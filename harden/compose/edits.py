"""Edits that add or change text: each builder returns harden.model.Edit spans of the original
text (the engine applies them), found from positions in the tree and the text scanners; the
tree is never dumped. Removals are in harden.compose.remove.

Decisions
---------
* Where a new key goes in a block mapping: right after the mapping's last *content* line (the
  last line of its last entry, however deeply nested, and of comment lines indented deeper than
  its keys), so blank lines and comments that follow stay in the gap before the next key. Lines
  for an outermost mapping (the root, a top-level value, a service) are inserted after the line
  break, those for a nested collection replace the line break: when both end on the same line,
  the nested lines come first whatever order the engine applies the edits in. After a block
  scalar that ends a file without a final newline, the lines go before the last entry.
* A new top-level key (`add_top_level`) goes after the entry of the key named by `after`, else
  at the end of the root mapping; when the file separates its top-level keys with blank lines,
  a blank line goes before it too.
* In a flow mapping (`svc: {image: x}`) an entry is added before the closing brace as
  `, key: value`, in flow style; a flow collection written one entry per line with a trailing
  comma gets a new line. Comments asked for flow items follow the closing bracket.
* Items added to an existing sequence copy the quotes of its last item. `replace_scalar` keeps
  the old value's quotes.
* An edit through a Service owner that would also change another place raises ValueError
  (harden.compose.sharing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harden.compose import locate
from harden.compose.render import (
    comment,
    double_quoted,
    flow_comment,
    flow_value,
    prefers_flow,
    render_entry,
    scalar,
    single_quoted,
)
from harden.compose.scan import flow_end, indent
from harden.compose.tree import is_flow, is_seq, own, own_items
from harden.model import Edit

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument, Owner


def editable(document: ComposeDocument, owner: Owner, key: str) -> Any:
    """The mapping of `owner`, when an edit of `key` through it changes nothing else."""
    reason = document.shared(owner, key)
    if reason:
        raise ValueError(reason)
    return document.mapping(owner)


def add_key(document: ComposeDocument, owner: Owner, key: str, value: Any, comments: dict[str, str] | None = None) -> list[Edit]:
    """Add `key: value` to a mapping (ComposeDocument.add_key)."""
    node = editable(document, owner, key)
    if own(node, key):
        raise ValueError(f"{key!r} is already set here; use replace_scalar or extend_sequence")
    comments = comments or {}
    if is_flow(node):
        return [_add_flow_entry(document, node, key, value, comments)]
    col = locate.key_column(document, node)
    seq_offset, seq_gap = _sequence_style(document, node)
    use_flow = prefers_flow(value, document.style, comments)
    lines = render_entry(key, value, col, document.style, seq_offset, seq_gap, use_flow, comments)
    return [_append_lines(document, node, lines, outer=id(node) in document.outer)]


def add_top_level(
    document: ComposeDocument, key: str, value: Any, after: str | None = None, comments: dict[str, str] | None = None
) -> list[Edit]:
    """Add a top-level `key: value` (ComposeDocument.add_top_level)."""
    root = document.data
    if own(root, key):
        raise ValueError(f"{key!r} is already set at the top level")
    if after is not None and not own(root, after):
        raise ValueError(f"no top-level key {after!r} to add {key!r} after")
    comments = comments or {}
    if is_flow(root):
        return [_add_flow_entry(document, root, key, value, comments)]
    style = document.style
    col = locate.key_column(document, root)
    lines = render_entry(key, value, col, style, style.seq_offset, style.seq_gap, prefers_flow(value, style, comments), comments)
    if _separated(document, root):
        lines.insert(0, "")
    if after is None:
        return [_append_lines(document, root, lines, outer=True)]
    line, _ = root.lc.key(after)
    last, _, in_scalar = locate.entry_end(document, int(line), col, False)
    if in_scalar and last + 1 == len(document.line_starts) and document.text[-1:] not in ("\n", "\r"):
        return [_append_lines(document, root, lines, outer=True)]  # the last entry ends in a block scalar, as above
    return [insert_lines(document, last, lines, outer=True)]


def _separated(document: ComposeDocument, root: Any) -> bool:
    """Whether the file writes a blank line before one of its top-level keys (after the first)."""
    lines = document.lines
    for _, (line, col, *_) in list(root.lc.data.items())[1:]:
        above = int(line) - 1
        while above >= 0 and lines[above].strip().startswith("#") and indent(lines[above]) <= col:
            above -= 1  # comments written above the key belong to it
        if above >= 0 and not lines[above].strip():
            return True
    return False


def extend_sequence(
    document: ComposeDocument, owner: Owner, key: str, items: list[Any], comments: dict[str, str] | None = None
) -> list[Edit]:
    """Append items to an existing block or flow sequence `key` of a mapping."""
    node = editable(document, owner, key)
    if not own(node, key):
        raise ValueError(f"{key!r} is not set on this mapping")
    seq = node[key]
    if not is_seq(seq) or locate.is_alias_value(document, node, key):
        raise ValueError(f"{key!r} is not a sequence written here")
    comments = comments or {}
    if not items:
        return []
    if is_flow(seq) or is_flow(node):
        return [_extend_flow(document, seq, items, comments)]
    dash_line, dash_col = locate.dash_position(document, seq)
    gap = seq.lc.item(0)[1] - dash_col if len(seq) else document.style.seq_gap
    quote = _item_quote(document, seq)
    lines = []
    for item in items:
        text = scalar(item, False, quote or document.style.quote, force=bool(quote))
        lines.append(" " * dash_col + "-" + " " * max(gap - 1, 1) + text + comment(comments, item))
    return [_append_lines(document, seq, lines, outer=False, dash_col=dash_col, first_line=dash_line)]


def replace_scalar(document: ComposeDocument, owner: Owner, key: str, new_text: str) -> list[Edit]:
    """Replace a scalar value's text with `new_text` (a value; quoted as the old one was)."""
    node = editable(document, owner, key)
    if not own(node, key):
        raise ValueError(f"{key!r} is not set on this mapping")
    return [_replace(document, node, key, new_text)]


def replace_item(document: ComposeDocument, owner: Owner, key: str, index: int, new_text: str) -> list[Edit]:
    """Replace the scalar item `index` of the sequence `key`."""
    node = editable(document, owner, key)
    if not own(node, key) or locate.is_alias_value(document, node, key):
        raise ValueError(f"{key!r} is not a sequence written here")
    return [_replace(document, node[key], index, new_text)]


def _replace(document: ComposeDocument, node: Any, key: str | int, new_text: str) -> Edit:
    if locate.is_alias_value(document, node, key):
        raise ValueError(
            f"{key} is an alias of a value anchored elsewhere: harden does not change it for one place; change "
            "the anchored value (every alias follows), or write the value here"
        )
    start, end = locate.scalar_span(document, node, key)
    old = document.text[start:end]
    if old[:1] in ("|", ">"):
        raise ValueError(f"{key!r} is a block scalar")
    flow = is_flow(node)
    if start == end:  # an empty value (`key:`)
        space = "" if document.text[start - 1 : start] in (" ", "\t") else " "
        return Edit(start, end, space + scalar(new_text, flow, document.style.quote))
    if old[:1] == '"':
        text = double_quoted(new_text)
    elif old[:1] == "'" and "\n" not in new_text:
        text = single_quoted(new_text)
    else:
        text = scalar(new_text, flow, document.style.quote)
    return Edit(start, end, text)


# --- where new lines go ------------------------------------------------------------------------


def _append_lines(
    document: ComposeDocument,
    node: Any,
    lines: list[str],
    outer: bool,
    dash_col: int | None = None,
    first_line: int | None = None,
) -> Edit:
    """Add lines at the end of a block collection.

    After its last content line, except when that line ends a block scalar at the very end
    of a file without a final newline: the line break the insertion needs would become part
    of the scalar, so the lines go before the last entry instead.
    """
    last, entry, in_scalar = locate.block_end(document, node, dash_col, first_line)
    if in_scalar and last + 1 == len(document.line_starts) and document.text[-1:] not in ("\n", "\r"):
        if entry < 0:
            raise ValueError("cannot add after a block scalar that ends the file without a newline")
        offset = document.line_starts[entry]
        return Edit(offset, offset, "\n".join(lines) + "\n")
    return insert_lines(document, last, lines, outer)


def insert_lines(document: ComposeDocument, last_line: int, lines: list[str], outer: bool) -> Edit:
    """Insert lines after `last_line`.

    Several collections can end on the same line (a service and its last key's sequence).
    New lines of the outermost mapping (`outer`) go after that line's break, as an insertion;
    new lines of a nested collection replace the line break itself (an edit that ends where
    the outer insertion starts), so they land first whatever order the engine gets them in.
    Two nested collections ending on one line give overlapping edits: the engine applies one
    and proposes the other again on the new text.
    """
    block = "\n".join(lines)
    text, starts = document.text, document.line_starts
    end_of_text = starts[last_line] + len(document.lines[last_line])
    if last_line + 1 < len(starts):
        offset = starts[last_line + 1]
        if outer:
            return Edit(offset, offset, block + "\n")
        return Edit(end_of_text, offset, "\n" + block + "\n")
    offset = len(text)  # the last line of the file, without a final newline
    if outer or offset == 0:
        return Edit(offset, offset, "\n" + block)
    return Edit(offset - 1, offset, text[offset - 1] + "\n" + block)


def _sequence_style(document: ComposeDocument, node: Any) -> tuple[int, int]:
    """(dash offset, item gap) of block sequences in this mapping, else the file's."""
    for key, value in own_items(node):
        if is_seq(value) and len(value) and not is_flow(value) and not locate.is_alias_value(document, node, key):
            col = locate.key_column(document, node)
            _, dash = locate.dash_position(document, value)
            return dash - col, value.lc.item(0)[1] - dash
    return document.style.seq_offset, document.style.seq_gap


def _item_quote(document: ComposeDocument, seq: Any) -> str:
    """The quote character of the sequence's last item when it is quoted, else ''."""
    if not len(seq):
        return ""
    try:
        style = locate.scalar_style(document, seq, len(seq) - 1)
    except ValueError:
        return ""
    return style if style in ("'", '"') else ""


# --- flow collections --------------------------------------------------------------------------


def _add_flow_entry(document: ComposeDocument, node: Any, key: str, value: Any, comments: dict[str, str]) -> Edit:
    quote = document.style.quote
    entry = scalar(key, True, quote) + ": " + flow_value(value, quote)
    return _flow_insert(document, node, "{", entry, flow_comment(value, comments, key))


def _extend_flow(document: ComposeDocument, seq: Any, items: list[Any], comments: dict[str, str]) -> Edit:
    quote = _item_quote(document, seq)
    rendered = ", ".join(scalar(i, True, quote or document.style.quote, force=bool(quote)) for i in items)
    return _flow_insert(document, seq, "[", rendered, flow_comment(items, comments, None))


def _flow_insert(document: ComposeDocument, node: Any, opener: str, entry: str, note: str) -> Edit:
    """Add `entry` (one or more rendered entries) at the end of a flow collection.

    One line: `, entry` before the closing bracket. A collection written one entry per line
    with a trailing comma and the bracket on a line of its own gets a new line `entry,`. A
    comment (`note`) is appended after the closing bracket when nothing follows it. An empty
    collection whose brackets are on different lines gets a new line before the closing one,
    indented one step deeper than the line that opens it. In an empty collection (`{}`, `[]`)
    the edit replaces the closing bracket, so that two edits filling it overlap (the engine
    applies one, then proposes the other on the new text) instead of running together; within
    one fix, add to an empty collection in one call.
    """
    text, line_of = document.text, document.line_of
    start = locate.flow_start(document, node, opener)
    end, last = flow_end(text, start)
    close = end - 1
    close_line = line_of(close)
    if last == start + 1:  # empty
        if close_line != line_of(start):  # `{` and `}` on lines of their own: a new line between
            offset = document.line_starts[close_line]
            pad = " " * (indent(document.lines[line_of(start)]) + document.style.indent)
            return Edit(offset, end, pad + entry + note + "\n" + text[offset:end])
        tail = note if note and locate.line_tail_empty(document, end) else ""
        return Edit(last, end, entry + text[last:end] + tail)
    if text[last - 1] == ",":
        before_close = text[document.line_starts[close_line] : close]
        if line_of(last) != close_line and not before_close.strip() and not note:
            pad = " " * indent(document.lines[line_of(last - 1)])
            offset = document.line_starts[close_line]
            return Edit(offset, offset, pad + entry + ",\n")
        new = " " + entry + ","  # keep the trailing comma style: `[a, b,]` -> `[a, b, c,]`
    else:
        new = ", " + entry
    if note and locate.line_tail_empty(document, end) and line_of(last) == close_line:
        return Edit(last, end, new + text[last:end] + note)
    return Edit(last, last, new)
