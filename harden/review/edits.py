"""A reviewer's edit of a change, checked by the engine's guard, and written with the other fixes.

`e` opens the change's hunks (harden.review.hunks) in the reviewer's editor. The edited file
(the file as read with the edited hunks) must pass what every output of harden passes
(harden.engine.guard): it parses, it validates (the Compose Specification schema; a Dockerfile's
cross-check), and every semantic change lies under a claim of the change's fixes: an edit may
change what the fixes change (cap_drop and cap_add of that service, for cap-drop-all), nothing
else. An edit of a change that creates files, or that moves a credential, is not offered: the
created files and the secrets it handles are harden's, not the edited hunk's.

How an edit is stored (`Edited`, in saved decisions): the file's display path, the ids of the
change's fixes, the SHA-256 of the file's bytes as read (`base`) and with the edit (`result`),
and the edited hunks as a unified diff (`patch`). It is replayed only on the same bytes: on a
file whose SHA-256 is not `base` it is refused (the file is not written), never applied to
something it was not made for.

Writing: the pipeline runs with a ByIds selector of the approved fixes, the edited changes'
fixes left out, into the sink `Reviewed`, which lays each edit over that file's output (`merge`:
the edit's changed lines and the fixes' changed lines, both against the file as read, must not
overlap; where both insert at one line the edit comes first), checks the result with the guard
(each semantic change under a claim of an applied fix or a change the edit makes) and then hands
it to the sink that writes (InPlace or Copy: atomic, validated as for `harden fix`). A file whose
edit cannot be laid over the approved fixes is that file's error and is not written.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harden.discover import Source
from harden.engine import guard
from harden.engine.convergence import encode
from harden.engine.load import document_module
from harden.engine.sinks import Sink
from harden.model import Claim, Diagnostic, DiagnosticKind, DocumentError, Edit, FileResult, apply_edits
from harden.output.diff import split_lines
from harden.review import hunks


class EditRefused(Exception):
    """An edit that is not written; the message says why (after `path: `)."""


@dataclass(frozen=True)
class Edited:
    """A reviewer's edit of one change in one file (see the module docstring)."""

    path: str
    ids: tuple[str, ...]
    base: str  # sha256 of the file's bytes as read, hex
    result: str  # sha256 of the file's bytes with the edit, hex
    patch: str


def digest(result: FileResult, text: str) -> str:
    return hashlib.sha256(encode(result, text)).hexdigest()


def edited_text(result: FileResult, patch: str) -> str:
    """The file as read with the edited hunks; EditRefused when they do not apply."""
    lines = hunks.Lines.of(result.original)
    try:
        return lines.text(hunks.apply(lines.lines, patch))
    except hunks.HunkError as error:
        raise EditRefused(str(error)) from None


def check(result: FileResult, text: str, claims: Iterable[Claim], also: Sequence[str] = ()) -> list[Claim]:
    """Refuse `text` as the engine's guard refuses an output (EditRefused): it must parse,
    validate and change only what `claims` cover. Returns the semantic paths it changes."""
    module = document_module(result.kind)
    try:
        before = module.parse(result.path, result.original)
        after = module.parse(result.path, text)
    except DocumentError as error:
        raise EditRefused(f"line {error.line}: the result does not parse ({error.message})") from None
    problems = module.validate_output(before, after)
    if problems:
        raise EditRefused(f"the result fails validation: {problems[0]}")
    covered = list(claims)
    changes = guard.semantic_changes(before.semantic(), after.semantic())
    for change in changes:
        if not any(tuple(change.path[: len(claim)]) == tuple(claim) for claim in covered):
            whose = f"what {', '.join(also)} claims" if also else "the change"
            raise EditRefused(f"it changes {change.describe()}, which is not {whose}: harden's guard refuses that of any fix")
    return [tuple(change.path) for change in changes]


def make(result: FileResult, ids: Iterable[str], patch: str, claims: Iterable[Claim], rules: Sequence[str]) -> Edited:
    """An edit of a change whose fixes are `ids` (of rules `rules`), checked; EditRefused."""
    text = edited_text(result, patch)
    if text == result.original:
        raise EditRefused("the edited change changes nothing (answer n to skip it)")
    check(result, text, claims, rules)
    before = hunks.Lines.of(result.original).lines
    return Edited(
        result.path,
        tuple(sorted(ids)),
        digest(result, result.original),
        digest(result, text),
        hunks.make(before, hunks.Lines.of(text).lines),
    )


def _line_edits(original: str, text: str) -> list[Edit]:
    """The lines `text` changes in `original`, as edits of `original` (whole lines, with endings)."""
    before, after = split_lines(original), split_lines(text)
    starts = [0]
    for line in before:
        starts.append(starts[-1] + len(line))
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append(Edit(starts[i1], starts[i2], "".join(after[j1:j2])))
    return edits


def merge(result: FileResult, edit: Edited) -> str:
    """The file with the edit laid over the output of the other approved fixes (see the module
    docstring); EditRefused when the file is not the one the edit was made on, or they overlap."""
    if digest(result, result.original) != edit.base:
        raise EditRefused("the file is not what it was when its change was edited (its SHA-256 differs): review it again")
    text = edited_text(result, edit.patch)
    if digest(result, text) != edit.result:
        raise EditRefused("the edited change does not give the text it gave in the review")
    mine = _line_edits(result.original, text)
    theirs = _line_edits(result.original, result.output)
    for a in mine:
        for b in theirs:
            if a.overlaps(b):
                raise EditRefused("the edited change overlaps another approved change of this file")
    # edit texts here carry their own line endings: newline "\n" leaves them as they are
    return apply_edits(result.original, [*mine, *theirs])


class Reviewed:
    """The sink of a reviewed run: lays each file's edits over its output (`merge`), checks the
    result as the guard checks any output, records which fixes the run applied (`applied`), and
    hands the result to the writing sink `inner`."""

    applies = True
    parallel = False  # it records what was applied: every result comes to this process

    def __init__(self, inner: Sink, edits: Sequence[Edited]) -> None:
        self.inner = inner
        self.edits = {edit.path: edit for edit in edits}
        self.keeps_texts = bool(edits) or inner.keeps_texts  # an edit needs the input as read
        self.keeps_findings = True
        self.applied: set[str] = set()

    def take(self, source: Source, result: FileResult) -> None:
        self.applied.update(f.id for f in result.applied)
        edit = self.edits.get(result.path)
        if edit is not None and not result.errors:
            try:
                self._lay(result, edit)
            except EditRefused as refused:
                message = f"{refused}; nothing written"
                result.errors.append(Diagnostic(DiagnosticKind.REFUSED, result.path, 0, 0, message))
        self.inner.take(source, result)

    def _lay(self, result: FileResult, edit: Edited) -> None:
        text = merge(result, edit)
        claims = [claim for f in result.applied if f.fix is not None for claim in f.fix.all_claims()]
        changed = check(result, edited_text(result, edit.patch), claims=[()])  # the paths the edit changes
        check(result, text, [*claims, *changed], ["the approved fixes and the edit"])
        result.output = text
        result.modified = text != result.original
        result.applied_rules.append("edited")
        self.applied.update(edit.ids)
