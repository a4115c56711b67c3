"""Where things are in a Compose file's text: positions from ruamel.yaml's tree (`.lc`), ends
from the text scanners (harden.compose.scan). Passes get every position through the document
(ComposeDocument.key_position, value_position, item_position, service_position,
position_of), never from ruamel's `.lc` or private names.

ruamel.yaml gives 0-based (line, column) pairs: for a mapping key and its value
(`node.lc.data[key]`), a sequence item (`node.lc.item(i)`), a collection (`node.lc`). They
point at a value's first token, its tag or anchor included (`!reset x`, `&a [..]`); an empty
value (`key:`) is reported at the next token, and an alias (`*a`) at the anchored node, far
away: the functions here correct both from the text. The document's methods give 1-based
positions; the functions here work in 0-based lines and text offsets.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harden.compose.scan import flow_end, indent, last_content_line, quote_end
from harden.compose.tree import is_flow, is_map, is_seq, key_owner, tag

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument
    from harden.compose.service import Service

DocPath = tuple[str | int, ...]  # a path into the document, e.g. ("services", "web", "ports", 0)
_ALIAS = re.compile(r"\*[^\s,\[\]{}]+")
_PROPERTY = re.compile(r"[!&][^\s,\[\]{}]*[ \t]*")
_PROPERTIES = re.compile(r"(?:[ \t]+[!&][^\s,\[\]{}]*)*")
_COLON = re.compile(r"[ \t]*:")
_COLON_SPACE = re.compile(r"\s*:[ \t]*")


def is_alias_value(document: ComposeDocument, node: Any, key: Any) -> bool:
    """Whether a mapping value (or sequence item) is written as `*alias`."""
    if is_seq(node):
        position = node.lc.item(key)
        if position is None:
            raise ValueError(f"no position for item {key}")
        line, col = position
        return document.text[document.offset(line, col) : document.offset(line, col) + 1] == "*" or (
            (line, col) < (node.lc.line, node.lc.col)
        )
    data = node.lc.data.get(key)
    if data is None:
        return False
    kline, kcol, vline, vcol = data
    if (vline, vcol) < (kline, kcol):
        return True
    start = document.offset(vline, vcol)
    if document.text[start : start + 1] == "*":
        return True
    value = node[key]
    return bool((is_map(value) or is_seq(value)) and (value.lc.line, value.lc.col) < (kline, kcol))


def position_of(document: ComposeDocument, path: DocPath) -> tuple[int, int]:
    """1-based (line, column) of what a semantic path names: a mapping key where it is written
    (in the merged mapping it comes from, if merged), a sequence item; as deep as the path can
    be followed (the top of the file for the empty path)."""
    node = document.data
    line = column = 0
    for part in path:
        if is_map(node):
            key = next((k for k in node if str(k) == str(part)), None)
            owner = key_owner(node, key, set()) if key is not None else None
            if owner is None:
                break
            line, column = owner.lc.key(key)
            node = node[key]
        elif is_seq(node) and isinstance(part, int) and part < len(node) and node.lc.item(part) is not None:
            line, column = node.lc.item(part)
            node = node[part]
        else:
            break
    return int(line) + 1, int(column) + 1


def scalar_span(document: ComposeDocument, node: Any, key: str | int) -> tuple[int, int]:
    """Offsets of a scalar value's text in a mapping (by key) or sequence (by index).

    The span covers the scalar itself, quotes included, after any tag or anchor; for an
    alias (`*name`) it is the alias. Raises ValueError for a collection value.
    """
    start, parent = value_start(document, node, key)
    value = node[key]
    if is_alias_value(document, node, key):
        match = _ALIAS.match(document.text, start)
        if match is None:  # an alias item of a sequence: the tree has the anchor's position only
            raise ValueError(f"cannot locate the alias at {key!r}")
        return start, match.end()
    if is_map(value) or is_seq(value):
        raise ValueError(f"{key!r} is not a scalar")
    return start, scalar_end(document, start, flow=is_flow(node), parent_col=parent)


def scalar_style(document: ComposeDocument, node: Any, key: str | int) -> str:
    """'"', "'", '|', '>' or '' (plain) for a scalar value."""
    start, _ = scalar_span(document, node, key)
    char = document.text[start : start + 1]
    return char if char in ("'", '"', "|", ">") else ""


def value_start(document: ComposeDocument, node: Any, key: str | int) -> tuple[int, int]:
    """(offset of a value's first character after tag/anchor properties, parent column)."""
    if is_seq(node):
        position = node.lc.item(key)
        if position is None:
            raise ValueError(f"no position for item {key}")
        line, col = position
        before = document.lines[line][:col].rstrip()  # continuation lines are deeper than the dash
        parent = len(before) - 1 if before.endswith("-") else col
    else:
        kline, kcol, line, col = node.lc.data[key]
        parent = kcol
        value = node[key]
        if value is None or (tag(value) is not None and not (is_map(value) or is_seq(value))):
            # an empty value (`key:`, `key: !reset`) is reported at the next token: find it here
            empty_at = after_colon(document, node, key)  # an empty value sits right after the colon or its tag
            after = empty_at + len(document.text[empty_at:]) - len(document.text[empty_at:].lstrip(" \t"))
            rest = document.text[after : after + 1]
            if rest in ("", "#", "\r", "\n", ",", "}"):
                return empty_at, parent
            line, col = document.line_of(after), after - document.line_starts[document.line_of(after)]
        if (line, col) < (kline, kcol) or is_alias_value(document, node, key):
            # an alias: ruamel reports the anchored node's position; find `*name` after the key
            match = _COLON_SPACE.match(document.text, key_end(document, node, key))
            assert match is not None
            return match.end(), parent
    start = document.offset(line, col)
    while document.text[start : start + 1] in ("!", "&"):
        match = _PROPERTY.match(document.text, start)
        assert match is not None
        start = match.end()
        if start < len(document.text) and document.text[start] in "\r\n":  # properties alone on the line
            nxt = document.line_of(start) + 1
            if nxt < len(document.lines):
                line_text = document.lines[nxt]
                start = document.line_starts[nxt] + len(line_text) - len(line_text.lstrip(" "))
    return start, parent


def key_end(document: ComposeDocument, node: Any, key: str | int) -> int:
    line, col = node.lc.key(key)
    start = document.offset(line, col)
    return scalar_end(document, start, flow=True, parent_col=col)


def scalar_end(document: ComposeDocument, start: int, flow: bool, parent_col: int) -> int:
    """The offset just past a scalar that starts at `start` (quoted, block or plain; a plain
    one in block context goes on over lines indented deeper than `parent_col`)."""
    text = document.text
    char = text[start : start + 1]
    if char in ('"', "'"):
        close = quote_end(text, start + 1, char, len(text))
        return close if close is not None else len(text)
    if char in ("", "#", "\r", "\n", ",", "}", "]"):
        return start  # an empty value
    line = document.line_of(start)
    if char in ("|", ">"):
        return _block_scalar_end(document, line)
    end = plain_end(document, start, flow)
    if flow:
        return end
    for i in range(line + 1, len(document.lines)):  # continuation lines of a multi-line plain scalar
        body = document.lines[i]
        stripped = body.strip()
        if not stripped:
            continue
        if indent(body) <= parent_col or stripped.startswith("#"):
            break
        end = plain_end(document, document.line_starts[i] + indent(body), False)
    return end


def _block_scalar_end(document: ComposeDocument, line: int) -> int:
    """The end of the last line of a block scalar (`|`, `>`) whose header is on `line`."""
    header_indent = indent(document.lines[line])
    last = line
    for i in range(line + 1, len(document.lines)):
        body = document.lines[i]
        if not body.strip():
            continue
        if indent(body) <= header_indent:
            break
        last = i
    return document.line_starts[last] + len(document.lines[last])


def plain_end(document: ComposeDocument, start: int, flow: bool) -> int:
    line = document.line_of(start)
    line_end = document.line_starts[line] + len(document.lines[line])
    text = document.text
    i = start
    end = start
    while i < line_end:
        c = text[i]
        if c == "#" and i > start and text[i - 1] in " \t":
            break
        if flow and c in ",[]{}":
            break
        if flow and c == ":" and (i + 1 >= line_end or text[i + 1] in " \t,[]{}"):
            break
        if c not in " \t":
            end = i + 1
        i += 1
    return end


def key_column(document: ComposeDocument, node: Any) -> int:
    """The column where the entries of a block mapping start: its keys', or the `?` of an
    explicit key (`? image` then `: nginx`), which ruamel.yaml places at the key itself."""
    if node.lc.data:
        columns = []
        for line, col, *_ in node.lc.data.values():
            before = document.lines[line][:col].rstrip(" ")
            columns.append(len(before) - 1 if before.endswith("?") and not before[:-1].strip(" -") else col)
        return int(min(columns))
    start = document.offset(node.lc.line, node.lc.col)
    if document.text[start : start + 1] in ("&", "!"):  # properties before the block: keys start below
        for i in range(node.lc.line + 1, len(document.lines)):
            stripped = document.lines[i].strip()
            if stripped and not stripped.startswith("#"):
                return indent(document.lines[i])
    return int(node.lc.col)


def first_key_line(document: ComposeDocument, node: Any) -> int:
    start = document.offset(node.lc.line, node.lc.col)
    if document.text[start : start + 1] in ("&", "!"):
        for i in range(node.lc.line + 1, len(document.lines)):
            stripped = document.lines[i].strip()
            if stripped and not stripped.startswith("#"):
                return i
    return int(node.lc.line)


def dash_position(document: ComposeDocument, seq: Any) -> tuple[int, int]:
    """(line, column) of a block sequence's first dash."""
    if len(seq):
        line, col = seq.lc.item(0)
        before = document.lines[line][:col].rstrip()
        if before.endswith("-"):
            return line, len(before) - 1
    start = document.offset(seq.lc.line, seq.lc.col)
    if document.text[start : start + 1] in ("&", "!"):
        for i in range(seq.lc.line + 1, len(document.lines)):
            stripped = document.lines[i].strip()
            if stripped and not stripped.startswith("#"):
                return i, indent(document.lines[i])
    return int(seq.lc.line), int(seq.lc.col)


def block_end(
    document: ComposeDocument, node: Any, dash_col: int | None = None, first_line: int | None = None
) -> tuple[int, int, bool]:
    """(last content line, first line of the last entry, whether the last line is in a block
    scalar) of a block mapping (or sequence, given its dash column)."""
    if dash_col is None:
        col, first = key_column(document, node), first_key_line(document, node)
    else:
        col, first = dash_col, first_line if first_line is not None else int(node.lc.line)
    last, entry, in_scalar = last_content_line(document.lines, first, col, dash_col is not None)
    if entry == first and indent(document.lines[first]) != col:
        entry = -1  # the entry shares its line with a dash (`- key: |`)
    return last, entry, in_scalar


def line_tail_empty(document: ComposeDocument, offset: int) -> bool:
    line = document.line_of(offset)
    tail = document.text[offset : document.line_starts[line] + len(document.lines[line])]
    return not tail.strip()


# --- positions for passes (1-based) ------------------------------------------------------------


def point(document: ComposeDocument, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a text offset."""
    line = document.line_of(offset)
    return line + 1, offset - document.line_starts[line] + 1


def key_position(document: ComposeDocument, node: Any, key: Any) -> tuple[int, int] | None:
    """1-based (line, column) of `key` of a mapping where it is written: on the mapping itself,
    or on the merged mapping it comes from (following merges of merges); None when not set."""
    owner = key_owner(node, key, set())
    if owner is None:
        return None
    line, column = owner.lc.key(key)
    return int(line) + 1, int(column) + 1


def value_position(document: ComposeDocument, node: Any, key: Any) -> tuple[int, int] | None:
    """1-based (line, column) of the value of `key` where it is written (as key_position): its
    first character after a tag or anchor, the alias for `*name`, right after the colon for an
    empty value; None when not set."""
    owner = key_owner(node, key, set())
    if owner is None:
        return None
    return point(document, value_start(document, owner, key)[0])


def item_position(document: ComposeDocument, node: Any, key: Any, index: int) -> tuple[int, int] | None:
    """1-based (line, column) of item `index` of the sequence `key` of a mapping (where the key
    is written, as key_position): its first character after the dash or bracket (for an item
    written as an alias, `- *name`, whose place the tree does not keep: the key's); None when
    there is no such item."""
    owner = key_owner(node, key, set())
    sequence: Any = owner[key] if owner is not None else None
    if not is_seq(sequence) or not 0 <= index < len(sequence):
        return None
    position = sequence.lc.item(index)
    if position is None or is_alias_value(document, sequence, index):
        return key_position(document, owner, key)  # an alias item: the tree keeps only the anchor's position
    return int(position[0]) + 1, int(position[1]) + 1


def service_position(document: ComposeDocument, service: Service, key: str | None, index: int | None) -> tuple[int, int]:
    """1-based (line, column) for a finding about a service (ComposeDocument.service_position):
    `key` (its item `index`) in the service's mapping when it writes the key, else in the
    anchored mapping named by Service.merged_from; else the service's own key."""
    node: Any = None
    if key is not None and service.own(key):
        node = service.node
    elif key is not None:
        anchor = service.merged_from(key)
        info = document.anchors().get(anchor) if anchor else None
        node = info.node if info is not None else None
    if node is None:
        return service.line, service.column
    if index is not None and is_seq(node.get(key)) and 0 <= index < len(node[key]):
        position = node[key].lc.item(index)
        if position is not None:
            return int(position[0]) + 1, int(position[1]) + 1
    if key in (node.lc.data or {}):
        line, column = node.lc.key(key)
        return int(line) + 1, int(column) + 1
    return service.line, service.column


# --- ends the tree does not keep ---------------------------------------------------------------


def entry_end(document: ComposeDocument, line: int, col: int, is_item: bool) -> tuple[int, int, bool]:
    """(last content line, -, whether it is in a block scalar) of the one block entry, a key or a
    sequence item (`is_item`), that starts on `line` with its key or dash at `col`."""
    return last_content_line(document.lines, line, col, is_item, single=True)


def flow_start(document: ComposeDocument, node: Any, opener: str) -> int:
    """The offset of the bracket (`opener`) that opens a flow collection (after its properties)."""
    start = document.offset(node.lc.line, node.lc.col)
    while document.text[start] != opener:
        start += 1
    return start


def value_end(document: ComposeDocument, node: Any, key: Any) -> int:
    """The offset just past the value of a flow collection's entry (`key` of a mapping or an
    item index of a sequence): a scalar or alias, or a nested flow collection."""
    value = node[key]
    if (is_map(value) or is_seq(value)) and not is_alias_value(document, node, key):
        start, _ = value_start(document, node, key)
        return flow_end(document.text, start)[0]
    return scalar_span(document, node, key)[1]


def after_colon(document: ComposeDocument, node: Any, key: Any) -> int:
    """The offset just past the colon after a mapping key and the properties that follow it
    (`key: &anchor !tag`): where an empty value is written."""
    colon = _COLON.match(document.text, key_end(document, node, key))
    assert colon is not None
    properties = _PROPERTIES.match(document.text, colon.end())
    return properties.end() if properties is not None else colon.end()
