"""The changes a review offers: the fixes a run applies, grouped by what they require.

A review runs the pipeline once with the command line's own selector (harden.engine.select:
the default tier is what `harden fix` applies, `--unsafe-fixes` adds unsafe ones, `--safe-only`
keeps safe ones; a `display` fix is never applied, so never offered) into a Preview sink, and
offers every fix the run applied, in every round (FileResult.applied). A fix held back because
a fix it requires is not chosen (convergence.choose) is not applied, so not offered either.

Fixes that require each other (Fix.requires: a cap-drop-all that counts on the `user:` that
compose-non-root adds; build-secrets halves in a Dockerfile and a Compose file; env-secrets
fixes sharing one top-level `secrets:`) are one change: the connected parts of the `requires`
relation among the offered fixes. A change is offered once and decided once, so a review can
never approve a fix without the fix it counts on, and declining one declines the others (the
summary says so).

What a change does is shown as the diff of applying its fixes alone to the files as read. A fix
applied in the first round was built on the file as read and its edits apply to it directly. A
fix applied in a later round (it waited for an overlapping fix) was built on a later text: its
diff comes from the pipeline run again with a ByIds selector of the change's fixes (once, when
the change is first shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harden.engine import Run
from harden.model import FileResult, Finding, NewFile, apply_edits


@dataclass
class Member:
    """One fix of a change: the file's result (as the review's run left it) and its finding."""

    result: FileResult
    finding: Finding
    first_round: bool  # built on the file as read (its edits apply to result.original)


@dataclass
class Change:
    """What one answer decides: fixes that require each other (often just one)."""

    members: list[Member]
    views: list[FileResult] | None = field(default=None, repr=False)  # the diff of each file, once computed

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(m.finding.id for m in self.members)

    @property
    def path(self) -> str:
        """The file the change belongs to for `a` and `d` (its first fix's file)."""
        return self.members[0].result.path

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(m.result.path for m in self.members))

    def label(self) -> str:
        """`rule (subject) [applicability]` of each fix, for headers and the summary."""
        return " + ".join(_label(m.finding) for m in self.members)

    def requirements(self) -> list[str]:
        """`a requires b` for each requirement inside the change (why its fixes go together)."""
        names = {m.finding.id: _label(m.finding) for m in self.members}
        fix_of = [(m.finding, m.finding.fix) for m in self.members]
        return [f"{names[f.id]} requires {names[r]}" for f, fix in fix_of if fix for r in fix.requires if r in names]


def _label(finding: Finding) -> str:
    subject = f" ({finding.subject})" if finding.subject else ""
    return f"{finding.rule.id}{subject} [{finding.applicability}]"


def offer(run: Run) -> list[Change]:
    """The changes of a run, in input order, each file's from its top (the first line of a fix)."""
    members = [
        Member(result, finding, any(finding is first for first in result.findings))
        for result in run.results
        if not result.errors
        for finding in sorted(result.applied, key=lambda f: (f.line, f.column))
    ]
    index = {m.finding.id: number for number, m in enumerate(members)}
    parent = list(range(len(members)))

    def root(number: int) -> int:
        while parent[number] != number:
            parent[number] = parent[parent[number]]
            number = parent[number]
        return number

    for number, member in enumerate(members):
        for required in member.finding.fix.requires if member.finding.fix else ():
            if required in index:
                parent[root(index[required])] = root(number)
    groups: dict[int, list[Member]] = {}
    for number, member in enumerate(members):
        groups.setdefault(root(number), []).append(member)
    changes = [Change(group) for group in groups.values()]
    order = {m.finding.id: number for number, m in enumerate(members)}
    return sorted(changes, key=lambda c: min(order[m.finding.id] for m in c.members))


def views(change: Change, rerun: Callable[[frozenset[str]], list[FileResult]]) -> list[FileResult]:
    """Each file the change touches, with its output as the change's fixes alone make it (for the
    reviewed diff: harden.output.diff). `rerun(ids)` runs the pipeline with only those fixes."""
    if change.views is not None:
        return change.views
    if all(m.first_round for m in change.members):
        change.views = [_first_round(change, path) for path in change.paths]
    else:
        wanted = set(change.paths)
        found = {r.path: r for r in rerun(change.ids) if r.path in wanted}
        change.views = [_view(found[path], change) for path in change.paths if path in found]
    return change.views


def _first_round(change: Change, path: str) -> FileResult:
    members = [m for m in change.members if m.result.path == path]
    result = members[0].result
    newline = "\r\n" if "\r\n" in result.original else "\n"
    fixes = [m.finding.fix for m in members if m.finding.fix]
    output = apply_edits(result.original, [e for fix in fixes for e in fix.edits()], newline)
    directory = PurePosixPath(path).parent
    created: dict[str, NewFile] = {str(directory / new.path): new for fix in fixes for new in fix.patch().new_files}
    view = FileResult(path, result.kind, result.original, output, result.bom, new_files=created)
    return _view(view, change)


def _view(result: FileResult, change: Change) -> FileResult:
    """A result that reads as the change alone: its fixes of this file are the applied ones (the
    commentary lists them), with the text and new files it was given."""
    mine = [m.finding for m in change.members if m.result.path == result.path]
    return FileResult(
        result.path,
        result.kind,
        result.original,
        result.output,
        result.bom,
        findings=mine,
        applied=mine,
        new_files=dict(result.new_files),
        modified=result.output != result.original,
    )
