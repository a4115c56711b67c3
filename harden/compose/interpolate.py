"""Compose's interpolation and `.env` files, as `docker compose` reads them (pure: no I/O).

`interpolate(text, variables)` substitutes as compose-go's template package does (checked against
Docker Compose 2.40, `docker-compose config`, in tests/test_compose_interpolate.py): `$VAR` and
`${VAR}`; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset); `${VAR:?error}` and
`${VAR?error}` (an InterpolationError); `${VAR:+alt}` and `${VAR+alt}`; defaults, messages and
alternatives are themselves interpolated (nested `${...}`, evaluated even when not used, as
Compose does); `$$` is a literal `$`; a `$` before anything but a name or `{` is kept; a `${`
that is not a valid substitution is an InterpolationError. An unset variable is the empty string.

`resolve(text, variables)` is how harden reads a value: as `interpolate`, but None when the
result depends on a variable that `variables` does not set (harden never reads the process
environment, so such a variable may hold anything when the project is run) or on an error.
A default stands for an unset variable, as Compose takes it.

`parse_dotenv(text, known)` reads a `.env` (or `--env-file`) file as compose-go's dotenv parser
does: blank lines and `#` comments; `KEY=VALUE` (a key of letters, digits, `_`, `.` and `-`),
`KEY: VALUE` and `export KEY=VALUE`; an unquoted value ends at the end of the line or at ` #`, and is trimmed and interpolated; a
single-quoted value is literal; a double-quoted value may span lines, reads `\\n`, `\\r`,
`\\t`, `\\"`, `\\\\` and `\\$` (a literal `$`), and is interpolated; a line with a key alone
takes the variable from the process environment in Compose, and so sets nothing here; keys
starting with a digit are ignored. Values refer to earlier keys of the file (and `known`: the
files read before it). A file Compose refuses gives a DotenvError with its line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
_KEY = re.compile(r"[\w.-]+")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class InterpolationError(ValueError):
    """A value Compose refuses to interpolate (`${VAR:?message}` unset, or an invalid `${`)."""


class DotenvError(ValueError):
    """A `.env` file Compose refuses: `line` (1-based) and the message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Unknown(Exception):
    """The value depends on a variable harden does not know."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """The text as Compose interpolates it with `variables` (an unset variable is empty)."""
    return _Substitution(variables, strict=False).run(text)


def resolve(text: str, variables: Mapping[str, str]) -> str | None:
    """The text as harden reads it (module docstring): None when it depends on a variable that is
    not set, or when Compose would refuse it."""
    try:
        return _Substitution(variables, strict=True).run(text)
    except (_Unknown, InterpolationError):
        return None


class _Substitution:
    def __init__(self, variables: Mapping[str, str], strict: bool) -> None:
        self.variables = variables
        self.strict = strict

    def lookup(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is None and self.strict:
            raise _Unknown(name)
        return value

    def run(self, text: str) -> str:
        result: list[str] = []
        i = 0
        while i < len(text):
            start = text.find("$", i)
            if start < 0:
                result.append(text[i:])
                break
            result.append(text[i:start])
            value, i = self.variable(text, start)
            result.append(value)
        return "".join(result)

    def variable(self, text: str, start: int) -> tuple[str, int]:
        """The substitution starting at text[start] (a `$`) and where the text goes on."""
        following = text[start + 1 : start + 2]
        if following == "$":
            return "$", start + 2
        if following != "{":
            bare = _NAME.match(text, start + 1)
            if bare is None:
                return "$", start + 1
            return self.lookup(bare.group()) or "", bare.end()
        name = _NAME.match(text, start + 2)
        end = _closing_brace(text, start + 2)
        if name is None or end is None:
            raise InterpolationError(f"invalid interpolation format: {text!r} (you may need to escape a $ with another $)")
        rest = text[name.end() : end]
        if not rest:
            return self.lookup(name.group()) or "", end + 1
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise InterpolationError(f"invalid interpolation format: {text!r} (you may need to escape a $ with another $)")
        return self.apply(name.group(), operator, self.run(rest[len(operator) :])), end + 1

    def apply(self, name: str, operator: str, argument: str) -> str:
        value = self.variables.get(name)
        empty_counts = operator.startswith(":")
        missing = value is None or (empty_counts and value == "")
        if operator in (":-", "-"):
            return argument if missing else value or ""
        if value is None and self.strict:
            raise _Unknown(name)  # `?` and `+` depend on whether it is set
        if operator in (":?", "?"):
            if missing:
                raise InterpolationError(f"required variable {name} is missing a value" + (f": {argument}" if argument else ""))
            return value or ""
        return "" if missing else argument


def _closing_brace(text: str, start: int) -> int | None:
    """The index of the `}` that closes a `${` opened just before `start` (nested `${` counted)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def parse_dotenv(text: str, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a `.env` file sets (module docstring); DotenvError when Compose refuses it."""
    text = text.removeprefix("\ufeff")
    found: dict[str, str] = {}
    scope = dict(known or {})
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        number = index + 1
        statement = lines[index].strip()
        index += 1
        if not statement or statement.startswith("#"):
            continue
        if statement.startswith("export") and statement[6:7].isspace():
            statement = statement[6:].lstrip()
        key, separator, value = _split_key(statement, number)
        if not separator:
            continue  # the process environment's, in Compose: harden does not read it
        value = value.lstrip(" \t\v\f\r")
        if value[:1] in ("'", '"'):
            value, index = _quoted(value, lines, index, number, scope)
        else:
            value = _interpolated(re.split(r"\s#", value, maxsplit=1)[0].rstrip(), scope, number)
        if not key[:1].isdigit():
            found[key] = scope[key] = value
    return found


def _split_key(statement: str, number: int) -> tuple[str, str, str]:
    """(key, separator, rest of the line); separator '' when the line is a key alone."""
    match = re.search(r"[=:]", statement)
    key = (statement if match is None else statement[: match.start()]).rstrip()
    if " " in key or "\t" in key:
        raise DotenvError(number, "key cannot contain a space")
    if not _KEY.fullmatch(key):
        bad = next((c for c in key if not (c.isalnum() or c in "_.-")), key[:1])
        raise DotenvError(number, f"unexpected character {bad!r} in variable name {key!r}")
    if match is None:
        return key, "", ""
    return key, match.group(), statement[match.end() :]


def _quoted(value: str, lines: list[str], index: int, number: int, scope: Mapping[str, str]) -> tuple[str, int]:
    """A quoted value that may go on over the next lines: (its value, the next line's index)."""
    quote = value[0]
    body = value[1:]
    while True:
        end = _closing_quote(body, quote)
        if end is not None:
            break
        if index >= len(lines):
            raise DotenvError(number, f"unterminated quoted value {value}")
        body += "\n" + lines[index]
        index += 1
    body = body[:end]
    if quote == "'":
        return body, index
    return _interpolated(_unescape(body), scope, number), index


def _closing_quote(body: str, quote: str) -> int | None:
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return None


def _unescape(body: str) -> str:
    """A double-quoted value's escapes; `\\$` becomes `$$` (a literal `$` once interpolated)."""
    result: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        following = body[i + 1 : i + 2]
        if char == "\\" and following in _DOUBLE_ESCAPES:
            result.append(_DOUBLE_ESCAPES[following])
            i += 2
        elif char == "\\" and following == "$":
            result.append("$$")
            i += 2
        else:
            result.append(char)
            i += 1
    return "".join(result)


def _interpolated(value: str, scope: Mapping[str, str], number: int) -> str:
    try:
        return interpolate(value, scope)
    except InterpolationError as error:
        raise DotenvError(number, str(error)) from None
