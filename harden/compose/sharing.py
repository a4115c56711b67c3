"""Shared mappings and lists: when an edit made through one service would change other places.

A service written as an alias (`b: *svc`) is the very mapping of the anchor and of every other
service that aliases it, and a mapping that others merge (`<<: *svc`) lends them every key they
do not set. An edit made through a service (`add_key`, `extend_sequence`, `replace_scalar`,
`replace_item`, `remove_key`, `remove_item` with a Service owner) that would also change such
another place raises ValueError naming the places and what to do (give each service its own
mapping: `b:` with `<<: *svc` under it); the passes report it as a finding without a fix.
Editing the anchored mapping itself (an anchor-name owner) is the deliberate way to change them
all. The same holds for a sequence used in several places (`cap_add: &caps [...]` and
`cap_add: *caps`). Docker Compose accepts both spellings; only harden's fix is withheld.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harden.compose.locate import DocPath, position_of
from harden.compose.service import Service
from harden.compose.tree import anchor_name, is_map, is_seq, merges, own, own_items
from harden.compose.validate import dotted

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument


class Sharing:
    """Where each collection of a document is written, and which mappings merge it (the index
    is built on first use: most documents are never asked)."""

    def __init__(self, document: ComposeDocument) -> None:
        self.document = document
        self._uses: dict[int, list[DocPath]] | None = None  # id(collection) -> where it is a value
        self._mergers: dict[int, list[Any]] = {}  # id(mapping) -> the mappings that merge it

    def reason(self, owner: Any, key: str, removing: bool = False) -> str:
        """Why adding, changing or removing `key` through `owner` would also change another
        place of the document ('' when it would not).

        A Service owner's mapping must be used by that service alone, and every mapping that
        merges it must set `key` itself; a sequence value of `key` must be used only there
        (unless the key is `removing`: removing an alias only removes that use, and removing
        an anchor's definition is checked on the text, harden.compose.remove). An anchor-name
        owner is shared on purpose: only its sequence is checked."""
        node = self.document.mapping(owner)
        value = node.get(key) if own(node, key) else None
        if is_seq(value) and not removing and len(self.uses_of(value)) > 1:
            places = _places(self.uses_of(value)[1:])
            return (
                f"{key} is a list also used at {places} (an anchor and its aliases): extending or changing it here "
                "would change it there too; give each place its own list"
            )
        if not isinstance(owner, Service):
            return ""
        this = ("services", owner.name)
        others = [p for p in self.uses_of(node) if p != this]
        merging = [p for m in self.merged_without(node, key, set()) for p in self.uses_of(m) or [()]]
        if not others and not merging:
            return ""
        anchor = anchor_name(node)
        name = f"the mapping &{anchor}" if anchor else "a mapping"
        if others:
            its_own = f"`{owner.name}:` with `<<: *{anchor}` under it" if anchor else f"`{owner.name}:` with its own keys"
            return (
                f"service {owner.name} is {name}, also used at {_places(others)}: an edit here would change every one "
                f"of them; give the service its own mapping, {its_own}"
            )
        return (
            f"service {owner.name} is {name}, which {_places(merging)} merges without setting {key}: adding or changing "
            f"{key} here would change it there too; set {key} there as well, or move what they share to an `x-` anchor "
            "that each merges"
        )

    def uses_of(self, node: Any) -> list[DocPath]:
        """Where a collection is written as a value (by an anchor or an alias; merges not
        followed), in document order."""
        if self._uses is None:
            self._uses = self._index()
        return sorted(self._uses.get(id(node), []), key=lambda p: position_of(self.document, p))

    def merged_without(self, node: Any, key: str, seen: set[int]) -> list[Any]:
        """The mappings that merge `node` (directly or through others) and do not set `key`."""
        self.uses_of(node)  # builds the merge index
        found = []
        for merger in self._mergers.get(id(node), []):
            if id(merger) not in seen and not own(merger, key):
                seen.add(id(merger))
                found.append(merger)
                found.extend(self.merged_without(merger, key, seen))
        return found

    def _index(self) -> dict[int, list[DocPath]]:
        uses: dict[int, list[DocPath]] = {}
        seen: set[int] = set()
        stack: list[tuple[Any, DocPath]] = [(self.document.data, ())]
        while stack:
            current, path = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if is_map(current):
                for merged in merges(current):
                    self._mergers.setdefault(id(merged), []).append(current)
                items = own_items(current)
            else:
                items = list(enumerate(current))
            for key, value in reversed(items):
                if is_map(value) or is_seq(value):
                    uses.setdefault(id(value), []).append((*path, key))
                    stack.append((value, (*path, key)))
        return uses


def _places(paths: list[DocPath]) -> str:
    return ", ".join(dotted(p) for p in paths)
