"""A parsed Compose file (`parse`, `ComposeDocument`): what the engine and the passes read,
locate and edit through. The work is done by the package's modules (see harden.compose); the
document holds the text, its lines, the tree and what is computed once (style, anchors,
services), and gives one API over them.

Positions: `key_position`, `value_position`, `item_position` (1-based, where a key, its value
or an item of its sequence is written, merges followed), `service_position` (for a finding
about a service: the key or item when the service or an anchor it merges writes it, else the
service's own key), `position_of` (a semantic path). Edits: `add_key`, `add_top_level`,
`extend_sequence`, `replace_scalar`, `replace_item`, `remove_key`, `remove_item`; each returns
harden.model.Edit spans of the original text, or raises ValueError saying why not.

Semantic view (`semantic()`): plain Python data; merge keys resolved (own keys win, then the
merged mappings in order), a key whose value is tagged `!reset` is absent (what Compose does
with it), `!override` values are kept as plain values, interpolation kept verbatim.

An owner (`Owner`) is what an edit goes through: a Service, an anchor name (the anchored mapping
itself: every service that merges it changes), or a mapping node of this document (a nested
mapping such as `service.node["healthcheck"]`, or `document.data` for the top level).
"""

from __future__ import annotations

import bisect
from typing import Any

from harden.compose import edits, locate, remove
from harden.compose.load import load
from harden.compose.locate import DocPath
from harden.compose.scan import split_lines
from harden.compose.service import Service
from harden.compose.sharing import Sharing
from harden.compose.tree import is_map, key_owner, plain
from harden.compose.validate import Problem, schema_problems, text_problems
from harden.compose.walk import AnchorInfo, walk
from harden.model import DocumentError, Edit

Owner = Any  # a Service, an anchor name, or a ruamel mapping of this document


def parse(path: str, text: str) -> ComposeDocument:
    """Parse one Compose file (text without BOM); DocumentError for what harden refuses."""
    data = load(text)
    try:
        return ComposeDocument(path, text, data)
    except RecursionError:
        raise DocumentError(1, "nesting too deep for harden") from None


class ComposeDocument:
    kind = "compose"

    def __init__(self, path: str, text: str, data: Any) -> None:
        self.path = path
        self.text = text
        self.newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1 or len(text)] else "\n"
        self.data = data
        self.line_starts, self.lines = split_lines(text)
        self.sharing = Sharing(self)
        self._semantic: dict[str, Any] | None = None
        self._schema: list[Problem] | None = None
        self.services = _services(self, data)
        # mappings whose new keys are inserted after a line break (the outermost ones: the root,
        # its values, services); nested ones before it, so that both orders of edits work
        self.outer: set[int] = {id(data)} | {id(v) for v in data.values()} | {id(s.node) for s in self.services.values()}
        self.style, self._anchors = walk(self)

    def __repr__(self) -> str:
        return f"ComposeDocument({self.path!r}, services={list(self.services)})"

    # --- reading -------------------------------------------------------------------------------

    def semantic(self) -> dict[str, Any]:
        """Plain Python data for deepdiff guards (merges resolved, `!reset` keys absent)."""
        if self._semantic is None:
            value = plain(self.data, {})
            self._semantic = value if isinstance(value, dict) else {}
        return self._semantic

    def anchors(self) -> dict[str, AnchorInfo]:
        """Anchored mappings by name (the last definition wins, as for aliases after it)."""
        return self._anchors

    @property
    def problems(self) -> list[Problem]:
        """Why this file is read but never fixed (harden.compose.validate): text that YAML
        parsers read differently, then schema errors, each at its own line and column."""
        return text_problems(self) + self._schema_problems()

    @property
    def fixable(self) -> bool:
        """Whether the engine may apply fixes to this file (read by harden.engine)."""
        return not self.problems

    @property
    def schema_errors(self) -> list[str]:
        """Compose Specification schema errors of this document, as `path: message` lines."""
        return [p.message for p in self._schema_problems()]

    def _schema_problems(self) -> list[Problem]:
        if self._schema is None:
            found = [Problem(*self.position_of(path), message) for path, message in schema_problems(self.semantic())]
            self._schema = sorted(found, key=lambda p: (p.line, p.column))
        return self._schema

    def mapping(self, owner: Owner) -> Any:
        """The ruamel mapping of a Service, an anchor name or a mapping node itself."""
        if isinstance(owner, Service):
            return owner.node
        if isinstance(owner, str):
            info = self._anchors.get(owner)
            if info is None:
                raise KeyError(f"no anchored mapping named {owner!r}")
            return info.node
        if is_map(owner):
            return owner
        raise TypeError(f"not a mapping owner: {owner!r}")

    def is_alias(self, owner: Owner, key: str | int) -> bool:
        """Whether the value of `key` (an item index, for a sequence node) is written `*alias`."""
        node = owner if isinstance(owner, list) else self.mapping(owner)
        return locate.is_alias_value(self, node, key)

    # --- text and positions --------------------------------------------------------------------

    def offset(self, line: int, column: int) -> int:
        """Text offset of a 0-based (line, column) as ruamel reports them."""
        return self.line_starts[line] + column

    def line_of(self, offset: int) -> int:
        """0-based line of an offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def position_of(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of what a semantic path names: a mapping key where it is written
        (in the merged mapping it comes from, if merged), a sequence item; as deep as the path can
        be followed (the top of the file for the empty path)."""
        return locate.position_of(self, path)

    def key_position(self, owner: Owner, key: str) -> tuple[int, int] | None:
        """1-based (line, column) of `key` where it is written for `owner`: on its mapping, or on
        the mapping it merges the key from; None when not set."""
        return locate.key_position(self, self.mapping(owner), key)

    def value_position(self, owner: Owner, key: str) -> tuple[int, int] | None:
        """1-based (line, column) of the value of `key` (its first character after a tag or
        anchor; right after the colon when empty); None when not set."""
        return locate.value_position(self, self.mapping(owner), key)

    def item_position(self, owner: Owner, key: str, index: int) -> tuple[int, int] | None:
        """1-based (line, column) of item `index` of the sequence `key`; None when there is none."""
        return locate.item_position(self, self.mapping(owner), key, index)

    def service_position(self, service: Service, key: str | None = None, index: int | None = None) -> tuple[int, int]:
        """1-based (line, column) for a finding about a service: of `key` (its item `index`) when
        the service writes it, or the anchored mapping it merges the key from, else of the
        service's own key."""
        return locate.service_position(self, service, key, index)

    def scalar_span(self, node: Any, key: str | int) -> tuple[int, int]:
        """Offsets of a scalar value's text in a mapping (by key) or sequence (by index).

        The span covers the scalar itself, quotes included, after any tag or anchor; for an
        alias (`*name`) it is the alias. Raises ValueError for a collection value.
        """
        return locate.scalar_span(self, node, key)

    def scalar_style(self, node: Any, key: str | int) -> str:
        """'"', "'", '|', '>' or '' (plain) for a scalar value."""
        return locate.scalar_style(self, node, key)

    # --- edits ---------------------------------------------------------------------------------

    def add_key(self, owner: Owner, key: str, value: Any, comments: dict[str, str] | None = None) -> list[Edit]:
        """Add `key: value` to a mapping (a Service, an anchor name or a mapping node).

        `value`: a scalar, or a list or dict of values, nested as deep as needed (rendered in the
        file's style, harden.compose.render). `comments` maps a list item (or dict key, or the
        key itself for a scalar) of the first level to an end-of-line comment.
        """
        return edits.add_key(self, owner, key, value, comments)

    def add_top_level(self, key: str, value: Any, after: str | None = None, comments: dict[str, str] | None = None) -> list[Edit]:
        """Add a top-level `key: value` (e.g. `networks:` with nested definitions) after the entry
        of the top-level key `after`, or at the end of the top level."""
        return edits.add_top_level(self, key, value, after, comments)

    def extend_sequence(self, owner: Owner, key: str, items: list[Any], comments: dict[str, str] | None = None) -> list[Edit]:
        """Append items to an existing block or flow sequence `key` of a mapping."""
        return edits.extend_sequence(self, owner, key, items, comments)

    def replace_scalar(self, owner: Owner, key: str, new_text: str) -> list[Edit]:
        """Replace a scalar value's text with `new_text` (a value; quoted as the old one was)."""
        return edits.replace_scalar(self, owner, key, new_text)

    def replace_item(self, owner: Owner, key: str, index: int, new_text: str) -> list[Edit]:
        """Replace the scalar item `index` of the sequence `key`."""
        return edits.replace_item(self, owner, key, index, new_text)

    def remove_key(self, owner: Owner, key: str) -> list[Edit]:
        """Remove `key` and its value from a mapping (`document.data` for a top-level key),
        with its comments (harden.compose.remove)."""
        return remove.remove_key(self, owner, key)

    def remove_item(self, owner: Owner, key: str, index: int) -> list[Edit]:
        """Remove item `index` of the sequence `key` of a mapping (harden.compose.remove)."""
        return remove.remove_item(self, owner, key, index)

    def shared(self, owner: Owner, key: str) -> str:
        """Why adding or changing `key` through `owner` would also change another place of the
        document ('' when it would not; harden.compose.sharing)."""
        return self.sharing.reason(owner, key)


def _services(document: ComposeDocument, data: Any) -> dict[str, Service]:
    """The entries of `services:` (those merged in with `<<: *more` too); DocumentError for a
    name that is not a string or a service that is not a mapping."""
    found: dict[str, Service] = {}
    services: Any = data.get("services")
    if not is_map(services):
        return found
    for name, node in services.items():
        owner = key_owner(services, name, set())
        kline, kcol = owner.lc.key(name)
        if not isinstance(name, str):
            raise DocumentError(kline + 1, f"service name {name!r} is not a string", kcol + 1)
        if not is_map(node):
            raise DocumentError(kline + 1, f"service {name!r} is not a mapping", kcol + 1)
        found[name] = Service(document, name, node, kline + 1, kcol + 1)
    return found
