"""`extends`: a service that extends another adds only what the rule does not give the other.

Compose appends a base service's lists to those of the service that extends it, and a
security_opt item written in both is an error; a scalar written in both is written twice. So
each service that extends another keeps only the items (and values) its bases do not get from
the same rule in the same run. What the rule's fixes add to each base is found by running the
rule on the base's file first (`_additions`, with no such reduction inside). A list the service
does not write itself is then added as its own key, which Compose appends to the inherited one.

A service whose base is in a file harden does not read gets nothing: what it inherits may
already hold what harden would add (a repeated security_opt item, which Compose refuses), or a
value harden would override (`user`, `read_only`), or `deploy.resources.limits`, which Compose
refuses beside `pids_limit`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harden.compose import ComposeDocument, Service, parse
from harden.config import MAX_ROUNDS
from harden.model import DocumentError, Edit, Finding, Rule, Unfixable, apply_edits
from harden.passes import Context
from harden.passes.compose.layers import bases, services, unseen
from harden.passes.compose.wants import Want


def without_inherited(
    rule: Rule, document: ComposeDocument, wants: dict[str, list[Want]], context: Context
) -> tuple[dict[str, list[Want]], dict[str, str], dict[str, str]]:
    """(the wants less what each service inherits through `extends` from this rule's fix of the
    services it extends, a note per service, why nothing is placed for a service)."""
    views = {s.name: s for s in services(document, context)} if wants else {}
    blocked = {name: unseen(views[name]) for name in wants if name in views and unseen(views[name])}
    wants = {name: found for name, found in wants.items() if name not in blocked}
    if _SIMULATING or not wants:
        return wants, {}, blocked
    reduced: dict[str, list[Want]] = {}
    notes: dict[str, str] = {}
    for name, service_wants in wants.items():
        service = views.get(name)
        inherited = bases(service) if service is not None else []
        if service is None or not inherited:
            reduced[name] = service_wants
            continue
        kept, taken = _reduced(service_wants, inherited_additions(rule, service, context), service)
        if kept:
            reduced[name] = kept
        if taken:
            names = ", ".join(dict.fromkeys(layer.service.name for layer in inherited))
            notes[name] = f"{name} extends {names} and inherits {'; '.join(taken)} from harden's change there"
    notes.update(_heirs(document, views, reduced))
    return reduced, notes, blocked


def _reduced(wants: list[Want], added: dict[str, list[Any]], service: Service) -> tuple[list[Want], list[str]]:
    """(the wants less what the bases get, what was taken off: a key, or a key and its items)."""
    kept: list[Want] = []
    taken: list[str] = []
    for want in wants:
        less = _less(want, added.get(want.key, []), service)
        kept.extend([less] if less is not None else [])
        if less is None:
            taken.append(want.key)
        elif isinstance(want.value, list) and isinstance(less.value, list) and less.value != want.value:
            gone = [str(item) for item in want.value if item not in less.value]
            taken.append(f"{want.key} {', '.join(gone)}")
    return kept, taken


def _heirs(document: ComposeDocument, views: dict[str, Service], reduced: dict[str, list[Want]]) -> dict[str, str]:
    """A note for each service of this file that others extend: they inherit what it gets."""
    heirs: dict[str, list[str]] = {}
    for name, view in views.items():
        for layer in bases(view):
            if layer.document is document:
                heirs.setdefault(layer.service.name, []).append(name)
    notes: dict[str, str] = {}
    for name, found in heirs.items():
        if name in reduced:
            verb = "extends" if len(found) == 1 else "extend"
            notes[name] = f"{', '.join(found)} {verb} {name} and inherit{'s' if len(found) == 1 else ''} this"
    return notes


def inherited_additions(rule: Rule, service: Service, context: Context) -> dict[str, list[Any]]:
    """What the rule's fixes add, in this run, to the services this one extends: {key: what
    each base gets (the items added to a list, or the new value)}; nothing while the rule runs
    on a base's file to find out (`_additions`)."""
    added: dict[str, list[Any]] = {}
    for layer in bases(service) if not _SIMULATING else []:
        for key, value in _additions(rule, layer.document, context).get(layer.service.name, {}).items():
            added.setdefault(key, []).append(value)
    return added


def _less(want: Want, added: list[Any], service: Service) -> Want | None:
    """The want without what the bases get (None: nothing left); a list the service does not
    write itself becomes a key of its own."""
    value = want.value
    for addition in added:
        if isinstance(value, list) and isinstance(addition, list):
            value = [item for item in value if item not in addition]
        elif addition == value:
            return None
    if isinstance(value, list) and not value:
        return None
    extend = want.extend and want.key in service.node
    comments = want.comments
    if comments and isinstance(value, list):
        comments = {k: v for k, v in comments.items() if k in value}
    return Want(want.key, value, extend, comments)


# Nonzero while a rule runs on a base service's file to learn what it adds (`_additions`).
_SIMULATING = 0
# The last simulations: (rule id, the document, the context, what each service gets); the
# entries hold the document and context, so no id is reused while they are kept.
_ADDED: list[tuple[str, ComposeDocument, Context, dict[str, dict[str, Any]]]] = []


def _additions(rule: Rule, document: ComposeDocument, context: Context) -> dict[str, dict[str, Any]]:
    """What the rule's fixes add to each service of the document, as `harden fix` would apply
    them (the settings choose the fixes, rounds until none is left): {service: {key: the
    items added to a list, or the new value}}."""
    global _SIMULATING
    for rule_id, known, known_context, found in _ADDED:
        if rule_id == rule.id and known is document and known_context is context:
            return found
    from harden import passes

    module = passes.rule(rule.id)
    if module is None:
        return {}
    current = document
    _SIMULATING += 1
    try:
        for _ in range(MAX_ROUNDS):
            edits = _chosen_edits(module.check(current, context), current.path, context)
            if not edits:
                break
            current = parse(current.path, apply_edits(current.text, edits, current.newline))
    except DocumentError:
        current = document
    finally:
        _SIMULATING -= 1
    found = {name: _changed(service, current.services.get(name)) for name, service in document.services.items()}
    _ADDED[:] = [*_ADDED[-7:], (rule.id, document, context, found)]
    return found


def _chosen_edits(findings: list[Finding], path: str, context: Context) -> list[Edit]:
    """The edits of one round of the engine's fix loop, for one rule's findings: the fixes the
    run's selector chooses, in order, each unless it overlaps one before it (its requirements
    are not waited for: only this rule runs)."""
    taken: list[Edit] = []
    for finding in findings:
        if finding.fix is None or not context.chooses(dataclasses.replace(finding, path=path)):
            continue
        try:
            edits = finding.fix.edits()
        except Unfixable:
            continue
        if not any(a.overlaps(b) for a in edits for b in taken):
            taken.extend(edits)
    return taken


def _changed(before: Service, after: Service | None) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for key in after.keys() if after is not None else []:
        old, new = before.get(key), after.get(key)  # type: ignore[union-attr]
        if old != new:
            changed[key] = [item for item in new if item not in old] if isinstance(old, list) and isinstance(new, list) else new
    return changed
