"""Compose documents: ruamel.yaml's tree locates, edits splice text.

Design
------
A Compose file is parsed once into ruamel.yaml's round-trip tree (CommentedMap/CommentedSeq,
ruamel imported lazily). The tree is only used to *read* and to *locate*: every mapping key,
sequence item and collection knows its line and column (`.lc`), and anchors, tags (`!reset`,
`!override`) and merge keys (`<<`) are kept. Output is never produced by dumping the tree (a
load-and-dump round trip is byte-identical for 0 of the 39 corpus files, RECIPES.md §3). Every
edit builder returns `harden.model.Edit`s instead: replacements of spans of the original text,
found from the positions in the tree plus a small line scanner for what the tree does not hold
(where a block collection ends, where a scalar ends, where a flow collection closes). Everything
outside an edit stays byte for byte: comments, blank lines, quoting, `${VAR}` and `$$`, CRLF.

Speed: ruamel.yaml (with the plain scanner and parser: comments come from the text, not the
tree) is the one loader; it takes ~2 ms per corpus file. A line-based fast loader that rebuilt
the same tree in a sixth of that time was deleted: a real user's run did not need it (the
numbers are in the package docstring once this module is split). The tree has no comment
attachments (`.ca`): read comments from `document.text`.

Decisions
---------
* Where a new key goes in a block mapping: right after the mapping's last *content* line (the
  last line of its last entry, however deeply nested, and of comment lines indented deeper than
  its keys), so blank lines and comments that follow stay in the gap before the next key. Lines
  for an outermost mapping (a service, an anchor at the top level) are inserted after the line
  break, those for a nested collection replace the line break: when both end on the same line,
  the nested lines come first whatever order the engine applies the edits in. After a block
  scalar that ends a file without a final newline, the lines go before the last entry.
* In a flow mapping (`svc: {image: x}`) an entry is added before the closing brace as
  `, key: value`, in flow style; a flow collection written one entry per line with a trailing
  comma gets a new line. Comments asked for flow items follow the closing bracket.
* Style of new text is detected from the file (`Style`): mapping indent (most common step
  between a key and its nested block mapping), sequence dash offset and item gap (first from
  sibling block sequences of the same mapping, then the file's most common), quote character
  (the more common of `"` and `'` in the file, `"` by default), and whether the file prefers flow
  sequences (it does when scalar lists under keys are written `[a, b]` more often than as block
  sequences). A new list is written in flow style when the owner mapping is itself flow, or when
  the file prefers flow and no per-item comments were asked for; otherwise as a block sequence.
  Items added to an existing sequence copy the quotes of its last item.
* Scalars are written plain when that reads back as the same string (in YAML 1.1 *and* 1.2:
  `yes`, `on`, `0777`, `1:20` are quoted), else quoted with the file's quote character.
  `replace_scalar` keeps the old value's quotes.
* Semantic view (`semantic()`): plain Python data; merge keys resolved (own keys win, then the
  merged mappings in order), a key whose value is tagged `!reset` is absent (what Compose does
  with it), `!override` values are kept as plain values, interpolation kept verbatim.
* Refused input (`DocumentError`, 1-based line and column): invalid YAML, duplicate keys, more
  than one document, a tab used for indentation, a top level that is not a mapping or has no
  `services:` mapping (a file with only `include:` is accepted), a service that is not a
  mapping, nesting deeper than MAX_DEPTH, aliases that expand the document by more than
  max(MAX_ALIAS_EXPANSION, ALIAS_EXPANSION_RATIO x its distinct nodes) nodes (the "billion
  laughs" anchor bomb: reported at the first node that passes the limit; an anchor merged into
  every service of a large file stays far below it), and lone CR line breaks.
* Read, but never fixed (`problems`, `fixable`; the engine applies no fix to such a file and
  the compose-schema rule reports each problem at its own line and column, as ruff reports a
  syntax error and fixes nothing): a document that does not validate against the Compose
  Specification schema (harden/schemas/compose-spec.json, Draft 7; `x-` keys are free, as the
  schema says); raw U+0085 (NEL), U+2028, U+2029 or U+FEFF characters; a `%YAML` directive
  other than 1.1, which Docker Compose refuses. Docker Compose's YAML parser (go-yaml, YAML 1.1
  rules) takes the first three characters for line breaks and counts the last as a column;
  ruamel.yaml (YAML 1.2 positions) does neither, so the two read such a file differently and no
  edit can be placed for both (`X: a<NEL>b` is `a b` to one and an error to the other; written
  as escapes in double quotes, `"\\N"`, they are fine). A YAML error that such a character
  causes says so. Lines here are the lines ruamel.yaml counts: they end at LF or CRLF only.
* Validation of an output (`validate_output`): no service may disappear, and it must validate
  against the schema (the input did: a file with problems is never edited).
* Shared mappings: a service written as an alias (`b: *svc`) is the very mapping of the anchor
  and of every other service that aliases it, and a mapping that others merge (`<<: *svc`) lends
  them every key they do not set. An edit made through a service (`add_key`, `extend_sequence`,
  `replace_scalar`, `replace_item` with a Service owner) that would also change such another
  place raises ValueError naming the places and what to do (give each service its own mapping:
  `b:` with `<<: *svc` under it); the passes report it as a finding without a fix. Editing the
  anchored mapping itself (an anchor-name owner) is the deliberate way to change them all. The
  same holds for a sequence used in several places (`cap_add: &caps [...]` and `cap_add: *caps`).
  Docker Compose accepts both spellings; only harden's fix is withheld.
* Override files and `extends`: `merge()` merges one service's mappings in order, later ones
  winning, as Compose does for both (see its docstring).
"""

from __future__ import annotations

import bisect
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from harden.model import DocumentError, Edit

# Alias expansion a document may have: aliases may add max(MAX_ALIAS_EXPANSION, ALIAS_EXPANSION_RATIO
# x its distinct nodes) nodes to the expanded document. A billion-laughs bomb adds 10**9 to ~100.
MAX_ALIAS_EXPANSION = 100_000
ALIAS_EXPANSION_RATIO = 10
MAX_DEPTH = 200  # nesting levels of collections
SCHEMA_PATH = Path(__file__).parent / "schemas" / "compose-spec.json"
MAPPING_KEYS = frozenset({"annotations", "environment", "labels", "sysctls"})  # merged by name
APPEND_KEYS = frozenset(
    {
        "cap_add",
        "cap_drop",
        "configs",
        "devices",
        "dns",
        "dns_search",
        "env_file",
        "expose",
        "external_links",
        "extra_hosts",
        "ports",
        "secrets",
        "security_opt",
        "tmpfs",
        "volumes",
        "volumes_from",
    }
)

_LINE_BREAK = re.compile(r"\r\n|[\r\n]")  # where ruamel.yaml counts a new line (a lone CR is refused by parse)
# Characters that Docker Compose's YAML parser and ruamel.yaml read differently: (name, how, escape).
_BREAK_TO_COMPOSE = "Docker Compose's YAML parser takes it for a line break, YAML 1.2 for a character"
_AMBIGUOUS_CHARACTERS = {
    "\x85": ("U+0085 (NEL)", _BREAK_TO_COMPOSE, "N"),
    "\u2028": ("U+2028 (line separator)", _BREAK_TO_COMPOSE, "L"),
    "\u2029": ("U+2029 (paragraph separator)", _BREAK_TO_COMPOSE, "P"),
    "\ufeff": ("U+FEFF (byte order mark)", "Docker Compose's YAML parser counts it as a column, ruamel.yaml does not", "uFEFF"),
}
_AMBIGUOUS = re.compile("[" + "".join(_AMBIGUOUS_CHARACTERS) + "]")
_BLOCK_HEADER = re.compile(r"(?:^|[\s:-])[|>]([-+1-9]{0,2})[ \t]*(?:#.*)?$")
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_NOT_STRING = r"""^(?:~|null|Null|NULL
    |y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |[-+]?(?:0|[1-9][0-9_]*)|[-+]?0[0-7_]+|0o[0-7]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|=|<<)$"""  # read as something else than a string (YAML 1.1 or 1.2)


Owner = Any  # a Service, an anchor name, or a ruamel mapping of this document
DocPath = tuple[str | int, ...]  # a path into the document, e.g. ("services", "web", "ports", 0)


@dataclass(frozen=True)
class Problem:
    """Why harden fixes nothing in a file: where (1-based) and what is wrong, with what is wanted."""

    line: int
    column: int
    message: str
    schema: bool = True  # a schema error (Docker Compose rejects the file); else text YAML parsers read differently


@dataclass(frozen=True)
class Style:
    """How the file writes YAML; new text copies it."""

    indent: int = 2  # a nested block mapping's keys are this many columns right of its key
    seq_offset: int = 2  # a block sequence's dashes are this many columns right of its key
    seq_gap: int = 2  # an item's text starts this many columns right of its dash ("- x")
    flow_sequences: bool = False  # scalar lists are written [a, b] more often than as blocks
    quote: str = '"'  # the quote character the file uses most


@dataclass
class AnchorInfo:
    """An anchored mapping (`x-defaults: &defaults`) and the services that merge it."""

    name: str
    node: Any  # the ruamel mapping
    line: int  # 1-based line of the anchored mapping's first key
    path: tuple[str | int, ...]  # where it is defined, e.g. ("x-defaults",)
    merged_by: list[str] = field(default_factory=list)  # services with `<<: *name` (directly)


class Service:
    """One entry of `services:`; values are read with merges resolved."""

    def __init__(self, document: ComposeDocument, name: str, node: Any, line: int, column: int) -> None:
        self.document = document
        self.name = name
        self.node = node  # ruamel CommentedMap
        self.line = line  # 1-based line of the service's key
        self.column = column  # 1-based column of the service's key
        self.merge_anchors: list[str] = [_anchor_name(m) or "" for m in _merges(node)]

    def __repr__(self) -> str:
        return f"Service({self.name!r}, line={self.line})"

    @property
    def image(self) -> str | None:
        value = self.get("image")
        return value if isinstance(value, str) else None

    @property
    def has_build(self) -> bool:
        return self.get("build") is not None

    def get(self, key: str) -> Any:
        """The effective value (merges resolved, `!reset` is absent) as plain Python data."""
        if key not in self.node:
            return None
        value = self.node[key]
        if _tag(value) == "!reset":
            return None
        return _plain(value, {})

    def own(self, key: str) -> bool:
        """Whether the key is written on the service itself (not merged from an anchor)."""
        return _own(self.node, key)

    def merged_from(self, key: str) -> str | None:
        """The anchor whose mapping writes a merged key (None when own or absent).

        With nested merges (`&a` merges `&b`, which writes the key) it is the innermost anchor,
        the one whose text holds the key; a merged mapping without an anchor gives None."""
        if self.own(key):
            return None
        owner = _key_owner(self.node, key, set())
        return _anchor_name(owner) if owner is not None else None

    def keys(self) -> list[str]:
        """Effective keys, own keys first."""
        return [str(k) for k in self.node]


class ComposeDocument:
    kind = "compose"

    def __init__(self, path: str, text: str, data: Any, lines: tuple[list[int], list[str]] | None = None) -> None:
        self.path = path
        self.text = text
        self.newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1 or len(text)] else "\n"
        self.data = data
        self.line_starts, self.lines = lines or _split_lines(text)
        self._semantic: dict[str, Any] | None = None
        self._schema: list[Problem] | None = None
        self._uses: dict[int, list[DocPath]] | None = None  # id(collection) -> where it is a value
        self._mergers: dict[int, list[Any]] = {}  # id(mapping) -> the mappings that merge it
        self._anchors: dict[str, AnchorInfo] = {}
        self.services: dict[str, Service] = {}
        services: Any = data.get("services")
        # mappings whose new keys are inserted after a line break (the outermost ones: the root,
        # its values, services); nested ones before it, so that both orders of edits work
        self._outer: set[int] = {id(data)} | {id(v) for v in data.values()}
        if _is_map(services):
            self._outer |= {id(v) for v in services.values()}
            for name, node in services.items():
                owner = _key_owner(services, name, set())  # services merged in (`<<: *more`) are listed too
                kline, kcol = owner.lc.key(name)
                if not isinstance(name, str):
                    raise DocumentError(kline + 1, f"service name {name!r} is not a string", kcol + 1)
                if not _is_map(node):
                    raise DocumentError(kline + 1, f"service {name!r} is not a mapping", kcol + 1)
                self.services[str(name)] = Service(self, str(name), node, kline + 1, kcol + 1)
        self.style = _Walker(self).run()

    def __repr__(self) -> str:
        return f"ComposeDocument({self.path!r}, services={list(self.services)})"

    # --- reading ---------------------------------------------------------------------

    def semantic(self) -> dict[str, Any]:
        """Plain Python data for deepdiff guards (merges resolved, `!reset` keys absent)."""
        if self._semantic is None:
            value = _plain(self.data, {})
            self._semantic = value if isinstance(value, dict) else {}
        return self._semantic

    def anchors(self) -> dict[str, AnchorInfo]:
        """Anchored mappings by name (the last definition wins, as for aliases after it)."""
        return self._anchors

    @property
    def problems(self) -> list[Problem]:
        """Why this file is read but never fixed (see the module docstring): text that YAML
        parsers read differently, then schema errors, each at its own line and column."""
        return self._text_problems() + self._schema_problems()

    @property
    def fixable(self) -> bool:
        """Whether the engine may apply fixes to this file (read by harden.engine)."""
        return not self.problems

    @property
    def schema_errors(self) -> list[str]:
        """Compose Specification schema errors of this document, as `path: message` lines."""
        return [p.message for p in self._schema_problems()]

    def _text_problems(self) -> list[Problem]:
        problems = []
        for match in re.finditer(r"^%YAML[ \t]+(\S+)", self.text, re.M):
            if match.group(1) != "1.1":
                message = f"%YAML {match.group(1)}: Docker Compose's YAML parser accepts only %YAML 1.1; remove the directive"
                problems.append(Problem(self.line_of(match.start()) + 1, 1, message, schema=False))
        for match in _AMBIGUOUS.finditer(self.text):
            line = self.line_of(match.start())
            name, why, escape = _AMBIGUOUS_CHARACTERS[match.group()]
            message = (
                f"a raw {name} character: {why}, so the two read this file differently; remove it, or write it "
                f'as "\\{escape}" inside a double-quoted string'
            )
            problems.append(Problem(line + 1, match.start() - self.line_starts[line] + 1, message, schema=False))
        return problems

    def _schema_problems(self) -> list[Problem]:
        if self._schema is None:
            found = [Problem(*self.position_of(path), message) for path, message in schema_problems(self.semantic())]
            self._schema = sorted(found, key=lambda p: (p.line, p.column))
        return self._schema

    def position_of(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of what a semantic path names: a mapping key where it is written
        (in the merged mapping it comes from, if merged), a sequence item; as deep as the path can
        be followed (the top of the file for the empty path)."""
        node = self.data
        line = column = 0
        for part in path:
            if _is_map(node):
                key = next((k for k in node if str(k) == str(part)), None)
                owner = _key_owner(node, key, set()) if key is not None else None
                if owner is None:
                    break
                line, column = owner.lc.key(key)
                node = node[key]
            elif _is_seq(node) and isinstance(part, int) and part < len(node) and node.lc.item(part) is not None:
                line, column = node.lc.item(part)
                node = node[part]
            else:
                break
        return int(line) + 1, int(column) + 1

    def offset(self, line: int, column: int) -> int:
        """Text offset of a 0-based (line, column) as ruamel reports them."""
        return self.line_starts[line] + column

    def line_of(self, offset: int) -> int:
        """0-based line of an offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def mapping(self, owner: Owner) -> Any:
        """The ruamel mapping of a Service, an anchor name or a mapping node itself."""
        if isinstance(owner, Service):
            return owner.node
        if isinstance(owner, str):
            info = self._anchors.get(owner)
            if info is None:
                raise KeyError(f"no anchored mapping named {owner!r}")
            return info.node
        if _is_map(owner):
            return owner
        raise TypeError(f"not a mapping owner: {owner!r}")

    def scalar_span(self, node: Any, key: str | int) -> tuple[int, int]:
        """Offsets of a scalar value's text in a mapping (by key) or sequence (by index).

        The span covers the scalar itself, quotes included, after any tag or anchor; for an
        alias (`*name`) it is the alias. Raises ValueError for a collection value.
        """
        start, indent = self._value_start(node, key)
        value = node[key]
        if _is_alias_value(self, node, key):
            match = re.compile(r"\*[^\s,\[\]{}]+").match(self.text, start)
            if match is None:  # an alias item of a sequence: the tree has the anchor's position only
                raise ValueError(f"cannot locate the alias at {key!r}")
            return start, match.end()
        if _is_map(value) or _is_seq(value):
            raise ValueError(f"{key!r} is not a scalar")
        return start, self._scalar_end(start, flow=_is_flow(node), parent_col=indent)

    def scalar_style(self, node: Any, key: str | int) -> str:
        """'"', "'", '|', '>' or '' (plain) for a scalar value."""
        start, _ = self.scalar_span(node, key)
        char = self.text[start : start + 1]
        return char if char in ("'", '"', "|", ">") else ""

    # --- edits -------------------------------------------------------------------------

    def add_key(self, owner: Owner, key: str, value: Any, comments: dict[str, str] | None = None) -> list[Edit]:
        """Add `key: value` to a mapping (a Service, an anchor name or a mapping node).

        `value`: str, bool, int, list of scalars, or dict of scalars. `comments` maps a list item
        (or dict key, or the key itself for a scalar) to an end-of-line comment.
        """
        node = self._editable(owner, key)
        if _own(node, key):
            raise ValueError(f"{key!r} is already set here; use replace_scalar or extend_sequence")
        comments = comments or {}
        if _is_flow(node):
            return [self._add_flow_entry(node, key, value, comments)]
        col = self._key_column(node)
        seq_offset, seq_gap = self._sequence_style(node)
        use_flow = isinstance(value, list) and not comments and self.style.flow_sequences
        lines = _render_entry(key, value, col, self.style, seq_offset, seq_gap, use_flow, comments)
        return [self._append_lines(node, lines, outer=id(node) in self._outer)]

    def extend_sequence(self, owner: Owner, key: str, items: list[Any], comments: dict[str, str] | None = None) -> list[Edit]:
        """Append items to an existing block or flow sequence `key` of a mapping."""
        node = self._editable(owner, key)
        if not _own(node, key):
            raise ValueError(f"{key!r} is not set on this mapping")
        seq = node[key]
        if not _is_seq(seq) or _is_alias_value(self, node, key):
            raise ValueError(f"{key!r} is not a sequence written here")
        comments = comments or {}
        if not items:
            return []
        if _is_flow(seq) or _is_flow(node):
            return [self._extend_flow(seq, items, comments)]
        dash_line, dash_col = self._dash_position(seq)
        gap = seq.lc.item(0)[1] - dash_col if len(seq) else self.style.seq_gap
        quote = self._item_quote(seq)
        lines = []
        for item in items:
            text = _scalar(item, False, quote or self.style.quote, force=bool(quote))
            lines.append(" " * dash_col + "-" + " " * max(gap - 1, 1) + text + _comment(comments, item))
        return [self._append_lines(seq, lines, outer=False, dash_col=dash_col, first_line=dash_line)]

    def replace_scalar(self, owner: Owner, key: str, new_text: str) -> list[Edit]:
        """Replace a scalar value's text with `new_text` (a value; quoted as the old one was)."""
        node = self._editable(owner, key)
        if not _own(node, key):
            raise ValueError(f"{key!r} is not set on this mapping")
        return [self._replace(node, key, new_text)]

    def replace_item(self, owner: Owner, key: str, index: int, new_text: str) -> list[Edit]:
        """Replace the scalar item `index` of the sequence `key`."""
        node = self._editable(owner, key)
        if not _own(node, key) or _is_alias_value(self, node, key):
            raise ValueError(f"{key!r} is not a sequence written here")
        return [self._replace(node[key], index, new_text)]

    def shared(self, owner: Owner, key: str) -> str:
        """Why adding or changing `key` through `owner` would also change another place of the
        document ('' when it would not; see "Shared mappings" in the module docstring).

        A Service owner's mapping must be used by that service alone, and every mapping that
        merges it must set `key` itself; a sequence value of `key` must be used only there. An
        anchor-name owner is shared on purpose: only its sequence is checked."""
        node = self.mapping(owner)
        value = node.get(key) if _own(node, key) else None
        if _is_seq(value) and len(self._uses_of(value)) > 1:
            places = _places(self._uses_of(value)[1:])
            return (
                f"{key} is a list also used at {places} (an anchor and its aliases): extending or changing it here "
                "would change it there too; give each place its own list"
            )
        if not isinstance(owner, Service):
            return ""
        this = ("services", owner.name)
        others = [p for p in self._uses_of(node) if p != this]
        merging = [p for m in self._merged_without(node, key, set()) for p in self._uses_of(m) or [()]]
        if not others and not merging:
            return ""
        anchor = _anchor_name(node)
        name = f"the mapping &{anchor}" if anchor else "a mapping"
        if others:
            own = f"`{owner.name}:` with `<<: *{anchor}` under it" if anchor else f"`{owner.name}:` with its own keys"
            return (
                f"service {owner.name} is {name}, also used at {_places(others)}: an edit here would change every one "
                f"of them; give the service its own mapping, {own}"
            )
        return (
            f"service {owner.name} is {name}, which {_places(merging)} merges without setting {key}: adding or changing "
            f"{key} here would change it there too; set {key} there as well, or move what they share to an `x-` anchor "
            "that each merges"
        )

    # --- helpers -----------------------------------------------------------------------

    def _editable(self, owner: Owner, key: str) -> Any:
        """The mapping of `owner`, when an edit of `key` through it changes nothing else."""
        reason = self.shared(owner, key)
        if reason:
            raise ValueError(reason)
        return self.mapping(owner)

    def _uses_of(self, node: Any) -> list[DocPath]:
        """Where a collection is written as a value (by an anchor or an alias; merges not
        followed), in document order."""
        if self._uses is None:
            self._uses = {}
            seen: set[int] = set()
            stack: list[tuple[Any, DocPath]] = [(self.data, ())]
            while stack:
                current, path = stack.pop()
                if id(current) in seen:
                    continue
                seen.add(id(current))
                if _is_map(current):
                    for merged in _merges(current):
                        self._mergers.setdefault(id(merged), []).append(current)
                    items = list(current.non_merged_items())
                else:
                    items = list(enumerate(current))
                for key, value in reversed(items):
                    if _is_map(value) or _is_seq(value):
                        self._uses.setdefault(id(value), []).append((*path, key))
                        stack.append((value, (*path, key)))
        return sorted(self._uses.get(id(node), []), key=lambda p: self.position_of(p))

    def _merged_without(self, node: Any, key: str, seen: set[int]) -> list[Any]:
        """The mappings that merge `node` (directly or through others) and do not set `key`."""
        self._uses_of(node)  # builds the merge index
        found = []
        for merger in self._mergers.get(id(node), []):
            if id(merger) not in seen and not _own(merger, key):
                seen.add(id(merger))
                found.append(merger)
                found.extend(self._merged_without(merger, key, seen))
        return found

    def _replace(self, node: Any, key: str | int, new_text: str) -> Edit:
        if _is_alias_value(self, node, key):
            raise ValueError(
                f"{key} is an alias of a value anchored elsewhere: harden does not change it for one place; change "
                "the anchored value (every alias follows), or write the value here"
            )
        start, end = self.scalar_span(node, key)
        old = self.text[start:end]
        if old[:1] in ("|", ">"):
            raise ValueError(f"{key!r} is a block scalar")
        flow = _is_flow(node)
        if start == end:  # an empty value (`key:`)
            space = "" if self.text[start - 1 : start] in (" ", "\t") else " "
            return Edit(start, end, space + _scalar(new_text, flow, self.style.quote))
        if old[:1] == '"':
            text = _double_quoted(new_text)
        elif old[:1] == "'" and "\n" not in new_text:
            text = "'" + new_text.replace("'", "''") + "'"
        else:
            text = _scalar(new_text, flow, self.style.quote)
        return Edit(start, end, text)

    def _value_start(self, node: Any, key: str | int) -> tuple[int, int]:
        """(offset of a value's first character after tag/anchor properties, parent column)."""
        if _is_seq(node):
            position = node.lc.item(key)
            if position is None:
                raise ValueError(f"no position for item {key}")
            line, col = position
            before = self.lines[line][:col].rstrip()  # continuation lines are deeper than the dash
            parent = len(before) - 1 if before.endswith("-") else col
        else:
            kline, kcol, line, col = node.lc.data[key]
            parent = kcol
            value = node[key]
            if value is None or (_tag(value) is not None and not (_is_map(value) or _is_seq(value))):
                # an empty value (`key:`, `key: !reset`) is reported at the next token: find it here
                colon = re.compile(r"[ \t]*:").match(self.text, self._key_end(node, key))
                assert colon is not None
                empty_at = colon.end()  # an empty value sits right after the colon or its tag
                properties = re.compile(r"(?:[ \t]+[!&][^\s,\[\]{}]*)*").match(self.text, empty_at)
                if properties is not None:
                    empty_at = properties.end()
                after = empty_at + len(self.text[empty_at:]) - len(self.text[empty_at:].lstrip(" \t"))
                rest = self.text[after : after + 1]
                if rest in ("", "#", "\r", "\n", ",", "}"):
                    return empty_at, parent
                line, col = self.line_of(after), after - self.line_starts[self.line_of(after)]
            if (line, col) < (kline, kcol) or _is_alias_value(self, node, key):
                # an alias: ruamel reports the anchored node's position; find `*name` after the key
                match = re.compile(r"\s*:[ \t]*").match(self.text, self._key_end(node, key))
                assert match is not None
                return match.end(), parent
        start = self.offset(line, col)
        while self.text[start : start + 1] in ("!", "&"):
            match = re.compile(r"[!&][^\s,\[\]{}]*[ \t]*").match(self.text, start)
            assert match is not None
            start = match.end()
            if start < len(self.text) and self.text[start] in "\r\n":  # properties alone on the line
                nxt = self.line_of(start) + 1
                if nxt < len(self.lines):
                    line_text = self.lines[nxt]
                    start = self.line_starts[nxt] + len(line_text) - len(line_text.lstrip(" "))
        return start, parent

    def _key_end(self, node: Any, key: str | int) -> int:
        line, col = node.lc.key(key)
        start = self.offset(line, col)
        return self._scalar_end(start, flow=True, parent_col=col)

    def _scalar_end(self, start: int, flow: bool, parent_col: int) -> int:
        text = self.text
        char = text[start : start + 1]
        if char == '"':
            i = start + 1
            while i < len(text):
                if text[i] == "\\":
                    i += 2
                    continue
                if text[i] == '"':
                    return i + 1
                i += 1
            return len(text)
        if char == "'":
            i = start + 1
            while i < len(text):
                if text[i] == "'":
                    if text[i + 1 : i + 2] == "'":
                        i += 2
                        continue
                    return i + 1
                i += 1
            return len(text)
        if char in ("", "#", "\r", "\n", ",", "}", "]"):
            return start  # an empty value
        line = self.line_of(start)
        if char in ("|", ">"):
            header_indent = _indent(self.lines[line])
            last = line
            for i in range(line + 1, len(self.lines)):
                body = self.lines[i]
                if not body.strip():
                    continue
                if _indent(body) <= header_indent:
                    break
                last = i
            return self.line_starts[last] + len(self.lines[last])
        # plain scalar
        end = self._plain_end(start, flow)
        if flow:
            return end
        for i in range(line + 1, len(self.lines)):  # continuation lines of a multi-line plain scalar
            body = self.lines[i]
            stripped = body.strip()
            if not stripped:
                continue
            if _indent(body) <= parent_col or stripped.startswith("#"):
                break
            end = self._plain_end(self.line_starts[i] + _indent(body), False)
        return end

    def _plain_end(self, start: int, flow: bool) -> int:
        line = self.line_of(start)
        line_end = self.line_starts[line] + len(self.lines[line])
        text = self.text
        i = start
        end = start
        while i < line_end:
            c = text[i]
            if c == "#" and i > start and text[i - 1] in " \t":
                break
            if flow and c in ",[]{}":
                break
            if flow and c == ":" and (i + 1 >= line_end or text[i + 1] in " \t,[]{}"):
                break
            if c not in " \t":
                end = i + 1
            i += 1
        return end

    def _key_column(self, node: Any) -> int:
        """The column where the entries of a block mapping start: its keys', or the `?` of an
        explicit key (`? image` then `: nginx`), which ruamel.yaml places at the key itself."""
        if node.lc.data:
            columns = []
            for line, col, *_ in node.lc.data.values():
                before = self.lines[line][:col].rstrip(" ")
                columns.append(len(before) - 1 if before.endswith("?") and not before[:-1].strip(" -") else col)
            return int(min(columns))
        start = self.offset(node.lc.line, node.lc.col)
        if self.text[start : start + 1] in ("&", "!"):  # properties before the block: keys start below
            for i in range(node.lc.line + 1, len(self.lines)):
                stripped = self.lines[i].strip()
                if stripped and not stripped.startswith("#"):
                    return _indent(self.lines[i])
        return int(node.lc.col)

    def _first_key_line(self, node: Any) -> int:
        start = self.offset(node.lc.line, node.lc.col)
        if self.text[start : start + 1] in ("&", "!"):
            for i in range(node.lc.line + 1, len(self.lines)):
                stripped = self.lines[i].strip()
                if stripped and not stripped.startswith("#"):
                    return i
        return int(node.lc.line)

    def _dash_position(self, seq: Any) -> tuple[int, int]:
        """(line, column) of a block sequence's first dash."""
        if len(seq):
            line, col = seq.lc.item(0)
            before = self.lines[line][:col].rstrip()
            if before.endswith("-"):
                return line, len(before) - 1
        start = self.offset(seq.lc.line, seq.lc.col)
        if self.text[start : start + 1] in ("&", "!"):
            for i in range(seq.lc.line + 1, len(self.lines)):
                stripped = self.lines[i].strip()
                if stripped and not stripped.startswith("#"):
                    return i, _indent(self.lines[i])
        return int(seq.lc.line), int(seq.lc.col)

    def _block_end(self, node: Any, dash_col: int | None = None, first_line: int | None = None) -> tuple[int, int, bool]:
        """(last content line, first line of the last entry, whether the last line is in a block
        scalar) of a block mapping (or sequence, given its dash column)."""
        if dash_col is None:
            col, first = self._key_column(node), self._first_key_line(node)
            is_seq = False
        else:
            col, first = dash_col, first_line if first_line is not None else int(node.lc.line)
            is_seq = True
        last, entry, in_scalar = _last_content_line(self.lines, first, col, is_seq)
        if entry == first and _indent(self.lines[first]) != col:
            entry = -1  # the entry shares its line with a dash (`- key: |`)
        return last, entry, in_scalar

    def _append_lines(
        self, node: Any, lines: list[str], outer: bool, dash_col: int | None = None, first_line: int | None = None
    ) -> Edit:
        """Add lines at the end of a block collection.

        After its last content line, except when that line ends a block scalar at the very end
        of a file without a final newline: the line break the insertion needs would become part
        of the scalar, so the lines go before the last entry instead.
        """
        last, entry, in_scalar = self._block_end(node, dash_col, first_line)
        if in_scalar and last + 1 == len(self.line_starts) and self.text[-1:] not in ("\n", "\r"):
            if entry < 0:
                raise ValueError("cannot add after a block scalar that ends the file without a newline")
            offset = self.line_starts[entry]
            return Edit(offset, offset, "\n".join(lines) + "\n")
        return self._insert_lines(last, lines, outer)

    def _insert_lines(self, last_line: int, lines: list[str], outer: bool) -> Edit:
        """Insert lines after `last_line`.

        Several collections can end on the same line (a service and its last key's sequence).
        New lines of the outermost mapping (`outer`) go after that line's break, as an insertion;
        new lines of a nested collection replace the line break itself (an edit that ends where
        the outer insertion starts), so they land first whatever order the engine gets them in.
        Two nested collections ending on one line give overlapping edits: the engine applies one
        and proposes the other again on the new text.
        """
        block = "\n".join(lines)
        end_of_text = self.line_starts[last_line] + len(self.lines[last_line])
        if last_line + 1 < len(self.line_starts):
            offset = self.line_starts[last_line + 1]
            if outer:
                return Edit(offset, offset, block + "\n")
            return Edit(end_of_text, offset, "\n" + block + "\n")
        offset = len(self.text)  # the last line of the file, without a final newline
        if outer or offset == 0:
            return Edit(offset, offset, "\n" + block)
        return Edit(offset - 1, offset, self.text[offset - 1] + "\n" + block)

    def _sequence_style(self, node: Any) -> tuple[int, int]:
        """(dash offset, item gap) of block sequences in this mapping, else the file's."""
        col = None
        for key, value in node.non_merged_items():
            if _is_seq(value) and len(value) and not _is_flow(value) and not _is_alias_value(self, node, key):
                col = col if col is not None else self._key_column(node)
                line, dash = self._dash_position(value)
                return dash - col, value.lc.item(0)[1] - dash
        return self.style.seq_offset, self.style.seq_gap

    def _item_quote(self, seq: Any) -> str:
        """The quote character of the sequence's last item when it is quoted, else ''."""
        if not len(seq):
            return ""
        try:
            style = self.scalar_style(seq, len(seq) - 1)
        except ValueError:
            return ""
        return style if style in ("'", '"') else ""

    def _add_flow_entry(self, node: Any, key: str, value: Any, comments: dict[str, str]) -> Edit:
        entry = _scalar(key, True, self.style.quote) + ": " + _flow_value(value, self.style.quote)
        return self._flow_insert(node, "{", entry, _flow_comment(value, comments, key))

    def _extend_flow(self, seq: Any, items: list[Any], comments: dict[str, str]) -> Edit:
        quote = self._item_quote(seq)
        rendered = ", ".join(_scalar(i, True, quote or self.style.quote, force=bool(quote)) for i in items)
        return self._flow_insert(seq, "[", rendered, _flow_comment(items, comments, None))

    def _flow_insert(self, node: Any, opener: str, entry: str, note: str) -> Edit:
        """Add `entry` (one or more rendered entries) at the end of a flow collection.

        One line: `, entry` before the closing bracket. A collection written one entry per line
        with a trailing comma and the bracket on a line of its own gets a new line `entry,`. A
        comment (`note`) is appended after the closing bracket when nothing follows it. An empty
        collection whose brackets are on different lines gets a new line before the closing one,
        indented one step deeper than the line that opens it. In an empty collection (`{}`, `[]`)
        the edit replaces the closing bracket, so that two edits
        filling it overlap (the engine applies one, then proposes the other on the new text)
        instead of running together; within one fix, add to an empty collection in one call.
        """
        start = self.offset(node.lc.line, node.lc.col)
        while self.text[start] != opener:
            start += 1
        end, last = _flow_end(self.text, start)
        close = end - 1
        close_line = self.line_of(close)
        before_close = self.text[self.line_starts[close_line] : close]
        if last == start + 1:  # empty
            if close_line != self.line_of(start):  # `{` and `}` on lines of their own: a new line between
                offset = self.line_starts[close_line]
                pad = " " * (_indent(self.lines[self.line_of(start)]) + self.style.indent)
                return Edit(offset, end, pad + entry + note + "\n" + self.text[offset:end])
            tail = note if note and self._line_tail_empty(end) else ""
            return Edit(last, end, entry + self.text[last:end] + tail)
        if self.text[last - 1] == ",":
            if self.line_of(last) != close_line and not before_close.strip() and not note:
                indent = _indent(self.lines[self.line_of(last - 1)])
                offset = self.line_starts[close_line]
                return Edit(offset, offset, " " * indent + entry + ",\n")
            text = " " + entry + ","  # keep the trailing comma style: `[a, b,]` -> `[a, b, c,]`
        else:
            text = ", " + entry
        if note and self._line_tail_empty(end) and self.line_of(last) == close_line:
            return Edit(last, end, text + self.text[last:end] + note)
        return Edit(last, last, text)

    def _line_tail_empty(self, offset: int) -> bool:
        line = self.line_of(offset)
        tail = self.text[offset : self.line_starts[line] + len(self.lines[line])]
        return not tail.strip()


# --- parsing ---------------------------------------------------------------------------


def parse(path: str, text: str) -> ComposeDocument:
    """Parse one Compose file (text without BOM); DocumentError for what harden refuses."""
    if text.startswith("\ufeff"):
        raise ValueError("remove the byte order mark first (harden.engine.decode does)")
    if "\r" in text and re.search(r"\r(?!\n)", text):
        raise DocumentError(1, "lone CR line breaks are not supported; use LF or CRLF")
    line_starts, lines = _split_lines(text)
    data = _ruamel_load(text)
    if not _is_map(data):
        kind = "empty" if data is None else "a sequence" if _is_seq(data) else "a scalar"
        raise DocumentError(1, f"not a Compose file: the top level is {kind}, not a mapping")
    services = data.get("services")
    if services is None and "services" not in data:
        if "include" not in data:
            raise DocumentError(1, "not a Compose file: no top-level services: mapping")
    elif not _is_map(services):
        line, col = data.lc.key("services")
        raise DocumentError(line + 1, "services: is not a mapping", col + 1)
    try:
        return ComposeDocument(path, text, data, (line_starts, lines))
    except RecursionError:
        raise DocumentError(1, "nesting too deep for harden") from None


@cache
def _constructor() -> Any:
    """ruamel.yaml's round-trip constructor, but items of tagged sequences (`!override [a]`)
    get their positions too (ruamel builds those with the position-less safe constructor)."""
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.nodes import SequenceNode

    class Constructor(RoundTripConstructor):
        def construct_unknown(self, node: Any) -> Any:
            if not isinstance(node, SequenceNode):
                yield from super().construct_unknown(node)
                return
            data = CommentedSeq()
            data._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
            if node.flow_style is True:
                data.fa.set_flow_style()
            elif node.flow_style is False:
                data.fa.set_block_style()
            data.yaml_set_ctag(node.ctag)
            yield data
            if node.anchor:
                data.yaml_set_anchor(node.anchor)
            data.extend(self.construct_rt_sequence(node, data, deep=True))

    Constructor.add_constructor(None, Constructor.construct_unknown)
    return Constructor


def _ruamel_load(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.parser import Parser
    from ruamel.yaml.reader import ReaderError
    from ruamel.yaml.scanner import Scanner

    yaml = YAML(typ="rt")
    # comments are read from the text, not from the tree: the plain scanner and parser are
    # 20% faster than the round-trip ones and give the same nodes and positions
    yaml.Scanner, yaml.Parser = Scanner, Parser
    yaml.Constructor = _constructor()
    yaml.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a reused anchor: later definitions win, as in Compose
            return yaml.load(text)
    except MarkedYAMLError as error:
        raise _yaml_error(text, error) from None
    except ReaderError as error:  # a character YAML does not allow anywhere (ruamel gives its offset)
        position = int(error.position)
        column = position - (text.rfind("\n", 0, position) + 1)
        message = f"invalid YAML: the control character U+{int(error.character):04X} is not allowed in YAML; remove it"
        raise DocumentError(text.count("\n", 0, position) + 1, message, column + 1) from None
    except YAMLError as error:  # pragma: no cover - ruamel raises marked errors for other input problems
        raise DocumentError(1, f"invalid YAML: {error}") from None
    except RecursionError:
        raise DocumentError(1, "nesting too deep for harden") from None
    except Exception as error:  # ruamel.yaml itself fails on some broken input (a merge of a null alias)
        raise DocumentError(1, f"cannot read this YAML ({type(error).__name__}: {error})") from None


def _yaml_error(text: str, error: Any) -> DocumentError:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 0)
    problem = str(error.problem or error.context or "invalid YAML")
    name = type(error).__name__
    if name == "DuplicateKeyError":
        match = re.search(r'duplicate key "([^"]*)"', problem)
        key = match.group(1) if match else "?"
        return DocumentError(line, f"duplicate key {key!r}", column)
    if "another document" in problem or "expected a single document" in str(error):
        return DocumentError(line, "more than one YAML document: a Compose file holds one", column)
    tab = _first_tab_indent(text, line)
    if tab is not None:
        return DocumentError(tab, "tab used for indentation (YAML allows only spaces)", 1)
    if "'\\t' that cannot start any token" in problem:
        return DocumentError(
            line,
            "a tab outside quotes, which harden's YAML parser (ruamel.yaml) does not read after a value or inside an "
            "unquoted one; use spaces, or quote the value",
            column,
        )
    ambiguous = _AMBIGUOUS.search(text)
    if ambiguous is not None and ambiguous.group() != "\ufeff":
        name, why, escape = _AMBIGUOUS_CHARACTERS[ambiguous.group()]
        where = text.count("\n", 0, ambiguous.start()) + 1
        problem += f" (line {where} holds a raw {name}: {why}; remove it, or write it as \\{escape} in double quotes)"
    return DocumentError(line, f"invalid YAML: {problem}", column)


def _first_tab_indent(text: str, until: int) -> int | None:
    for number, line in enumerate(text.split("\n")[:until], 1):  # lines as ruamel.yaml counts them
        head = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in head and line.strip():
            return number
    return None


# --- validation ------------------------------------------------------------------------


@cache
def _validator() -> Any:
    import json

    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft7Validator(schema)


def schema_problems(data: Any) -> list[tuple[DocPath, str]]:
    """Compose Specification schema errors of plain data: (the path of what is wrong, a message
    naming it and what the schema wants)."""
    return [found for error in _validator().iter_errors(_jsonable(data)) for found in _explain(error)]


_TYPE_NAMES = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _explain(error: Any) -> list[tuple[DocPath, str]]:
    """jsonschema's error in words a Compose user reads: `services.web.cap_drop must be a list,
    not 'ALL'`; an unknown key at the key; for a choice (`oneOf`), the error of the branch whose
    type the value has, else the types it may have."""
    path: DocPath = tuple(error.absolute_path)
    if error.validator == "type":
        return [(path, f"{_dotted(path)} must be {_wanted(error.validator_value)}, not {_shown(error.instance)}")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
        hint = " (the names of extension keys start with x-)" if "^x-" in patterns else ""
        return [((*path, k), f"{_dotted((*path, k))}: the Compose Specification has no key {k!r} here{hint}") for k in extra]
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        wrong_type = {i for i, subs in branches.items() if any(s.validator == "type" and not s.relative_path for s in subs)}
        matching = [subs for i, subs in branches.items() if i not in wrong_type]
        if len(matching) == 1:
            return [found for sub in matching[0] for found in _explain(sub)]
        types = [s.validator_value for subs in branches.values() for s in subs if s.validator == "type" and not s.relative_path]
        if types and not matching:
            return [(path, f"{_dotted(path)} must be {_wanted(types)}, not {_shown(error.instance)}")]
    return [(path, f"{_dotted(path)}: {error.message}")]


def _dotted(path: DocPath) -> str:
    return ".".join(map(str, path)) or "the top level"


def _wanted(types: Any) -> str:
    names: list[str] = []
    for item in types if isinstance(types, list) else [types]:
        for name in item if isinstance(item, list) else [item]:
            said = _TYPE_NAMES.get(str(name), str(name))
            if said not in names:
                names.append(said)
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_output(before: ComposeDocument, after: ComposeDocument) -> list[str]:
    """Problems with an output (empty: fine). It parsed already (the engine re-parses); no service
    may disappear, and it must validate against the Compose Specification schema (the input did:
    the engine fixes no file with `problems`)."""
    problems: list[str] = []
    missing = set(before.services) - set(after.services)
    if missing:
        problems.append("services disappeared: " + ", ".join(sorted(missing)))
    problems.extend(f"compose schema: {p.message}" for p in after.problems)
    return problems


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --- override files --------------------------------------------------------------------


def merge(nodes: list[Any]) -> dict[str, Any]:
    """One service's mappings merged in order, as Compose merges override files and `extends`
    (compose-go override.Merge; loader/extends.go uses the same merge for a service and the
    one it extends): later mappings win.

    Mappings merge key by key; MAPPING_KEYS (environment, labels, ...) merge by name whether
    written as mappings or `NAME=value` lists (the result is a mapping); the sequences in
    APPEND_KEYS (ports, volumes, cap_add, ...) are appended without duplicates (Compose appends,
    then de-duplicates cap_add, cap_drop, tmpfs, ports, volumes, expose and dns_opt, but rejects a
    repeated security_opt item, `security_opt items at 0 and 1 are equal`: measured with Docker
    Compose 2.40.3, see tests/test_compose_extends.py); other values, nested
    sequences included, are replaced; `!reset` removes a key, `!override` replaces it. The
    `extends` key itself is consumed by the merge and is absent from the result.
    """
    merged: dict[str, Any] = {}
    for node in nodes:
        _overlay(merged, node, top=True)
    merged.pop("extends", None)
    return merged


def _overlay(base: dict[str, Any], node: Any, top: bool) -> None:
    for key in node:
        value = node[key]
        tag = _tag(value)
        if tag == "!reset":
            base.pop(key, None)
            continue
        plain = _plain(value, {})
        old = base.get(key)
        if tag == "!override" or key not in base:
            base[key] = plain
        elif top and key in MAPPING_KEYS and isinstance(old, (dict, list)) and isinstance(plain, (dict, list)):
            base[key] = {**_as_mapping(old), **_as_mapping(plain)}
        elif isinstance(old, dict) and _is_map(value):
            _overlay(old, value, top=False)
        elif top and key in APPEND_KEYS and isinstance(old, list) and isinstance(plain, list):
            old.extend(item for item in plain if item not in old)
        else:
            base[key] = plain


def _as_mapping(value: Any) -> dict[str, Any]:
    """`environment`-style values as a mapping: ["A=1", "B"] -> {"A": "1", "B": None}."""
    if isinstance(value, dict):
        return dict(value)
    result: dict[str, Any] = {}
    for item in value:
        name, sep, rest = str(item).partition("=")
        result[name] = rest if sep else None
    return result


# --- the tree ----------------------------------------------------------------------------


def _is_map(value: Any) -> bool:
    return isinstance(value, dict)


def _is_seq(value: Any) -> bool:
    return isinstance(value, list)


def _is_flow(node: Any) -> bool:
    fmt = getattr(node, "_yaml_format", None)
    if fmt is not None and fmt.flow_style():
        return True
    return (_is_map(node) or _is_seq(node)) and not len(node)  # `{}` and `[]` are flow


def _tag(value: Any) -> str | None:
    tag = getattr(value, "_yaml_tag", None)
    if tag is None:
        return None
    text = getattr(tag, "value", None)
    return str(text) if text is not None else None


def _anchor_name(node: Any) -> str | None:
    anchor = getattr(node, "_yaml_anchor", None)
    return str(anchor.value) if anchor is not None and anchor.value else None


def _merges(node: Any) -> list[Any]:
    merge = getattr(node, "_yaml_merge", None)
    if merge is None:
        return []
    return list(getattr(merge, "value", merge))


def _key_owner(node: Any, key: Any, seen: set[int]) -> Any:
    """The mapping that writes `key` for `node`: itself, or the merged mapping it comes from."""
    if _own(node, key):
        return node
    seen.add(id(node))
    for merged in _merges(node):
        if id(merged) not in seen and key in merged:
            owner = _key_owner(merged, key, seen)
            if owner is not None:
                return owner
    return None


def _own(node: Any, key: Any) -> bool:
    ok = getattr(node, "_ok", None)
    return key in ok if ok is not None else key in node


def _is_alias_value(document: ComposeDocument, node: Any, key: Any) -> bool:
    """Whether a mapping value (or sequence item) is written as `*alias`."""
    if _is_seq(node):
        position = node.lc.item(key)
        if position is None:
            raise ValueError(f"no position for item {key}")
        line, col = position
        return document.text[document.offset(line, col) : document.offset(line, col) + 1] == "*" or (
            (line, col) < (node.lc.line, node.lc.col)
        )
    data = node.lc.data.get(key)
    if data is None:
        return False
    kline, kcol, vline, vcol = data
    if (vline, vcol) < (kline, kcol):
        return True
    start = document.offset(vline, vcol)
    if document.text[start : start + 1] == "*":
        return True
    value = node[key]
    return bool((_is_map(value) or _is_seq(value)) and (value.lc.line, value.lc.col) < (kline, kcol))


def _plain(value: Any, memo: dict[int, Any]) -> Any:
    """ruamel round-trip data to plain Python (shared nodes stay shared)."""
    if isinstance(value, dict):
        known = memo.get(id(value))
        if known is not None:
            return known
        result: dict[Any, Any] = {}
        memo[id(value)] = result
        for key in value:
            item = value[key]
            if _tag(item) == "!reset":
                continue
            result[_plain(key, memo)] = _plain(item, memo)
        return result
    if isinstance(value, list):
        known = memo.get(id(value))
        if known is not None:
            return known
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(_plain(item, memo) for item in value)
        return items
    if value is None or type(value) in (str, int, float, bool):
        return value
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
        return tuple(_plain(v, memo) for v in value)
    if isinstance(value, (set, frozenset)) or name == "CommentedSet":
        return sorted(map(str, value))
    return value  # timestamps and other rare scalars stay what ruamel made of them


class _Walker:
    """One pass over the distinct nodes: alias expansion size, anchors, and the file's style."""

    def __init__(self, document: ComposeDocument) -> None:
        self.document = document
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.distinct = 0
        self.indents: Counter[int] = Counter()
        self.offsets: Counter[tuple[int, int]] = Counter()
        self.flow = 0
        self.block = 0
        self.large: list[tuple[int, Any]] = []  # (expanded size, node) over MAX_ALIAS_EXPANSION, deepest first

    def run(self) -> Style:
        document = self.document
        total = self.size(document.data, ())
        limit = max(MAX_ALIAS_EXPANSION, ALIAS_EXPANSION_RATIO * self.distinct)
        if total - self.distinct > limit:
            node = next((n for size, n in self.large if size > limit), document.data)
            raise DocumentError(
                int(node.lc.line) + 1,
                f"aliases expand this document to {total} nodes from {self.distinct} (over {limit} more): "
                "refused as an anchor bomb",
                int(node.lc.col) + 1,
            )
        for name, service in document.services.items():
            for merged in _merges(service.node):
                anchor = _anchor_name(merged)
                if anchor and anchor in document._anchors and document._anchors[anchor].node is merged:
                    document._anchors[anchor].merged_by.append(name)
        text = document.text
        doubles = len(re.findall(r'(?:^|[\s\[{,:-])"', text, re.M))
        singles = len(re.findall(r"(?:^|[\s\[{,:-])'", text, re.M))
        indent = self.indents.most_common(1)[0][0] if self.indents else 2
        offset, gap = self.offsets.most_common(1)[0][0] if self.offsets else (2, 2)
        return Style(
            indent=indent,
            seq_offset=offset,
            seq_gap=gap,
            flow_sequences=self.flow > self.block,
            quote="'" if singles > doubles else '"',
        )

    def size(self, node: Any, path: tuple[str | int, ...]) -> int:
        """Nodes of the fully expanded subtree; distinct nodes are visited once."""
        if not (_is_map(node) or _is_seq(node)):
            self.distinct += 1
            return 1
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.active:
            line = int(node.lc.line) + 1
            raise DocumentError(line, "recursive alias: a node contains itself", int(node.lc.col) + 1)
        if len(self.active) >= MAX_DEPTH:
            raise DocumentError(int(node.lc.line) + 1, f"nesting deeper than {MAX_DEPTH} levels", int(node.lc.col) + 1)
        self.active.add(id(node))
        self.distinct += 1
        total = 1
        if _is_map(node):
            name = _anchor_name(node)
            if name is not None:
                line = self.document._first_key_line(node) if not _is_flow(node) else int(node.lc.line)
                self.document._anchors[name] = AnchorInfo(name, node, line + 1, path)
            own = node._ok if hasattr(node, "_ok") else set(node)
            for key in node:
                value = node[key]
                if key in own:
                    self._style(node, key, value)
                total += 1 + self.size(value, (*path, str(key)))
        else:
            for index, value in enumerate(node):
                total += self.size(value, (*path, index))
        self.active.discard(id(node))
        self.sizes[id(node)] = total
        if total > MAX_ALIAS_EXPANSION:
            self.large.append((total, node))
        return total

    def _style(self, node: Any, key: Any, value: Any) -> None:
        if not (_is_map(value) or _is_seq(value)) or _is_flow(node):
            return
        data = node.lc.data.get(key)
        if data is None:
            return
        kline, kcol, vline, vcol = data
        if (vline, vcol) <= (kline, kcol) or (value.lc.line, value.lc.col) < (kline, kcol):
            return  # an alias
        if _is_flow(value):
            if _is_seq(value) and all(not isinstance(v, (dict, list)) for v in value):
                self.flow += 1
            return
        if _is_map(value):
            if value.lc.data:
                col = min(c for _, c, *_ in value.lc.data.values())
                if col > kcol:
                    self.indents[col - kcol] += 1
            return
        if len(value) and value.lc.item(0) is not None:
            if all(not isinstance(v, (dict, list)) for v in value):
                self.block += 1
            line, col = value.lc.item(0)
            before = self.document.lines[line][:col].rstrip()
            if before.endswith("-"):
                dash = len(before) - 1
                if dash >= kcol:
                    self.offsets[(dash - kcol, col - dash)] += 1


# --- text --------------------------------------------------------------------------------


def _split_lines(text: str) -> tuple[list[int], list[str]]:
    """Line start offsets and line texts (without line breaks), breaking where ruamel does."""
    starts = [0]
    lines = []
    position = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[position : match.start()])
        position = match.end()
        starts.append(position)
    lines.append(text[position:])
    return starts, lines


def _places(paths: list[DocPath]) -> str:
    return ", ".join(_dotted(p) for p in paths)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _last_content_line(lines: list[str], first: int, col: int, is_seq: bool) -> tuple[int, int, bool]:
    """(last line, first line of the last entry, whether the last line is in a block scalar) of
    the block collection whose entries start at `col` from line `first`.

    A block ends at the first line (not blank, not a comment, not inside a block scalar, a
    multi-line quoted scalar or a multi-line flow collection) that is indented less than its
    entries, or, for a sequence, that is level with its dashes but is not an item. Blank lines
    at its end are not part of it (unless they end a block scalar that keeps them, `|+`), nor
    are comment lines there unless they are indented deeper than its entries (a commented-out
    item of the last entry).
    """
    last = entry = first
    in_scalar = False
    header = _BLOCK_HEADER.search(lines[first])
    scalar_indent = _indent(lines[first]) if header else None
    keep = bool(header and "+" in header.group(1))
    quote, depth = _line_state(lines[first], "", 0)
    end = len(lines) - 1 if lines[-1] == "" else len(lines)  # an empty last "line" is the text after its final newline
    for i in range(first + 1, end):
        line = lines[i]
        stripped = line.strip()
        if quote or depth:  # inside a quoted scalar or flow collection that spans lines
            quote, depth = _line_state(line, quote, depth)
            if stripped:
                last, in_scalar = i, False
            continue
        if scalar_indent is not None:
            if not stripped:
                if keep:
                    last, in_scalar = i, True
                continue
            if _indent(line) > scalar_indent:
                last, in_scalar = i, True
                continue
            scalar_indent = None
        if not stripped:
            continue
        indent = _indent(line)
        if stripped.startswith("#"):
            if indent > col:
                last, in_scalar = i, False  # a comment inside the last entry (a commented-out item or key)
            continue
        if indent == 0 and (stripped in ("---", "...") or stripped.startswith(("--- ", "... "))):
            break
        if indent < col:
            break
        if is_seq and indent == col and not (stripped == "-" or stripped.startswith(("- ", "-\t"))):
            break
        last, in_scalar = i, False
        if indent == col and (is_seq or not (stripped == "-" or stripped.startswith(("- ", "-\t")))):
            entry = i  # (a dash level with a mapping's keys is an item of its last entry's sequence)
        quote, depth = _line_state(line, quote, depth)
        header = _BLOCK_HEADER.search(line)
        if header and not (quote or depth):
            scalar_indent, keep = indent, "+" in header.group(1)
    return last, entry, in_scalar


def _line_state(line: str, quote: str, depth: int) -> tuple[str, int]:
    """The open quote ('', '"' or "'") and flow depth at the end of a line, from those at its start.

    A quote or bracket opens a scalar or collection only where a token starts (after `key: `,
    `- `, `? `, at the start of the line, or after `[`, `{`, `,` or `:` inside a flow collection),
    so `echo "hi` and `a[0]` in plain scalars open nothing."""
    if not quote and not depth and not any(c in line for c in "\"'[{"):
        return quote, depth
    i, n = 0, len(line)
    previous = ""  # the previous significant character on this line
    while i < n:
        c = line[i]
        if quote:
            if quote == '"' and c == "\\":
                i += 2
                continue
            if c == quote:
                if quote == "'" and line[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                quote, previous = "", c
            i += 1
            continue
        if c in " \t":
            i += 1
            continue
        spaced = i == 0 or line[i - 1] in " \t"
        if c == "#" and spaced:
            break
        if c in "&!" and spaced:  # properties (`&anchor`, `!tag`) do not change where a token starts
            while i < n and line[i] not in " \t":
                i += 1
            continue
        starts = (spaced and previous in ("", ":", "-", "?")) or (depth > 0 and previous in ("[", "{", ",", ":"))
        if c in "\"'" and starts:
            quote = c
        elif c in "[{" and (starts or depth > 0):
            depth += 1
        elif c in "]}" and depth > 0:
            depth -= 1
        previous = c
        i += 1
    return quote, depth


def _flow_end(text: str, start: int) -> tuple[int, int]:
    """(offset just past the bracket closing the flow collection opened at `start`, offset just
    past its last character that is not whitespace or comment)."""
    depth = 0
    i = start
    n = len(text)
    last = start + 1
    while i < n:
        c = text[i]
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1, last
        elif c in "\"'" and text[i - 1] in " \t\r\n[{,:":
            quote = c
            i += 1
            while i < n:
                if quote == '"' and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == quote:
                    if quote == "'" and text[i + 1 : i + 2] == "'":
                        i += 2
                        continue
                    break
                i += 1
        elif c == "#" and text[i - 1] in " \t\r\n":
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if c not in " \t\r\n":
            last = min(i + 1, n)
        i += 1
    return n, last


# --- rendering ---------------------------------------------------------------------------


def plain_ok(value: str, flow: bool = False) -> bool:
    """Whether `value` can be written as a plain scalar and read back as the same string."""
    if not value or value != value.strip() or re.match(_NOT_STRING, value, re.VERBOSE):
        return False
    if any(c in value for c in "\n\r\t") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    first = value[0]
    if first in _INDICATORS and not (first in "-?:" and len(value) > 1 and value[1] not in " ,[]{}"):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    return not (flow and any(c in value for c in ",[]{}:"))


def _double_quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    escaped = "".join(c if ord(c) >= 32 and ord(c) != 127 else f"\\x{ord(c):02x}" for c in escaped)
    return '"' + escaped + '"'


def _scalar(value: Any, flow: bool, quote: str, force: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if not force and plain_ok(text, flow):
        return text
    if quote == "'" and not any(ord(c) < 32 for c in text):
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def _comment(comments: dict[str, str], item: Any) -> str:
    note = comments.get(str(item))
    if not note:
        return ""
    return "  # " + " ".join(note.split())


def _flow_value(value: Any, quote: str) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v, True, quote) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k, True, quote)}: {_scalar(v, True, quote)}" for k, v in value.items()) + "}"
    return _scalar(value, True, quote)


def _flow_comment(value: Any, comments: dict[str, str], key: str | None) -> str:
    if not comments:
        return ""
    items = value if isinstance(value, (list, dict)) else [key]
    notes = [f"{item}: {' '.join(comments[str(item)].split())}" for item in items if comments.get(str(item))]
    return "  # " + "; ".join(notes) if notes else ""


def _render_entry(
    key: str,
    value: Any,
    col: int,
    style: Style,
    seq_offset: int,
    seq_gap: int,
    use_flow: bool,
    comments: dict[str, str],
) -> list[str]:
    pad = " " * col
    head = pad + _scalar(key, False, style.quote) + ":"
    if isinstance(value, list):
        if use_flow or not value:
            return [head + " " + _flow_value(value, style.quote) + _flow_comment(value, comments, None)]
        dash = " " * (col + seq_offset) + "-" + " " * max(seq_gap - 1, 1)
        return [head] + [dash + _scalar(item, False, style.quote) + _comment(comments, item) for item in value]
    if isinstance(value, dict):
        if not value:
            return [head + " {}"]
        inner = " " * (col + style.indent)
        lines = [head]
        for k, v in value.items():
            lines.append(inner + _scalar(k, False, style.quote) + ": " + _scalar(v, False, style.quote) + _comment(comments, k))
        return lines
    return [head + " " + _scalar(value, False, style.quote) + _comment(comments, key)]
