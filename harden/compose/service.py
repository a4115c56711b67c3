"""A service of a Compose document: its mapping, read with merges resolved.

`variables` are the project's interpolation variables (its `.env` or `--env-file` files, read by
the engine): `resolved_image` is the image Compose runs, for knowledge lookups and messages,
while `image` stays the text written in the file, the only one harden edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harden.compose.tree import anchor_name, key_owner, merges, own, plain, tag

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument


class Service:
    """One entry of `services:`; values are read with merges resolved."""

    def __init__(
        self, document: ComposeDocument, name: str, node: Any, line: int, column: int, variables: Mapping[str, str] | None = None
    ) -> None:
        self.document = document
        self.name = name
        self.node = node  # ruamel CommentedMap
        self.line = line  # 1-based line of the service's key
        self.column = column  # 1-based column of the service's key
        self.merge_anchors: list[str] = [anchor_name(m) or "" for m in merges(node)]
        self.variables: Mapping[str, str] = variables or {}

    def __repr__(self) -> str:
        return f"Service({self.name!r}, line={self.line})"

    @property
    def image(self) -> str | None:
        value = self.get("image")
        return value if isinstance(value, str) else None

    @property
    def resolved_image(self) -> str | None:
        """The image as Compose interpolates it with the project's variables (harden.compose.interpolate.resolve):
        None when there is none, or when it depends on a variable the project does not set."""
        image = self.image
        if image is None or "$" not in image:
            return image
        from harden.compose.interpolate import resolve

        return resolve(image, self.variables) or None

    def with_variables(self, variables: Mapping[str, str]) -> Service:
        """This service, reading its values with the project's interpolation variables."""
        return Service(self.document, self.name, self.node, self.line, self.column, variables)

    @property
    def has_build(self) -> bool:
        return self.get("build") is not None

    def get(self, key: str) -> Any:
        """The effective value (merges resolved, `!reset` is absent) as plain Python data."""
        if key not in self.node:
            return None
        value = self.node[key]
        if tag(value) == "!reset":
            return None
        return plain(value, {})

    def own(self, key: str) -> bool:
        """Whether the key is written on the service itself (not merged from an anchor)."""
        return own(self.node, key)

    def merged_from(self, key: str) -> str | None:
        """The anchor whose mapping writes a merged key (None when own or absent).

        With nested merges (`&a` merges `&b`, which writes the key) it is the innermost anchor,
        the one whose text holds the key; a merged mapping without an anchor gives None."""
        if self.own(key):
            return None
        owner = key_owner(self.node, key, set())
        return anchor_name(owner) if owner is not None else None

    def keys(self) -> list[str]:
        """Effective keys, own keys first."""
        return [str(k) for k in self.node]
