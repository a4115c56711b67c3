"""ruamel.yaml's round-trip tree, read: the one module (with harden.compose.locate, which reads
positions) that knows ruamel's node types and the attributes they keep their YAML in.

A mapping is a CommentedMap (a dict), a sequence a CommentedSeq (a list). Merge keys (`<<`)
are not entries of the mapping: ruamel resolves them when a key is read (`node[key]`, `key in
node`), keeps the mappings merged in `_yaml_merge`, and the keys written on the mapping itself
in `_ok`. Tags (`!reset`, `!override`) and anchors are kept on the node.
"""

from __future__ import annotations

from typing import Any


def is_map(value: Any) -> bool:
    return isinstance(value, dict)


def is_seq(value: Any) -> bool:
    return isinstance(value, list)


def is_flow(node: Any) -> bool:
    """Whether a collection is written in flow style (`{...}`, `[...]`; an empty one always is)."""
    fmt = getattr(node, "_yaml_format", None)
    if fmt is not None and fmt.flow_style():
        return True
    return (is_map(node) or is_seq(node)) and not len(node)


def tag(value: Any) -> str | None:
    """The tag written on a node (`!reset`, `!override`), or None."""
    found = getattr(value, "_yaml_tag", None)
    if found is None:
        return None
    text = getattr(found, "value", None)
    return str(text) if text is not None else None


def anchor_name(node: Any) -> str | None:
    """The anchor written on a node (`&name`), or None."""
    anchor = getattr(node, "_yaml_anchor", None)
    return str(anchor.value) if anchor is not None and anchor.value else None


def merges(node: Any) -> list[Any]:
    """The mappings a mapping merges (`<<: *a` or `<<: [*a, *b]`), in order."""
    merge = getattr(node, "_yaml_merge", None)
    if merge is None:
        return []
    return list(getattr(merge, "value", merge))


def own(node: Any, key: Any) -> bool:
    """Whether the key is written on the mapping itself (not merged into it)."""
    ok = getattr(node, "_ok", None)
    return key in ok if ok is not None else key in node


def own_items(node: Any) -> list[tuple[Any, Any]]:
    """(key, value) written on the mapping itself, in order (merged keys left out)."""
    items = getattr(node, "non_merged_items", None)
    return list(items()) if items is not None else list(node.items())


def key_owner(node: Any, key: Any, seen: set[int]) -> Any:
    """The mapping that writes `key` for `node`: itself, or the merged mapping it comes from."""
    if own(node, key):
        return node
    seen.add(id(node))
    for merged in merges(node):
        if id(merged) not in seen and key in merged:
            owner = key_owner(merged, key, seen)
            if owner is not None:
                return owner
    return None


def plain(value: Any, memo: dict[int, Any]) -> Any:
    """ruamel round-trip data to plain Python (shared nodes stay shared; `!reset` keys absent)."""
    if isinstance(value, dict | list):
        known = memo.get(id(value))
        if known is not None:
            return known
        if isinstance(value, list):
            items: list[Any] = []
            memo[id(value)] = items
            items.extend(plain(item, memo) for item in value)
            return items
        result: dict[Any, Any] = {}
        memo[id(value)] = result
        for key in value:
            item = value[key]
            if tag(item) != "!reset":
                result[plain(key, memo)] = plain(item, memo)
        return result
    if value is None or type(value) in (str, int, float, bool):
        return value
    return _plain_scalar(value, memo)


def _plain_scalar(value: Any, memo: dict[int, Any]) -> Any:
    name = type(value).__name__
    if name == "ScalarBoolean":
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if name == "TaggedScalar":
        return value.value
    if isinstance(value, tuple):  # complex keys
        return tuple(plain(v, memo) for v in value)
    if isinstance(value, set | frozenset) or name == "CommentedSet":
        return sorted(map(str, value))
    return value  # timestamps and other rare scalars stay what ruamel made of them
