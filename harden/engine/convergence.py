"""Analysing one file: run the passes, then choose, apply and re-parse until nothing is left.

Choosing fixes and applying them repeats until no pass proposes another (as ruff's fixer
does); a pass still proposing fixes after MAX_ROUNDS rounds is a bug, and the file is refused
naming it. Each round's output is parsed again, and the final output must pass the guard
(harden.engine.guard) before anything is written. A refusal or a bug leaves the file unchanged
with one error; the other files go on.

Fixes are lazy (harden.model.Fix): a fix is built here, when it is chosen, and only by a run
that applies fixes. When a file is done, every fix is released: the builders hold the parsed
document, which is freed with them.

A `display` fix is never applied; a run that applies fixes builds it on the file as it was read,
for the reviewed diff to show (harden.output.diff).

A fix may create files beside the one it fixes (harden.model.NewFile). A file another fix of
the same run already created with the same text is nothing new (so a fix that only creates a
file converges); with other text, or one that exists already, the file is refused (guard).

Credential values a finding names (Finding.secrets) are masked in the summary and the errors
of its file, whatever rule the text came from.

What one rule's fixes add to another Compose document (`Additions`, passes.Context.additions) is
found with the same choosing and applying, on that document alone: a service that extends
another asks what its base gets, and adds only the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from harden import passes, suppressions
from harden.config import MAX_ROUNDS, Settings
from harden.configuration import patterns
from harden.discover import display_path
from harden.engine import guard
from harden.engine.load import BOM, Document, Loaded, document_module, internal_error
from harden.model import (
    Applicability,
    Diagnostic,
    DiagnosticKind,
    DocumentError,
    Edit,
    FileResult,
    Finding,
    NewFile,
    Unfixable,
    apply_edits,
    mask,
)


def analyse(loaded: Loaded, settings: Settings, context: passes.Context, apply: bool) -> FileResult:
    """Run the passes on a loaded file and (if `apply`) fix, guard and size-check the output."""
    result, document = loaded.result, loaded.document
    if document is None:
        return result
    # A document that is not `fixable` (compose: it fails the Compose Specification schema, see
    # harden.compose) is reported, as `check` would report it, and never fixed.
    fixable = getattr(document, "fixable", True)
    try:
        module = document_module(result.kind)
        off = patterns.ignored_rules(settings, loaded.source.path)  # per-file-ignores of the configuration
        selected = bind([m for m in passes.passes_for(result.kind, settings) if m.RULE.id not in off], context)
        result.findings = result.remaining = run_passes(selected, document, result.path, settings.show_unused_ignores)
        if apply and fixable:
            directory = loaded.source.path.parent
            created = _fix(result, module, document, selected, context.chooses, directory, settings.show_unused_ignores)
            _build_displayed(result.findings)
            guard.check_size(result, len(encode(result, result.output)), settings.max_file_size)
            # standard input has no directory to look in (and its sink refuses new files)
            on_disk = loaded.source.snapshot is not None
            guard.check_new_files(created, directory if on_disk else None, settings.max_file_size)
            result.new_files = {display_path(directory / path): new for path, (new, _) in created.items()}
    except guard.Refused as refused:
        message = f"{refused.message}; nothing written"
        _unchanged(result, Diagnostic(DiagnosticKind.REFUSED, result.path, refused.line, 0, message))
    except Exception as error:  # noqa: BLE001 - one file's bug is that file's error
        _unchanged(result, internal_error(result.path, error, settings.debug))
    _masked(result)
    for finding in (*result.findings, *result.applied, *result.remaining):
        if finding.fix is not None:
            finding.fix.release()
    return result


def _build_displayed(findings: Iterable[Finding]) -> None:
    """Build the `display` fixes of the file as it was read, never applied (not even with
    --unsafe-fixes: `pick`), so that `harden diff` can show what each would change
    (harden.output.diff.proposals). One that cannot be built is shown without its change."""
    for finding in findings:
        if finding.fix is not None and finding.fix.applicability is Applicability.DISPLAY:
            try:
                finding.fix.patch()
            except Unfixable:
                continue


def _masked(result: FileResult) -> None:
    """Mask the credential values the findings name (Finding.secrets) in what the engine derived
    from the document: the semantic summary and the file's errors (a refusal quotes values)."""
    secrets = {s for f in (*result.findings, *result.applied, *result.remaining) for s in f.secrets}
    if secrets:
        result.summary = [mask(line, secrets) for line in result.summary]
        result.errors = [dataclasses.replace(e, message=mask(e.message, secrets)) for e in result.errors]


def encode(result: FileResult, text: str) -> bytes:
    """The bytes of a text of this file: UTF-8, with the byte order mark it was read with."""
    return ((BOM if result.bom else "") + text).encode("utf-8")


Bound = list[tuple[ModuleType, passes.Context]]  # each pass with the context it is given


def bind(modules: list[ModuleType], context: passes.Context) -> Bound:
    """Each pass with its context for one file: the file's, with the engine's answer to
    `additions` (kept while the file is analysed) and the pass's own options."""
    context = dataclasses.replace(context, additions=Additions(context))
    return [(module, context.for_pass(module)) for module in modules]


def run_passes(selected: Bound, document: Document, path: str, show_unused: bool = False) -> list[Finding]:
    """Every selected pass's findings, each given the file's path (part of its id), but those a
    comment silences (harden.suppressions); with `show_unused`, one more for each such comment
    that silences nothing."""
    findings: list[Finding] = []
    for module, context in selected:
        findings.extend(dataclasses.replace(finding, path=path) for finding in module.check(document, context))
    found = suppressions.directives(document, [module for module, _ in selected])
    if not found:
        return findings
    kept = [f for f in findings if not suppressions.silenced(found, f)]
    return kept + (suppressions.unused(found, findings, path) if show_unused else [])


def _unchanged(result: FileResult, error: Diagnostic) -> None:
    result.output = result.original
    result.modified = False
    result.applied = []
    result.applied_rules = []
    result.remaining = result.findings
    result.summary = []
    result.errors.append(error)


def _fix(
    result: FileResult,
    module: ModuleType,
    document: Document,
    selected: Bound,
    chooses: Callable[[Finding], bool],
    directory: Path,
    show_unused: bool = False,
) -> dict[str, tuple[NewFile, Finding]]:
    """Apply rounds of fixes to the document; the files they create (by path, with the finding
    whose fix creates each). A later round's passes see the attached files the earlier rounds
    changed (`_seeing`)."""
    findings = result.findings
    current = document
    trace = guard.Trace()
    applied: set[str] = set()
    created: dict[str, tuple[NewFile, Finding]] = {}
    for rounds in range(MAX_ROUNDS + 1):
        chosen, findings = choose(findings, chooses, applied, created)
        if rounds == 0:
            result.findings = findings  # a fix that could not be built is reported as its pass says
        if not chosen:
            break
        if rounds == MAX_ROUNDS:
            rules = ", ".join(sorted({f.rule.id for f in chosen}))
            raise guard.Refused(chosen[0].line, f"{rules} kept proposing fixes after {MAX_ROUNDS} rounds (a harden bug)")
        text = apply_edits(current.text, trace.add_round(chosen, current.newline), current.newline)
        current = guard.parse_again(module, result.path, text, trace)
        result.applied.extend(chosen)
        applied.update(f.id for f in chosen)
        _created(chosen, created)
        selected = _seeing(selected, created, directory)
        findings = run_passes(selected, current, result.path, show_unused)
    first = {f.id: f for f in result.findings}  # a finding left as it was is kept once
    result.remaining = [first[f.id] if first.get(f.id) == f else f for f in findings]
    result.applied_rules = [f.rule.id for f in result.applied]
    if not result.applied:
        return created
    changes = guard.check(module, document, current, result.applied, trace)
    result.output = current.text
    result.modified = result.output != result.original
    result.summary = [change.describe() for change in changes]
    return created


def _seeing(selected: Bound, created: Mapping[str, tuple[NewFile, Finding]], directory: Path) -> Bound:
    """The passes' contexts with each attached file (Context.attached: an env file) that a fix
    changed (NewFile.base) as the fix leaves it: the credential a fix moved out of an env file is
    no longer there for the next round to find."""
    changed = {display_path(directory / path): new.text for path, (new, _) in created.items() if new.base is not None}
    if not changed:
        return selected
    bound: Bound = []
    for module, context in selected:
        attached = {
            service: tuple(dataclasses.replace(f, text=changed[f.source]) if f.source in changed else f for f in files)
            for service, files in context.attached.items()
        }
        bound.append((module, dataclasses.replace(context, attached=attached)))
    return bound


def _created(chosen: list[Finding], created: dict[str, tuple[NewFile, Finding]]) -> None:
    """Record the files this round's fixes create; two different files at one path are refused."""
    for finding in chosen:
        for new in finding.fix.patch().new_files if finding.fix else ():
            known = created.setdefault(new.path, (new, finding))
            if known[0] != new:
                rules = ", ".join(dict.fromkeys((known[1].rule.id, finding.rule.id)))
                raise guard.Refused(finding.line, f"the fixes of {rules} create {new.path} with different contents")


def choose(
    findings: Iterable[Finding],
    chooses: Callable[[Finding], bool],
    applied: set[str],
    created: Mapping[str, tuple[NewFile, Finding]] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(the fixes to apply this round, the findings as reported).

    A fix is applied when the selector chooses it, it is not `display`, it does not overlap an
    earlier one of the round (it is applied in a later round, on the new text), and every finding
    it requires is applied too (in this round or before). Its edits are built here: one that
    cannot be built is not applied, and its finding is reported as its pass says instead.
    """
    chosen, reported = pick(findings, chooses, created)
    return _with_requirements(chosen, applied), reported


def pick(
    findings: Iterable[Finding], chooses: Callable[[Finding], bool], created: Mapping[str, tuple[NewFile, Finding]] | None = None
) -> tuple[list[Finding], list[Finding]]:
    """`choose` without waiting for requirements."""
    chosen: list[Finding] = []
    reported: list[Finding] = []
    taken: list[Edit] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or fix.applicability is Applicability.DISPLAY or not chooses(finding):
            reported.append(finding)
            continue
        try:
            patch = fix.patch()
        except Unfixable as unfixable:
            reported.extend(dataclasses.replace(f, path=finding.path) for f in unfixable.findings)
            continue
        reported.append(finding)
        edits = patch.edits
        new = [n for n in patch.new_files if created is None or n.path not in created or created[n.path][0] != n]
        if (not edits and not new) or any(_collide(a, b) for a in edits for b in taken):
            continue
        chosen.append(finding)
        taken.extend(edits)
    return chosen, reported


def _collide(edit: Edit, other: Edit) -> bool:
    """Whether two edits of different fixes cannot be applied in one sweep: they overlap, or both
    insert at one offset and one of them inserts a top-level key (`networks:`, `secrets:` at the
    end of a file, where another fix adds a key to the last service: applied in either order, the
    service's key could land under the new top-level key; the later fix waits a round and is
    built again on the new text)."""
    if edit.overlaps(other):
        return True
    same_place = edit.start == edit.end == other.start == other.end
    return same_place and (_top_level(edit.text) or _top_level(other.text))


def _top_level(text: str) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    return bool(first) and not first[0].isspace()


def _with_requirements(chosen: list[Finding], applied: set[str]) -> list[Finding]:
    """The chosen fixes less those waiting for a fix that is neither applied nor chosen."""
    while True:
        ready = applied | {f.id for f in chosen}
        kept = [f for f in chosen if f.fix is not None and all(r in ready for r in f.fix.requires)]
        if len(kept) == len(chosen):
            return kept
        chosen = kept


class Additions:
    """passes.Context.additions for one file's analysis: what the fixes of a rule add to each
    service of a Compose document, {service: {key: the items added to a list, or the new value}},
    as this run would apply them. Each answer is kept while the file is analysed (with the
    document it is about, so that no id is reused)."""

    def __init__(self, context: passes.Context) -> None:
        self.context = dataclasses.replace(context, additions=None)  # the rule runs with no inheritance
        self.known: dict[tuple[str, int], tuple[Any, dict[str, dict[str, Any]]]] = {}

    def __call__(self, rule_id: str, document: Any) -> dict[str, dict[str, Any]]:
        key = (rule_id, id(document))
        if key not in self.known:
            module = passes.rule(rule_id)
            found = {} if module is None else additions(module, document, self.context.for_pass(module))
            self.known[key] = (document, found)
        return self.known[key][1]


def additions(module: ModuleType, document: Any, context: passes.Context) -> dict[str, dict[str, Any]]:
    """What one pass's fixes add to each service of a Compose document: rounds of that pass
    alone, its fixes chosen by the run's selector as `choose` does, without waiting for fixes of
    other rules they require (those run in the same run, on the file they belong to). A round
    whose output does not parse stops it: then nothing is added."""
    parse = document_module(document.kind).parse
    current = document
    try:
        for _ in range(MAX_ROUNDS):
            chosen, _ = pick(run_passes([(module, context)], current, current.path), context.chooses)
            edits = [edit for finding in chosen if finding.fix is not None for edit in finding.fix.edits()]
            if not edits:
                break
            current = parse(current.path, apply_edits(current.text, edits, current.newline))
    except DocumentError:
        current = document
    return {name: _changed(service, current.services.get(name)) for name, service in document.services.items()}


def _changed(before: Any, after: Any) -> dict[str, Any]:
    """What a service has after that it did not have before: new values, and the items added
    to a list it had."""
    changed: dict[str, Any] = {}
    for key in after.keys() if after is not None else []:
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = [item for item in new if item not in old] if isinstance(old, list) and isinstance(new, list) else new
    return changed
