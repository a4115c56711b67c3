"""Credentials in a service's `env_file:` files, for env-secrets (not a pass).

The engine reads each env file a service names (Context.attached, harden.engine.attached);
here each `NAME=value` line is judged as an `environment:` value is
(harden.passes.compose.credentials), and a credential harden can move is a `Use` with `env_file`
(the file's path relative to the Compose file, where the fix writes it) and `shown`
(`path:line`, for messages). The fix then removes the line from the env file (the file is
replaced whole, through the engine's atomic path, only while it still holds what was read:
harden.model.NewFile `base`) and, where the image reads the `*_FILE` form, sets
`<NAME>_FILE: /run/secrets/<secret>` in the service's `environment:`.

Not moved, reported with the exact change (`Blocked`):

- a file another service of the file also reads (removing the line changes that service too);
- a file outside the Compose file's directory, or named through a variable;
- a value with a `$` (Compose interpolates env files: the value is not what the file says), a
  value over several lines, a name set twice in one file or in two files of the service;
- a name that the Compose file interpolates (`${NAME}`): the file is then also the project's
  `.env`, whose line the interpolation needs;
- a file that is not UTF-8 text harden can parse as Compose does.

A name the service's `environment:` also sets is not the container's value (Compose prefers
`environment:`) and is left alone.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple

from harden.compose import ComposeDocument, Service
from harden.compose.attached import ENV_FILE, Attached, env_files
from harden.compose.interpolate import DotenvError, parse_dotenv
from harden.passes import Context
from harden.passes.compose.credentials import judge
from harden.passes.compose.secret_moves import Use

_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]")


class Blocked(NamedTuple):
    """A credential in an env file that harden reports and does not move."""

    use: Use
    why: str


def uses(document: ComposeDocument, context: Context, service: Service, overridden: set[str]) -> tuple[list[Use], list[Blocked]]:
    """The credentials in the service's env files (less the names `overridden` by its
    `environment:`), and those harden does not move from there."""
    attached = [f for f in context.attached.get(service.name, ()) if f.kind == ENV_FILE]
    entries = env_files(service.get("env_file"))
    if len(attached) != len(entries):  # not read as written here (another file's service of that name)
        return [], []
    line, column = document.service_position(service, "env_file")
    found: list[Use] = []
    blocked: list[Blocked] = []
    seen: dict[str, int] = {}
    for file, (path, _) in zip(attached, entries, strict=True):
        relative = posixpath.normpath(path)
        if relative.startswith(("../", "/")) or relative == ".." or "$" in relative:
            relative = ""
        for name, value, number, why in _credentials(file, relative):
            if name in overridden:
                continue
            seen[name] = seen.get(name, 0) + 1
            verdict = judge(name, value)
            if verdict is None:
                continue
            use = Use(service, name, value, verdict, None, line, column, env_file=relative, shown=f"{file.source}:{number}")
            why = why or _shared(document, service, relative) or _interpolated(document, name)
            (blocked.append(Blocked(use, why)) if why else found.append(use))
    twice = {name for name, count in seen.items() if count > 1}
    blocked += [Blocked(u, f"{u.name} is set in more than one of the service's env files") for u in found if u.name in twice]
    return [u for u in found if u.name not in twice], blocked


def _credentials(file: Attached, relative: str) -> list[tuple[str, str, int, str]]:
    """(name, value, line, why it is not moved or '') of each setting of the file."""
    if file.text is None:
        return []  # not read: the graph reports why
    text = file.text
    try:
        values = parse_dotenv(text)
    except DotenvError:
        return []  # Compose refuses the file: the graph reports it
    numbers: dict[str, list[int]] = {}
    for number, line in enumerate(text.split("\n"), 1):
        key = _KEY.match(line)
        if key and not line.lstrip().startswith("#"):
            numbers.setdefault(key.group(1), []).append(number)
    found = []
    for name, value in values.items():
        lines = numbers.get(name, [0])
        raw = text.split("\n")[lines[-1] - 1] if lines[-1] else ""
        why = "" if relative else f"{file.source} is not below the Compose file's directory"
        if "$" in raw.partition("=")[2]:  # judged as written, not as interpolated without the project's variables
            value = raw.partition("=")[2].strip().strip("'\"")
        if "$" in value or "\n" in value:
            why = why or "its value uses a variable or spans lines: harden moves only a literal on one line"
        elif len(lines) > 1 or not lines[-1]:
            why = why or f"{name} is set on more than one line of {file.source}"
        found.append((name, value, lines[-1], why))
    return found


def _shared(document: ComposeDocument, service: Service, relative: str) -> str:
    others = [
        name
        for name, other in document.services.items()
        if name != service.name and relative in {posixpath.normpath(p) for p, _ in env_files(other.get("env_file"))}
    ]
    return f"{', '.join(others)} also read{'s' if len(others) == 1 else ''} {relative}" if others else ""


def _interpolated(document: ComposeDocument, name: str) -> str:
    if re.search(rf"\$\{{?{re.escape(name)}(?![A-Za-z0-9_])", document.text):
        return f"the Compose file interpolates ${{{name}}}, which may come from this file"
    return ""


def without(text: str, names: set[str]) -> str:
    """The env file's text without the lines that set `names` (their line endings too)."""
    kept = []
    for line in text.splitlines(keepends=True):
        key = _KEY.match(line)
        if key and key.group(1) in names and not line.lstrip().startswith("#"):
            continue
        kept.append(line)
    return "".join(kept)
