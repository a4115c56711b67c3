"""`extends`: a service that extends another adds only what the rule does not give the other.

Compose appends a base service's lists to those of the service that extends it, and a
security_opt item written in both is an error; a scalar written in both is written twice. So
each service that extends another keeps only the items (and values) its bases do not get from
the same rule in the same run. What the rule's fixes add to each base the engine answers
(Context.additions: it runs the rule on the base's file, with no such reduction inside). A list
the service does not write itself is then added as its own key, which Compose appends to the
inherited one.

A service whose base is in a file harden does not read gets nothing: what it inherits may
already hold what harden would add (a repeated security_opt item, which Compose refuses), or a
value harden would override (`user`, `read_only`), or `deploy.resources.limits`, which Compose
refuses beside `pids_limit`.
"""

from __future__ import annotations

from typing import Any

from harden.compose import ComposeDocument, Service
from harden.model import Rule
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
    if context.additions is None or not wants:
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
    on a base's file to find out (Context.additions is None then)."""
    added: dict[str, list[Any]] = {}
    if context.additions is None:
        return added
    for layer in bases(service):
        for key, value in context.additions(rule.id, layer.document).get(layer.service.name, {}).items():
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
