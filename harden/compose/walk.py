"""One pass over a document's tree: alias expansion and nesting limits (the refused "billion
laughs" anchor bomb), the anchored mappings, and the file's style (harden.compose.render.Style).

Decisions
---------
* Refused (DocumentError, 1-based line and column): nesting deeper than MAX_DEPTH, a node that
  contains itself, and aliases that expand the document by more than max(MAX_ALIAS_EXPANSION,
  ALIAS_EXPANSION_RATIO x its distinct nodes) nodes, reported at the first node that passes the
  limit; an anchor merged into every service of a large file stays far below it.
* Style counts only what a file writes itself (aliases are not counted again), and only
  collections under keys of block mappings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harden.compose import locate
from harden.compose.render import Style
from harden.compose.tree import anchor_name, is_flow, is_map, is_seq, merges, own
from harden.model import DocumentError

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument

# Alias expansion a document may have: aliases may add max(MAX_ALIAS_EXPANSION, ALIAS_EXPANSION_RATIO
# x its distinct nodes) nodes to the expanded document. A billion-laughs bomb adds 10**9 to ~100.
MAX_ALIAS_EXPANSION = 100_000
ALIAS_EXPANSION_RATIO = 10
MAX_DEPTH = 200  # nesting levels of collections


@dataclass
class AnchorInfo:
    """An anchored mapping (`x-defaults: &defaults`) and the services that merge it."""

    name: str
    node: Any  # the ruamel mapping
    line: int  # 1-based line of the anchored mapping's first key
    path: tuple[str | int, ...]  # where it is defined, e.g. ("x-defaults",)
    merged_by: list[str] = field(default_factory=list)  # services with `<<: *name` (directly)


def walk(document: ComposeDocument) -> tuple[Style, dict[str, AnchorInfo]]:
    """(the file's style, its anchored mappings by name: the last definition wins, as for
    aliases after it); DocumentError for what is refused (module docstring)."""
    walker = _Walker(document)
    walker.check_size()
    for name, service in document.services.items():
        for merged in merges(service.node):
            anchor = anchor_name(merged)
            if anchor and anchor in walker.anchors and walker.anchors[anchor].node is merged:
                walker.anchors[anchor].merged_by.append(name)
    return walker.style(), walker.anchors


class _Walker:
    """One pass over the distinct nodes: alias expansion size, anchors, and the file's style."""

    def __init__(self, document: ComposeDocument) -> None:
        self.document = document
        self.anchors: dict[str, AnchorInfo] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.distinct = 0
        self.indents: Counter[int] = Counter()
        self.offsets: Counter[tuple[int, int]] = Counter()
        self.flow = 0  # scalar lists written in flow style
        self.block = 0  # ... and as block sequences
        self.flow_maps = 0  # non-empty mappings written in flow style
        self.block_maps = 0  # ... and as blocks
        self.large: list[tuple[int, Any]] = []  # (expanded size, node) over MAX_ALIAS_EXPANSION, deepest first

    def check_size(self) -> None:
        data = self.document.data
        total = self.size(data, ())
        limit = max(MAX_ALIAS_EXPANSION, ALIAS_EXPANSION_RATIO * self.distinct)
        if total - self.distinct > limit:
            node = next((n for size, n in self.large if size > limit), data)
            raise DocumentError(
                int(node.lc.line) + 1,
                f"aliases expand this document to {total} nodes from {self.distinct} (over {limit} more): "
                "refused as an anchor bomb",
                int(node.lc.col) + 1,
            )

    def style(self) -> Style:
        text = self.document.text
        doubles = len(re.findall(r'(?:^|[\s\[{,:-])"', text, re.M))
        singles = len(re.findall(r"(?:^|[\s\[{,:-])'", text, re.M))
        indent = self.indents.most_common(1)[0][0] if self.indents else 2
        offset, gap = self.offsets.most_common(1)[0][0] if self.offsets else (2, 2)
        return Style(
            indent=indent,
            seq_offset=offset,
            seq_gap=gap,
            flow_sequences=self.flow > self.block,
            quote="'" if singles > doubles else '"',
            flow_mappings=self.flow_maps > self.block_maps,
        )

    def size(self, node: Any, path: tuple[str | int, ...]) -> int:
        """Nodes of the fully expanded subtree; distinct nodes are visited once."""
        if not (is_map(node) or is_seq(node)):
            self.distinct += 1
            return 1
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.active:
            line = int(node.lc.line) + 1
            raise DocumentError(line, "recursive alias: a node contains itself", int(node.lc.col) + 1)
        if len(self.active) >= MAX_DEPTH:
            raise DocumentError(int(node.lc.line) + 1, f"nesting deeper than {MAX_DEPTH} levels", int(node.lc.col) + 1)
        self.active.add(id(node))
        self.distinct += 1
        total = 1
        if is_map(node):
            name = anchor_name(node)
            if name is not None:
                line = locate.first_key_line(self.document, node) if not is_flow(node) else int(node.lc.line)
                self.anchors[name] = AnchorInfo(name, node, line + 1, path)
            for key in node:
                value = node[key]
                if own(node, key):
                    self._style(node, key, value)
                total += 1 + self.size(value, (*path, str(key)))
        else:
            for index, value in enumerate(node):
                total += self.size(value, (*path, index))
        self.active.discard(id(node))
        self.sizes[id(node)] = total
        if total > MAX_ALIAS_EXPANSION:
            self.large.append((total, node))
        return total

    def _style(self, node: Any, key: Any, value: Any) -> None:
        if not (is_map(value) or is_seq(value)) or is_flow(node):
            return
        data = node.lc.data.get(key)
        if data is None:
            return
        kline, kcol, vline, vcol = data
        if (vline, vcol) <= (kline, kcol) or (value.lc.line, value.lc.col) < (kline, kcol):
            return  # an alias
        if is_flow(value):
            if is_seq(value) and all(not isinstance(v, dict | list) for v in value):
                self.flow += 1
            elif is_map(value) and len(value):
                self.flow_maps += 1
            return
        if is_map(value):
            self.block_maps += 1
            if value.lc.data:
                col = min(c for _, c, *_ in value.lc.data.values())
                if col > kcol:
                    self.indents[col - kcol] += 1
            return
        if len(value) and value.lc.item(0) is not None:
            if all(not isinstance(v, dict | list) for v in value):
                self.block += 1
            line, col = value.lc.item(0)
            before = self.document.lines[line][:col].rstrip()
            if before.endswith("-"):
                dash = len(before) - 1
                if dash >= kcol:
                    self.offsets[(dash - kcol, col - dash)] += 1
