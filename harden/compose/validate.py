"""Whether Docker Compose reads a file as harden does: the Compose Specification schema, and
text that YAML parsers read differently (`problems`, which make a file read but never fixed).

Decisions
---------
* Read, but never fixed (`ComposeDocument.problems`, `.fixable`; the engine applies no fix to
  such a file and the compose-schema rule reports each problem at its own line and column, as
  ruff reports a syntax error and fixes nothing): a document that does not validate against the
  Compose Specification schema (harden/schemas/compose-spec.json, Draft 7; `x-` keys are free,
  as the schema says); raw U+0085 (NEL), U+2028, U+2029 or U+FEFF characters; a `%YAML`
  directive other than 1.1, which Docker Compose refuses. Docker Compose's YAML parser (go-yaml,
  YAML 1.1 rules) takes the first three characters for line breaks and counts the last as a
  column; ruamel.yaml (YAML 1.2 positions) does neither, so the two read such a file
  differently and no edit can be placed for both (`X: a<NEL>b` is `a b` to one and an error to
  the other; written as escapes in double quotes, `"\\N"`, they are fine). A YAML error that
  such a character causes says so. Lines here are the lines ruamel.yaml counts: they end at LF
  or CRLF only.
* Validation of an output (`validate_output`): no service may disappear, and it must validate
  against the schema (the input did: a file with problems is never edited).
* Two validators, one verdict. jsonschema (pure Python) explains errors well (each error's
  keyword, value and `oneOf` branches, which `_explain` turns into words), but importing it and
  building its validator costs about 320 million instructions, a third of `harden check` on the
  demo project (callgrind). jsonschema-rs (compiled) answers valid-or-not for about a tenth of
  that. So a document is first asked of jsonschema-rs, and only one it calls invalid (rare: most
  files are valid) goes to jsonschema for the errors. jsonschema has the last word: a document
  jsonschema-rs calls invalid and jsonschema finds no error in is valid. The other way round
  would hide an error, so tests/test_schema_gate.py checks on the corpus, every fixture and
  generated variants of them that whatever jsonschema-rs accepts, jsonschema accepts too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden.compose.load import AMBIGUOUS, AMBIGUOUS_CHARACTERS

if TYPE_CHECKING:
    from harden.compose.document import ComposeDocument

SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "compose-spec.json"
DocPath = tuple[str | int, ...]  # a path into the document, e.g. ("services", "web", "ports", 0)


@dataclass(frozen=True)
class Problem:
    """Why harden fixes nothing in a file: where (1-based) and what is wrong, with what is wanted."""

    line: int
    column: int
    message: str
    schema: bool = True  # a schema error (Docker Compose rejects the file); else text YAML parsers read differently


def text_problems(document: ComposeDocument) -> list[Problem]:
    """A `%YAML` directive other than 1.1, and raw characters YAML parsers read differently."""
    problems = []
    for match in re.finditer(r"^%YAML[ \t]+(\S+)", document.text, re.M):
        if match.group(1) != "1.1":
            message = f"%YAML {match.group(1)}: Docker Compose's YAML parser accepts only %YAML 1.1; remove the directive"
            problems.append(Problem(document.line_of(match.start()) + 1, 1, message, schema=False))
    for match in AMBIGUOUS.finditer(document.text):
        line = document.line_of(match.start())
        name, why, escape = AMBIGUOUS_CHARACTERS[match.group()]
        message = (
            f"a raw {name} character: {why}, so the two read this file differently; remove it, or write it "
            f'as "\\{escape}" inside a double-quoted string'
        )
        problems.append(Problem(line + 1, match.start() - document.line_starts[line] + 1, message, schema=False))
    return problems


@cache
def _gate() -> Any:
    """jsonschema-rs's validator: valid or not, fast (see the module docstring)."""
    import json

    import jsonschema_rs

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema_rs.Draft7Validator(schema, validate_formats=False)


@cache
def _validator() -> Any:
    import json

    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft7Validator(schema)


def schema_problems(data: Any) -> list[tuple[DocPath, str]]:
    """Compose Specification schema errors of plain data: (the path of what is wrong, a message
    naming it and what the schema wants)."""
    plain = _jsonable(data)
    if _gate().is_valid(plain):
        return []
    return [found for error in _validator().iter_errors(plain) for found in _explain(error)]


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
        return [(path, f"{dotted(path)} must be {_wanted(error.validator_value)}, not {_shown(error.instance)}")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
        hint = " (the names of extension keys start with x-)" if "^x-" in patterns else ""
        return [((*path, k), f"{dotted((*path, k))}: the Compose Specification has no key {k!r} here{hint}") for k in extra]
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
            return [(path, f"{dotted(path)} must be {_wanted(types)}, not {_shown(error.instance)}")]
    return [(path, f"{dotted(path)}: {error.message}")]


def dotted(path: DocPath) -> str:
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
