"""Where applied fixes landed, so that a refused output can be explained.

The engine applies fixes in rounds, each to the text the previous round produced. A `Trace`
follows every applied edit into the latest text, so that when the engine refuses an output it
can say which rule's edits are nearest the problem and on which line of the output the problem
is. Locating a semantic change uses the document: a Dockerfile's `offset_of` (the instruction
a path names), or for Compose the ruamel tree the document keeps in `data`, whose mappings and
sequences know each item's line and column (`lc`). Nothing here changes what is written: a
wrong guess only makes a refusal message less precise.
"""

from __future__ import annotations

from typing import Any

from harden.model import Claim, Edit, Finding


class Trace:
    """The applied rules' edits as (rule id, start, end) spans of the latest text."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, int, int]] = []
        self.rounds: list[tuple[list[Edit], str]] = []  # each round's edits and the newline they were written with

    def add_round(self, chosen: list[Finding], newline: str) -> list[Edit]:
        """Record a round's fixes (applied as model.apply_edits does); returns their edits."""
        edits = [(f.rule.id, e) for f in chosen if f.fix is not None for e in f.fix.edits()]
        this_round = [e for _, e in edits]
        self.spans = [
            (rule, _shift(start, this_round, newline), _shift(end, this_round, newline)) for rule, start, end in self.spans
        ]
        shift = 0
        for _, (rule, edit) in sorted(enumerate(edits), key=lambda pair: (pair[1][1].start, pair[1][1].end, pair[0])):
            size = len(_written(edit, newline))
            self.spans.append((rule, edit.start + shift, edit.start + shift + size))
            shift += size - (edit.end - edit.start)
        self.rounds.append((this_round, newline))
        return this_round

    def forward(self, offset: int) -> int:
        """An offset of the input, in the latest text."""
        for edits, newline in self.rounds:
            offset = _shift(offset, edits, newline)
        return offset

    def first(self) -> int:
        """Where the first edit is in the latest text."""
        return min(start for _, start, _ in self.spans)

    def nearest(self, offset: int) -> str:
        """The rule whose edits contain `offset`, or else lie nearest to it (the first applied on a tie)."""

        def distance(span: tuple[str, int, int]) -> int:
            _, start, end = span
            return 0 if start <= offset <= end else min(abs(offset - start), abs(offset - end))

        return min(self.spans, key=distance)[0]

    def locate(self, before: Any, after: Any, kind: str, path: Claim) -> int:
        """The offset in the latest text (`after`) of a semantic change: where `after` has it, or,
        for something removed, where `before` (the input) had it, carried through the edits."""
        if kind != "removed":
            found = offset_of(after, path)
            if found is not None:
                return found
        found = offset_of(before, path)
        return self.forward(found) if found is not None else self.first()


def _written(edit: Edit, newline: str) -> str:
    return edit.text.replace("\n", newline) if newline != "\n" else edit.text


def _shift(offset: int, edits: list[Edit], newline: str) -> int:
    """An offset of the text before `edits`, in the text after them; an offset inside a
    replaced span goes to where its replacement starts."""
    shift = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start <= offset < edit.end:
            return edit.start + shift
        if edit.end <= offset:  # before it, or an insertion at it
            shift += len(_written(edit, newline)) - (edit.end - edit.start)
    return offset + shift


def offset_of(document: Any, path: Claim) -> int | None:
    """Where a semantic path is in a document (see the module docstring); for Compose, the
    deepest node the path reaches. None when the document has none of it."""
    locate = getattr(document, "offset_of", None)
    if locate is not None:
        found: int | None = locate(path)
        return found
    node: Any = getattr(document, "data", None)
    found = None
    for key in path:
        try:
            lc = node.lc
            line, column = lc.key(key) if isinstance(node, dict) else lc.item(key)
            found = document.offset(line, column)
            node = node[key]
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            break
    return found


def line_start(text: str, line: int) -> int:
    """Offset of a 1-based line (the end of the text when it has fewer lines)."""
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return len(text)
    return offset
