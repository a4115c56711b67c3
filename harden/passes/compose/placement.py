"""Where a Compose pass's edits land (issue 4, item 2), and the findings that carry them.

A pass says what it wants on each service (`Want`: add a key, or extend the list the user set);
`plan` places the wants. When services get their settings from a merge key (`<<: *defaults`)
and every service that merges that anchor needs the same value, the key goes into the anchored
mapping once; otherwise on each service. A list the user set (on the service or in an anchor) is
extended, never replaced; one that several services share through an anchor is extended only
when all of them need the same items. A mapping also used as a plain alias (`logging: *log`)
is never edited through a merge: that place would change too.

`route` keeps the wants this file writes (override files, harden.passes.compose.layers);
`plan_findings` turns a plan into review findings whose fixes render their edits only when
applied. A service that extends another first loses what the other gets from the same rule in
the same run (harden.passes.compose.inherit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from harden.compose import ComposeDocument, Service
from harden.model import Applicability, Caveat, Claim, Edit, Evidence, Finding, Fix, Rule, Severity, Unfixable, tier
from harden.passes import Context
from harden.passes.compose.anchors import aliased, members, owning_anchor, reached_paths
from harden.passes.compose.inherit import without_inherited
from harden.passes.compose.layers import ProjectService, file_label, here
from harden.passes.compose.wants import Want


@dataclass
class Unit:
    """Edits that become one finding: one service, or the services that merge one anchor."""

    services: list[Service]
    anchor: str | None
    line: int
    column: int
    edits: list[Edit] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    anchored: list[str] = field(default_factory=list)  # keys written into an anchored mapping
    placed: bool = False  # something is written for it (an edit, rendered or not yet)

    @property
    def subject(self) -> str:
        return ", ".join(s.name for s in self.services)


class _Unplaceable(Exception):
    pass


def plan(document: ComposeDocument, wants: dict[str, list[Want]], build: bool = True) -> tuple[list[Unit], dict[str, str]]:
    """Place every service's wants: (units of edits, {service: why nothing was placed}).

    `build` False (plan_findings, before a fix is applied): where things go and what they claim
    is decided, but no edit text is rendered, which is most of the cost."""
    wants = {name: list(w) for name, w in wants.items() if w}
    blocked = _unservable(document, wants)
    done: set[tuple[str, str]] = set()  # (anchor, key) already edited
    placed: set[str] = set()
    units = _anchor_units(document, wants, done, placed, build)
    for name, service_wants in wants.items():
        if name in placed:
            continue
        service = document.services[name]
        unit = Unit([service], None, service.line, service.column)
        try:
            for want in _ordered(service_wants):
                _place_on_service(document, service, want, unit, done, build)
        except _Unplaceable as problem:
            blocked[name] = str(problem)
            continue
        units.append(unit)
    units.sort(key=lambda u: (u.line, u.column))
    return [u for u in units if u.placed], blocked


def _unservable(document: ComposeDocument, wants: dict[str, list[Want]]) -> dict[str, str]:
    """Drop (from `wants`) the services that cannot be served, and say why. An `extend` of a
    list merged from an anchor edits the anchored mapping: every service that gets the list
    from there must want the same items."""
    blocked: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name in list(wants):
            reason = _extend_problem(document, document.services[name], wants)
            if reason:
                blocked[name] = reason
                del wants[name]
                changed = True
    return blocked


def _anchor_units(
    document: ComposeDocument, wants: dict[str, list[Want]], done: set[tuple[str, str]], placed: set[str], build: bool
) -> list[Unit]:
    """The units of anchors whose services all want something, each service's other wants with
    them; anchors that services merge directly first: the key lands next to what they use."""
    units: list[Unit] = []
    for anchor, info in sorted(document.anchors().items(), key=lambda item: not item[1].merged_by):
        group = members(document, anchor)
        if not group or any(s.name in placed or s.name not in wants for s in group):
            continue
        keys = _anchor_keys(document, anchor, group, wants)
        if not keys or aliased(document, info.node):
            continue
        unit = Unit(group, anchor, info.line, 1)
        try:
            _place_in_anchor(document, unit, keys, wants, done, build)
        except _Unplaceable:
            continue
        placed.update(s.name for s in group)
        units.append(unit)
    return units


def _place_in_anchor(
    document: ComposeDocument, unit: Unit, keys: list[str], wants: dict[str, list[Want]], done: set[tuple[str, str]], build: bool
) -> None:
    anchor, group = unit.anchor, unit.services
    assert anchor is not None
    for want in _ordered([w for w in wants[group[0].name] if w.key in keys]):
        key = want.key
        unit.edits.extend(_edit(document, anchor, want, build))
        unit.placed = True
        unit.anchored.append(key)
        unit.claims.extend((*path, key) for path in reached_paths(document, anchor))
        unit.claims.extend(("services", s.name, key) for s in group)
        done.add((anchor, key))
    for service in group:
        for want in _ordered(wants[service.name]):
            if want.key not in keys:
                _place_on_service(document, service, want, unit, done, build)


def _ordered(wants: list[Want]) -> list[Want]:
    """Extensions first: an extended list that ends its mapping and a key added to that mapping
    insert at the same offset, and the items must come before the new key."""
    return sorted(wants, key=lambda w: not w.extend)


def _extend_problem(document: ComposeDocument, service: Service, wants: dict[str, list[Want]]) -> str:
    for want in wants[service.name]:
        if not want.extend:
            if service.own(want.key):  # written, but with no value: `key:` or `key: !reset`
                return f"{want.key} is written here without a value (empty or !reset): harden leaves it"
            continue
        if service.own(want.key):
            continue
        anchor = owning_anchor(document, service, want.key)
        if anchor is None:
            return f"{want.key} is not a list harden can extend here"
        sharing = [s for s in members(document, anchor) if owning_anchor(document, s, want.key) == anchor]
        if not all(_wants_same(wants.get(s.name, []), want) for s in sharing):
            others = ", ".join(s.name for s in sharing if s.name != service.name)
            return (
                f"{want.key} comes from anchor &{anchor}, shared with {others}, which need other values; harden "
                "does not override a shared list for one service"
            )
    return ""


def _wants_same(service_wants: Sequence[Want], want: Want) -> bool:
    return any(w.same(want) for w in service_wants)


def _anchor_keys(document: ComposeDocument, anchor: str, group: list[Service], wants: dict[str, list[Want]]) -> list[str]:
    """Keys every service of the group wants with the same value: absent from all of them, or a
    list all of them get from this anchored mapping."""
    keys = []
    for want in wants[group[0].name]:
        if not all(_wants_same(wants[s.name], want) for s in group):
            continue
        if want.extend:
            if all(owning_anchor(document, s, want.key) == anchor for s in group):
                keys.append(want.key)
        elif all(not s.own(want.key) and s.merged_from(want.key) is None for s in group):
            keys.append(want.key)
    return keys


def _place_on_service(
    document: ComposeDocument, service: Service, want: Want, unit: Unit, done: set[tuple[str, str]], build: bool
) -> None:
    if want.extend and not service.own(want.key):
        anchor = owning_anchor(document, service, want.key)
        if anchor is None:
            raise _Unplaceable(f"{want.key} is not a list harden can extend here")
        if (anchor, want.key) not in done:
            unit.edits.extend(_edit(document, anchor, want, build))
            unit.placed = True
            done.add((anchor, want.key))
        unit.claims.extend((*path, want.key) for path in reached_paths(document, anchor))
        unit.claims.extend(("services", s.name, want.key) for s in members(document, anchor))
        return
    unit.edits.extend(_edit(document, service, want, build))
    unit.placed = True
    unit.claims.append(("services", service.name, want.key))


def _edit(document: ComposeDocument, owner: Service | str, want: Want, build: bool = True) -> list[Edit]:
    if not build:
        shared = document.shared(owner, want.key)  # what building the edit would raise (`check` says it too)
        if shared:
            raise _Unplaceable(f"{want.key}: {shared}")
        return []
    try:
        if want.extend:
            items = want.value if isinstance(want.value, list) else [want.value]
            return document.extend_sequence(owner, want.key, list(items), comments=want.comments)
        return document.add_key(owner, want.key, want.value, comments=want.comments)
    except (ValueError, KeyError, TypeError) as error:
        raise _Unplaceable(f"{want.key}: {error}") from None


def in_anchor(unit: Unit, key: str | None = None) -> str:
    """` in anchor &x, shared by a, b` when the unit's edit (of `key`) goes into an anchor."""
    anchored = key in unit.anchored if key else bool(unit.anchored)
    return f" in anchor &{unit.anchor}, shared by {unit.subject}" if anchored else ""


def per_service(texts: dict[str, str], names: Sequence[str]) -> tuple[Caveat, ...]:
    """What might break for each service (renderers join services with the same text)."""
    return tuple(Caveat(name, texts[name]) for name in names)


def route(service: Service, wants: list[Want]) -> tuple[list[Want], str]:
    """(the wants this file writes, a note naming where the others are written)."""
    if not isinstance(service, ProjectService):
        return wants, ""
    mine = [w for w in wants if here(service, w.key)]
    others = [w for w in wants if not here(service, w.key)]
    where: dict[str, list[str]] = {}
    for want in others:
        owner = service.project.owner(service.name, want.key)
        setter = service.project.setter(service.name, want.key)
        if owner is not None:
            label = file_label(owner, service.project.current)
        else:
            label = f"service {setter.service.name}" if setter is not None else "another file"
        where.setdefault(label, []).append(want.key)
    note = "; ".join(f"harden writes {', '.join(keys)} in {path}" for path, keys in where.items())
    return mine, note


Describe = Callable[[Unit, list[str]], tuple[str, tuple[Caveat, ...]]]


def unit_evidence(names: list[str], evidence: Mapping[str, tuple[Evidence, ...]]) -> tuple[Evidence, ...]:
    """The evidence of a unit's services, each piece once, in the order of the services."""
    return tuple(dict.fromkeys(e for name in names for e in evidence.get(name, ())))


def tier_of(names: list[str], evidence: Mapping[str, tuple[Evidence, ...]]) -> Applicability:
    """`review` when each service has evidence, else `unsafe` (model.tier)."""
    return min((tier(evidence.get(name, ())) for name in names), key=_TIERS.index, default=Applicability.UNSAFE)


_TIERS = (Applicability.UNSAFE, Applicability.REVIEW)


def plan_findings(
    rule: Rule,
    rationale: str,
    document: ComposeDocument,
    wants: dict[str, list[Want]],
    context: Context,
    describe: Describe,
    blocked: str,
    requires: Callable[[list[str]], tuple[str, ...]] | None = None,
    evidence: Mapping[str, tuple[Evidence, ...]] | None = None,
) -> list[Finding]:
    """Place the wants (`plan`) and turn each unit into a review finding with its fix, and each
    service nothing could be placed for into a finding that says `blocked: <why>`.

    `describe(unit, names)` gives the unit's message and what might break; `names` are the
    services of the unit that want something; `requires(names)` the ids of other findings whose
    fixes the unit's fix counts on; `evidence[name]` why each service still works after it: the
    unit's fix is `review` when every one of its services has evidence, else `unsafe`. A service
    that extends another first loses what the other gets from the same rule
    (`without_inherited`), and its messages say so.

    Placing decides where edits go and what they claim without rendering them; each fix renders
    its edits only when applied, by placing again with rendering (once for all the units). A
    unit whose edits then cannot be rendered is Unfixable: what that placement says instead.
    """
    wants, notes, unseen_bases = without_inherited(rule, document, wants, context)
    units, unplaced = plan(document, wants, build=False)
    unplaced.update(unseen_bases)
    rendered: list[tuple[list[Unit], dict[str, str]]] = []

    def findings_of(units: list[Unit], unplaced: dict[str, str], built: bool) -> list[Finding]:
        findings = []
        for unit in units:
            names = [s.name for s in unit.services if s.name in wants]
            message, caveats = describe(unit, names)
            message += "".join(f"; {notes[n]}" for n in names if notes.get(n))
            edits = (lambda unit=unit: unit.edits) if built else (lambda unit=unit: render(unit))
            found = unit_evidence(names, evidence or {})
            needs = requires(names) if requires else ()
            fix = Fix(tier_of(names, evidence or {}), tuple(unit.claims), edits, caveats, needs, found)
            findings.append(Finding(rule, message, unit.line, unit.column, Severity.WARNING, rationale, fix, unit.subject))
        for name, reason in unplaced.items():
            service = document.services[name]
            message = f"{blocked}: {reason}"
            findings.append(Finding(rule, message, service.line, service.column, Severity.WARNING, rationale, None, name))
        return findings

    def render(unit: Unit) -> list[Edit]:
        if not rendered:
            built, left = plan(document, wants, build=True)
            rendered.append((built, {**left, **unseen_bases}))
        built, left = rendered[0]
        for other in built:
            if (other.line, other.column, other.subject) == (unit.line, unit.column, unit.subject):
                return other.edits
        names = {s.name for s in unit.services}
        raise Unfixable([f for f in findings_of(built, left, True) if set(f.subject.split(", ")) & names])

    return findings_of(units, unplaced, False)
