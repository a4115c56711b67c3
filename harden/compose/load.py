"""Loading a Compose file's text into ruamel.yaml's round-trip tree, and saying plainly why
not: the only place harden calls ruamel.yaml's loader.

ruamel.yaml is the one loader (a faster line-based loader was measured and deleted: see
harden.compose). It runs with the plain scanner and parser, not the round-trip ones: comments
are read from the text, not the tree, and the plain ones are 20% faster and give the same nodes
and positions. Every refusal is a DocumentError with a 1-based line (and column): invalid YAML,
duplicate keys, more than one document, a tab used for indentation, a control character, lone
CR line breaks, a top level that is not a mapping or has no `services:` mapping (a file with
only `include:` is accepted). A service that is not a mapping is refused by the document
(harden.compose.document), alias expansion and nesting depth on the tree (harden.compose.walk).
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from typing import Any

from harden.compose.tree import is_map, is_seq
from harden.model import DocumentError

# Characters that Docker Compose's YAML parser and ruamel.yaml read differently: (name, how, escape).
_BREAK_TO_COMPOSE = "Docker Compose's YAML parser takes it for a line break, YAML 1.2 for a character"
AMBIGUOUS_CHARACTERS = {
    "\x85": ("U+0085 (NEL)", _BREAK_TO_COMPOSE, "N"),
    "\u2028": ("U+2028 (line separator)", _BREAK_TO_COMPOSE, "L"),
    "\u2029": ("U+2029 (paragraph separator)", _BREAK_TO_COMPOSE, "P"),
    "\ufeff": ("U+FEFF (byte order mark)", "Docker Compose's YAML parser counts it as a column, ruamel.yaml does not", "uFEFF"),
}
AMBIGUOUS = re.compile("[" + "".join(AMBIGUOUS_CHARACTERS) + "]")


def load(text: str) -> Any:
    """The tree of one Compose file (text without BOM), its top level checked: a mapping, with a
    `services:` mapping (or an `include:`); DocumentError for what harden refuses."""
    if text.startswith("\ufeff"):
        raise ValueError("remove the byte order mark first (harden.engine.decode does)")
    if "\r" in text and re.search(r"\r(?!\n)", text):
        raise DocumentError(1, "lone CR line breaks are not supported; use LF or CRLF")
    data = _ruamel_load(text)
    if not is_map(data):
        kind = "empty" if data is None else "a sequence" if is_seq(data) else "a scalar"
        raise DocumentError(1, f"not a Compose file: the top level is {kind}, not a mapping")
    services = data.get("services")
    if services is None and "services" not in data:
        if "include" not in data:
            raise DocumentError(1, "not a Compose file: no top-level services: mapping")
    elif not is_map(services):
        line, col = data.lc.key("services")
        raise DocumentError(line + 1, "services: is not a mapping", col + 1)
    return data


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
    ambiguous = AMBIGUOUS.search(text)
    if ambiguous is not None and ambiguous.group() != "\ufeff":
        name, why, escape = AMBIGUOUS_CHARACTERS[ambiguous.group()]
        where = text.count("\n", 0, ambiguous.start()) + 1
        problem += f" (line {where} holds a raw {name}: {why}; remove it, or write it as \\{escape} in double quotes)"
    return DocumentError(line, f"invalid YAML: {problem}", column)


def _first_tab_indent(text: str, until: int) -> int | None:
    for number, line in enumerate(text.split("\n")[:until], 1):  # lines as ruamel.yaml counts them
        head = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in head and line.strip():
            return number
    return None
