"""What a change to an anchored mapping (`x-defaults: &defaults`) reaches: the services that
merge it (`<<: *defaults`, directly or through other anchored mappings), the places of the
document where a key added to it shows up, and which anchor writes a merged key.

A key goes into an anchored mapping only when every service it reaches wants it
(harden.passes.compose.placement); these functions say who that is. They read the tree through
harden.compose's public helpers (`own_items`, `merges`, `anchor_name`).
"""

from __future__ import annotations

from typing import Any

from harden.compose import ComposeDocument, Service, anchor_name, merges, own_items
from harden.model import Claim


def owns(node: Any, key: str) -> bool:
    """Whether the mapping writes the key itself (not through a merge)."""
    return any(k == key for k, _ in own_items(node))


def reaches(node: Any, target: Any, seen: set[int] | None = None) -> bool:
    """Whether `node` merges `target`, directly or through other merged mappings."""
    seen = seen if seen is not None else set()
    for merged in merges(node):
        if merged is target:
            return True
        if id(merged) not in seen:
            seen.add(id(merged))
            if reaches(merged, target, seen):
                return True
    return False


def members(document: ComposeDocument, anchor: str) -> list[Service]:
    """Every service that a change to the anchored mapping reaches: the services that merge it
    (directly or through another anchored mapping) and a service that is itself the mapping."""
    node = document.anchors()[anchor].node
    return [s for s in document.services.values() if s.node is node or reaches(s.node, node)]


def reached_paths(document: ComposeDocument, anchor: str) -> list[Claim]:
    """Where a key added to the anchored mapping shows up in `semantic()`: the mapping itself
    and every mapping that merges it, directly or through others (services and other anchors)."""
    target = document.anchors()[anchor].node
    found: list[Claim] = []
    seen: set[int] = set()
    stack: list[tuple[Any, Claim]] = [(document.data, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if node is target or reaches(node, target):
                found.append(path)
            stack.extend((value, (*path, key)) for key, value in own_items(node) if isinstance(value, dict | list))
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node) if isinstance(value, dict | list))
    return found


def owning_anchor(document: ComposeDocument, service: Service, key: str) -> str | None:
    """The anchored mapping that writes a merged key (following merges of merges)."""
    name = service.merged_from(key)
    anchors = document.anchors()
    seen: set[str] = set()
    while name is not None and name in anchors and name not in seen:
        seen.add(name)
        node = anchors[name].node
        if owns(node, key):
            return name
        name = next(
            (anchor_name(m) for m in merges(node) if key in m and anchor_name(m) in anchors),
            None,
        )
    return None


def aliased(document: ComposeDocument, target: Any) -> bool:
    """Whether the mapping also appears as a plain alias (`logging: *log`), not only merged:
    a key added to it would then change that place too."""
    count = 0
    seen: set[int] = set()
    stack = [document.data]
    while stack:
        node: Any = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children = [v for _, v in own_items(node)] if isinstance(node, dict) else list(node)
        for child in children:
            if child is target:
                count += 1
            if isinstance(child, dict | list):
                stack.append(child)
    return count > 1
