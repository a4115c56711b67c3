"""The guard: an output is written only when it re-parses, validates and changes only what the
applied fixes claim; and where applied fixes landed, so that a refusal can be explained.

The engine applies fixes in rounds, each to the text the previous round produced. After each
round the output is parsed again (`parse_again`); once no fix is left, `check` runs the
document kind's validation (`validate_output`) and compares the parsed input and output
(`semantic_changes`, with deepdiff): a change under no applied fix's claim refuses the file.
A refusal names the rule whose edits are nearest the problem and the problem's line in the
output: a `Trace` follows every applied edit into the latest text. Locating a semantic change
uses the document: a Dockerfile's `offset_of` (the instruction a path names), or for Compose
the ruamel tree the document keeps in `data`, whose mappings and sequences know each item's
line and column (`lc`). Nothing here changes what is written: a wrong guess only makes a
refusal message less precise. The semantic summary of the reviewed diff is the same comparison.
Files a fix creates are checked too (`check_new_files`): a plain relative path below the fixed
file's directory, within the size limit, and not there already (or, for a file a fix extends,
still holding what the pass was given).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from harden import files
from harden.discover import display_name
from harden.model import Claim, DocumentError, Edit, FileResult, Finding, NewFile


class Refused(Exception):
    """An output harden will not write: `message` follows `path:line:` (line 1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def parse_again(module: ModuleType, path: str, text: str, trace: Trace) -> Any:  # a Document of the module's kind
    """The output of a round, parsed; Refused (naming the nearest rule) when it does not parse."""
    try:
        return module.parse(path, text)
    except DocumentError as error:
        line = min(error.line, text.count("\n") + 1)
        rule = trace.nearest(line_start(text, line))
        raise Refused(line, f"the fix of {rule} produced output that does not parse ({error.message})") from None


def check(module: ModuleType, document: Any, current: Any, applied: list[Finding], trace: Trace) -> list[Change]:
    """The semantic changes from `document` to `current`, once the output validates and every
    change lies under a claim of an applied fix; else Refused."""
    problems = module.validate_output(document, current)
    if problems:
        rules = ", ".join(sorted({f.rule.id for f in applied}))
        raise Refused(current.line_of(trace.first()) + 1, f"output of {rules} failed validation: {problems[0]}")
    changes = semantic_changes(document.semantic(), current.semantic())
    claims = [claim for f in applied if f.fix is not None for claim in f.fix.all_claims()]
    for change in changes:
        if not any(tuple(change.path[: len(claim)]) == tuple(claim) for claim in claims):
            offset = trace.locate(document, current, change.kind, change.path)
            message = f"the fix of {trace.nearest(offset)} changed {change.describe()}, which no fix claims"
            raise Refused(current.line_of(offset) + 1, message)
    return changes


def check_new_files(created: Mapping[str, tuple[NewFile, Finding]], directory: Path | None, limit: int) -> None:
    """Refused unless every file the fixes create has a plain relative path below the directory
    of the file fixed (no `..`, no absolute path), is within the size limit, and does not exist
    (not looked for when `directory` is None: a file read from standard input)."""
    for path, (new, finding) in created.items():
        why = new_file_problem(new, directory, limit)
        if why:
            raise Refused(finding.line, f"the fix of {finding.rule.id} creates {display_name(path)}, which {why}")


def new_file_problem(new: NewFile, directory: Path | None, limit: int) -> str:
    """Why harden will not create `new` beside a file in `directory` ('' when it will)."""
    parts = new.path.split("/")
    if not new.path or new.path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return "is not a plain relative path (no `..`, `.` or empty parts, not absolute)"
    if any(c in new.path for c in "\0\\"):
        return "has a NUL or a backslash in its name"
    size = len(new.text.encode("utf-8"))
    if size > limit:
        return f"would be {size} bytes, over the {limit}-byte limit (--max-file-size)"
    if directory is None:
        return ""
    if new.base is not None:
        return _extended_problem(directory / new.path, new.base, limit)
    if os.path.lexists(directory / new.path):
        return "exists already: harden never replaces a file with a new one"
    return ""


def _extended_problem(path: Path, base: str, limit: int) -> str:
    """Why harden will not extend the file at `path`, read as `base` for the pass ('' when it will)."""
    try:
        now = files.read_regular(path, limit)[0].decode("utf-8")
    except FileNotFoundError:
        return "was removed while harden ran"
    except (OSError, files.Refused, UnicodeDecodeError) as error:
        return f"cannot be read ({getattr(error, 'strerror', None) or error})"
    return "" if now == base else "changed while harden ran"


def check_size(result: FileResult, size: int, limit: int) -> None:
    """The size limit applies to what harden writes as well as to what it reads, so that a file
    never grows, through harden's own edits, beyond what harden will read again."""
    if result.output != result.original and size > limit:
        raise Refused(
            1,
            f"the hardened file would be {size} bytes, over the {limit}-byte limit (--max-file-size); "
            f"run with --max-file-size {size} or more to write it",
        )


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


# Sections of a semantic document whose values count equal items (a Dockerfile stage's
# instructions are a multiset: {"USER app": 1}); elsewhere an int is a value (pids_limit: 1024).
COUNTED_SECTIONS = ("stages", "global")


class Change(NamedTuple):
    """One semantic change: `kind` is added, removed or changed. (A named tuple: cheaper to
    define than a dataclass, and every run imports this module.)"""

    kind: str
    path: Claim
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        where = ".".join(str(p) for p in self.path[:-1]) if self.path else ""
        leaf = self.path[-1] if self.path else ""
        counted = bool(self.path) and self.path[0] in COUNTED_SECTIONS
        if counted and self.kind == "changed" and _is_count(self.old) and _is_count(self.new) and isinstance(leaf, str):
            return f"{'+' if self.new > self.old else '-'} {where}: {leaf}"  # one more (or fewer) of an item
        if self.kind == "changed":
            return f"{sign} {where}.{leaf}: {_short(self.old)} -> {_short(self.new)}" if where else f"{sign} {leaf}"
        value = self.new if self.kind == "added" else self.old
        if isinstance(leaf, int) or (counted and _is_count(value)):
            shown = _short(value) if isinstance(leaf, int) else str(leaf)
            return f"{sign} {where}: {shown}"
        return f"{sign} {where}.{leaf}: {_short(value)}" if where else f"{sign} {leaf}: {_short(value)}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


def semantic_changes(before: Any, after: Any) -> list[Change]:
    """Every difference between two parsed documents, as key paths (deepdiff's tree view).

    Mappings are walked while they are mappings on both sides and equal subtrees are skipped
    with `==`, so deepdiff only compares the parts that differ (most of a file does not).
    """
    changes: list[Change] = []
    _walk(before, after, (), changes)
    changes.sort(key=lambda c: (tuple(str(p) for p in c.path), c.kind))
    return changes


def _walk(before: Any, after: Any, prefix: Claim, changes: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in (*before, *(k for k in after if k not in before)):
            if key not in after:
                changes.append(Change("removed", (*prefix, key), before[key], None))
            elif key not in before:
                changes.append(Change("added", (*prefix, key), None, after[key]))
            else:
                _walk(before[key], after[key], (*prefix, key), changes)
        return
    changes.extend(_deepdiff(before, after, prefix))


_KINDS = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "attribute_added": "added",
    "set_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "attribute_removed": "removed",
    "set_item_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
    "repetition_change": "changed",
}


def _deepdiff(before: Any, after: Any, prefix: Claim) -> list[Change]:
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: never report a whole mapping as replaced because many of its
    # keys changed; claims are matched against the deepest paths.
    report = DeepDiff(before, after, view="tree", ignore_order=False, verbose_level=2, threshold_to_diff_deeper=0)
    changes = []
    for report_type, levels in report.items():
        kind = _KINDS.get(report_type, "changed")
        for level in levels:
            path = (*prefix, *level.path(output_format="list"))
            old = None if kind == "added" else level.t1
            new = None if kind == "removed" else level.t2
            changes.append(Change(kind, path, old, new))
    return changes
