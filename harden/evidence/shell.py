"""What shell text does that hardening depends on: user switching, ownership and mode changes,
file capabilities, writes to absolute paths. Pure: text in, observations out.

Inputs are a script's text (`scan`), a Dockerfile exec-form list or a Compose `command:` /
`entrypoint:` (`scan_argv`, `scan_compose`: a string is split into words as Compose does, then
run without a shell; `sh -c '...'` and `bash -c` strings are scanned inside). Each `Observation`
names the file (`source`, as the caller gives it), the 1-based line within the text, and the
command as written, so that it can be shown as evidence.

What is read:

- user switching: gosu, su-exec, setpriv, runuser, su, sudo, s6-setuidgid (kind "user"),
  chroot (kind "chroot"), s6-overlay's `/init`, `with-contenv` and supervisord (kind
  "supervisor": they start services as other users, as their own configuration says);
- chown, chgrp (kind "owner"), chmod (kind "mode"), `find ... -exec chown|chgrp|chmod`,
  setcap (kind "capability");
- writes (kind "write") to absolute paths: redirections `>`, `>>`, `&>` (not to /dev/... such as
  `>/dev/null`, nor fd duplications such as `2>&1`), `tee`, `sed -i`, and the destination of
  `cp`, `mv`, `ln`, `install`, `mkdir`, `touch`, `rm`;
- `eval` and `.`/`source` of another file (kind "opaque"): what they run is not read.

`$NAME` and `${NAME}` are substituted from `env` (e.g. the Dockerfile's ENV defaults);
`${NAME:-default}` falls back to the script's own default. A path whose variable is unknown is
reported with `${NAME}` kept and the name in `unknown`; a relative path is not reported as a
write (the working directory is not known), but is for chown/chmod/setcap, which need the
capability wherever the file is.

Limits (no full shell parser, see harden.evidence.words): command substitutions are unknown
values; `eval`, sourced files, aliases, functions called through variables and commands run via
`xargs` are not followed; compound commands are read as the simple commands inside them, each as
if it ran, whatever its condition (a `chown` under `if [ "$(id -u)" = 0 ]` is reported: the
script does it when started as root). A command wrapped by gosu, su-exec, s6-setuidgid, `exec`,
`env`, `nohup` or `nice` is read too.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from harden.evidence.words import RESERVED, Command, Word, commands

__all__ = ["Observation", "scan", "scan_argv", "scan_compose"]

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
_WRAPPERS = frozenset({"exec", "command", "nohup", "builtin", "nice", "env", "stdbuf", "tini", "dumb-init"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_SWITCHERS = frozenset({"gosu", "su-exec", "setpriv", "runuser", "su", "sudo", "s6-setuidgid"})
_SUPERVISORS = frozenset({"supervisord", "with-contenv", "s6-svscan"})
_WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>"})
# Options that take the next word as their value, per command (short options only).
_VALUED = {
    "install": "mogtS",
    "cp": "tS",
    "mv": "tS",
    "ln": "tS",
    "mkdir": "m",
    "touch": "dtr",
    "tee": "",
    "rm": "",
    "chown": "",
    "chgrp": "",
    "chmod": "",
}


class Observation(NamedTuple):
    """One thing the text does. `path` is absolute (variables kept as ${NAME} when unknown),
    or as written for chown/chmod/setcap, or "" when the command acts on none."""

    kind: str  # user | chroot | supervisor | owner | mode | capability | write | opaque
    command: str  # the program ("gosu", "chown", "sed -i", ...), or the redirection (">", ">>")
    path: str
    line: int  # 1-based, within the text scanned
    text: str  # the simple command as written
    source: str = ""  # the file, as the caller names it
    detail: str = ""  # the user switched to, the owner or mode set, the capabilities, the program redirected
    unknown: tuple[str, ...] = ()  # variables in `path` whose values are not known

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"line {self.line}"


def scan(text: str, source: str = "", env: Mapping[str, str] | None = None, first_line: int = 1) -> list[Observation]:
    """What shell `text` does; lines count from `first_line`."""
    found: list[Observation] = []
    for command in commands(text, env or {}, first_line):
        found.extend(_redirects(command, source))
        found.extend(_simple(command.words, command.text, source, env or {}))
    return found


def scan_argv(argv: Sequence[str], source: str = "", line: int = 1, env: Mapping[str, str] | None = None) -> list[Observation]:
    """What an exec-form command does (a Dockerfile `["gosu", ...]`, a Compose list): the words
    are taken as they are (no variable is expanded without a shell), `sh -c` strings are scanned."""
    words = [Word(w, line, 0, 0) for w in argv]
    return _simple(words, shlex.join(argv), source, env or {})


def scan_compose(value: object, source: str = "", line: int = 1, env: Mapping[str, str] | None = None) -> list[Observation]:
    """A Compose `command:` or `entrypoint:`: a list as it is; a string split into words as
    Compose splits it (shell quoting rules, no shell runs). A string that cannot be split gives
    one "opaque" observation."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as error:
            return [Observation("opaque", "", "", line, value, source, f"cannot split into words: {error}")]
        return scan_argv(argv, source, line, env)
    if isinstance(value, list):
        return scan_argv([str(v) for v in value], source, line, env)
    return []


def _redirects(command: Command, source: str) -> list[Observation]:
    program = _program(command.words)
    found = []
    for redirect in command.redirects:
        path = _absolute(redirect.target)
        if redirect.operator in _WRITE_REDIRECTS and path is not None:
            found.append(_write(redirect.operator, redirect.target, path, command.text, source, program))
    return found


def _program(words: list[Word]) -> str:
    rest = _unwrapped(words)
    return posixpath.basename(rest[0].text) if rest else ""


def _unwrapped(words: list[Word]) -> list[Word]:
    """The words from the program run on: assignments, reserved words and wrappers removed."""
    i = 0
    while i < len(words):
        text = words[i].text
        if _ASSIGNMENT.match(text) or text in RESERVED:
            i += 1
        elif posixpath.basename(text) in _WRAPPERS:
            i += 1
            while i < len(words) and (words[i].text.startswith("-") or _ASSIGNMENT.match(words[i].text)):
                i += 1 + (words[i].text in ("-n", "-u"))  # nice -n N, env -u NAME
        else:
            break
    return words[i:]


def _simple(words: list[Word], text: str, source: str, env: Mapping[str, str]) -> list[Observation]:
    words = _unwrapped(words)
    if not words:
        return []
    first = words[0]
    name = posixpath.basename(first.text)
    args = words[1:]

    def seen(kind: str, path: str = "", detail: str = "", at: Word = first, command: str = name) -> Observation:
        return Observation(kind, command, path, at.line, text, source, detail, at.unknown if path else ())

    if name in SHELLS:
        return _shell_c(args, source, env)
    if first.text == "/init":
        return [seen("supervisor", command="/init", detail="s6-overlay")]
    if name in _SUPERVISORS:
        return [seen("supervisor")]
    if name in _SWITCHERS:
        return [seen("user", detail=_switched_to(name, args)), *_wrapped(name, args, text, source, env)]
    if name == "chroot":
        return [seen("chroot", detail=next((a.text for a in args if not a.text.startswith("-")), ""))]
    if name in ("eval", ".", "source"):
        return [seen("opaque", detail=" ".join(a.text for a in args))]
    if name in ("chown", "chgrp", "chmod"):
        kind = "mode" if name == "chmod" else "owner"
        operands = _operands(name, args)
        detail = operands[0].text if operands else ""
        return [seen(kind, w.text, detail, w) for w in operands[1:]]
    if name == "setcap":
        operands = [a for a in args if not a.text.startswith("-")]
        return [seen("capability", operands[-1].text, " ".join(a.text for a in operands[:-1]), operands[-1])] if operands else []
    if name == "find":
        return _find(args, text, source, env)
    return [_write(command, w, path, text, source) for command, w, path in _writes(name, args)]


def _write(command: str, at: Word, path: str, text: str, source: str, detail: str = "") -> Observation:
    return Observation("write", command, path, at.line, text, source, detail, at.unknown)


def _writes(name: str, args: list[Word]) -> list[tuple[str, Word, str]]:
    """(command, word, absolute path) for each file the command writes."""
    if name == "sed":
        targets, command = _sed_in_place(args), "sed -i"
    elif name in ("cp", "mv", "ln", "install"):
        targets, command = _destinations(name, args), name
    elif name in ("mkdir", "touch", "rm", "tee"):
        targets, command = _operands(name, args), name
    else:
        return []
    return [(command, w, path) for w in targets if (path := _absolute(w)) is not None]


def _operands(name: str, args: list[Word]) -> list[Word]:
    """The words that are not options or option values (everything after `--` is an operand).
    A chmod mode such as `-w` is an operand when no mode came before it."""
    valued = _VALUED.get(name, "")
    operands: list[Word] = []
    i = 0
    while i < len(args):
        text = args[i].text
        if text == "--":
            return operands + args[i + 1 :]
        if name == "chmod" and not operands and re.fullmatch(r"[-+=][rwxXst]+", text):
            operands.append(args[i])
        elif text.startswith("-") and len(text) > 1:
            i += text[-1] in valued and not text.startswith("--")
        else:
            operands.append(args[i])
        i += 1
    return operands


def _destinations(name: str, args: list[Word]) -> list[Word]:
    """Where cp, mv, ln and install write: `-t DIR`, else the last operand (install -d: all)."""
    for i, word in enumerate(args):
        if word.text == "-t" and i + 1 < len(args):
            return [args[i + 1]]
        if word.text.startswith("--target-directory="):
            return [word._replace(text=word.text.split("=", 1)[1])]
    operands = _operands(name, args)
    if name == "install" and any(w.text == "-d" or w.text == "--directory" for w in args):
        return operands
    return operands[-1:] if len(operands) >= 2 else []


def _sed_in_place(args: list[Word]) -> list[Word]:
    """The files `sed -i` edits: the operands after the script (none without -i)."""
    in_place = script_given = False
    operands: list[Word] = []
    i = 0
    while i < len(args):
        text = args[i].text
        if text.startswith("--in-place") or re.match(r"-[nrEsuz]*i", text):
            in_place = True
        elif text in ("-e", "-f") or re.fullmatch(r"-[nrEsuz]+[ef]", text):
            script_given = True
            i += 1
        elif text.startswith("--expression=") or text.startswith("--file="):
            script_given = True
        elif not text.startswith("-") or text == "-":
            operands.append(args[i])
        i += 1
    if not in_place:
        return []
    return operands if script_given else operands[1:]


def _find(args: list[Word], text: str, source: str, env: Mapping[str, str]) -> list[Observation]:
    """`find PATHS ... -exec chown|chgrp|chmod ... {} ;`: that command on each starting path."""
    starts = []
    for word in args:
        if word.text.startswith("-") or word.text in ("(", "!"):
            break
        starts.append(word)
    found: list[Observation] = []
    for i, word in enumerate(args):
        if word.text in ("-exec", "-execdir"):
            end = next((j for j in range(i + 1, len(args)) if args[j].text in (";", "+")), len(args))
            for start in starts or [Word(".", word.line, 0, 0)]:
                sub = [start if w.text == "{}" else w for w in args[i + 1 : end]]
                found.extend(o for o in _simple(sub, text, source, env) if o.kind in ("owner", "mode", "capability"))
    return found


def _shell_c(args: list[Word], source: str, env: Mapping[str, str]) -> list[Observation]:
    """`sh -c 'text' ...`: the text scanned as a script (its lines counted from the word's)."""
    for i, word in enumerate(args):
        if word.text.startswith("-") and "c" in word.text and i + 1 < len(args):
            return scan(args[i + 1].text, source, env, args[i + 1].line)
        if not word.text.startswith("-"):
            return []  # `sh script.sh`: the script is read on its own, when the build ships it
    return []


def _switched_to(name: str, args: list[Word]) -> str:
    """The user a switcher names, as far as its usual spellings show it."""
    texts = [a.text for a in args]
    for i, text in enumerate(texts):
        for option in ("--reuid=", "--userspec=", "--user="):
            if text.startswith(option):
                return text[len(option) :]
        if text in ("-u", "--reuid", "--user") and i + 1 < len(texts):
            return texts[i + 1]
    if name in ("gosu", "su-exec", "s6-setuidgid"):
        return texts[0] if texts else ""
    plain = [t for t in texts if not t.startswith("-")]
    return plain[0] if name == "su" and plain else ""


def _wrapped(name: str, args: list[Word], text: str, source: str, env: Mapping[str, str]) -> list[Observation]:
    """What gosu, su-exec and s6-setuidgid run after the user (`gosu app chown ...`)."""
    if name in ("gosu", "su-exec", "s6-setuidgid") and len(args) > 1:
        return _simple(args[1:], text, source, env)
    return []


def _absolute(word: Word) -> str | None:
    """The absolute path a word names (normalised), the word kept as it is when it starts with an
    unknown variable, None for a relative path or a device (/dev/null, /dev/stderr, ...)."""
    text = word.text
    if text.startswith("${") and word.unknown:
        return text
    if not text.startswith("/"):
        return None
    if word.unknown:
        return text
    path = posixpath.normpath(text)
    if path == "/dev" or path.startswith(("/dev/", "/proc/")):
        return None
    return path
