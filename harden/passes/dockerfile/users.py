"""What a Dockerfile says about its users, for non-root-user: the users and groups its RUN steps
create, and whether a `USER root` was chosen on purpose. Pure reading of the document.

Users are read from `useradd`/`adduser` commands (shadow-utils, Debian's adduser, BusyBox's
adduser), groups from `groupadd`/`addgroup`: the first word after the command that is neither an
option nor an option's value. A name containing `$` is set from a variable and is not used (its
value depends on the build's arguments). What might be missed: users created by a script the build
copies and runs, or by writing /etc/passwd directly; then harden creates its own user as before.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from harden.dockerfile import DockerfileDocument, Instruction, Stage

# Options of useradd, adduser (Debian and BusyBox), groupadd and addgroup that take a value.
_VALUED = {
    "-b", "-c", "-d", "-e", "-f", "-g", "-G", "-h", "-k", "-K", "-p", "-P", "-R", "-s", "-u", "-Z",
    "--base-dir", "--comment", "--home-dir", "--home", "--expiredate", "--inactive", "--gid", "--groups",
    "--skel", "--key", "--password", "--root", "--prefix", "--shell", "--uid", "--selinux-user",
    "--ingroup", "--gecos", "--firstuid", "--lastuid", "--firstgid", "--lastgid", "--conf", "--add_extra_groups",
}  # fmt: skip
_COMMAND = re.compile(r"(?:^|[\s;&|(`])(useradd|adduser|groupadd|addgroup)\s+([^;&|\n`)]*)")
_WORD = re.compile(r"(?:[^\s\"']|\"[^\"]*\"|'[^']*')+")  # a shell word, quotes kept


class Created(NamedTuple):
    """A user or group a RUN step of the Dockerfile creates."""

    name: str
    is_user: bool
    line: int  # 1-based line of the RUN instruction


def created(document: DockerfileDocument, chain: list[Stage]) -> list[Created]:
    """Users and groups the RUN steps of a stage chain create, in build order."""
    found: list[Created] = []
    for stage in reversed(chain):
        for instruction in stage.instructions:
            if instruction.keyword != "RUN":
                continue
            text = document.source(instruction).replace(document.escape + "\n", " ")
            for command, arguments in _COMMAND.findall(text):
                name = _first_operand(_WORD.findall(arguments))
                if name and "$" not in name:
                    found.append(Created(name, command in ("useradd", "adduser"), instruction.start_line + 1))
    return found


def _first_operand(words: list[str]) -> str | None:
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _VALUED
        else:
            return word.strip("\"'")
    return None


def user_word(instruction: Instruction) -> str:
    """The user of `USER user[:group]`, ignoring anything after it on the line (`USER root  # why`:
    BuildKit keeps the whole line, but the intent is plain)."""
    words = instruction.args.split()
    return words[0].split(":", 1)[0].strip("\"'") if words else ""


def explicit_root(document: DockerfileDocument, instruction: Instruction) -> str:
    """Why a `USER root`/`USER 0` was chosen on purpose ("" when nothing says so): a comment on
    its line or directly above it. (A hadolint ignore of DL3002 silences the rule altogether:
    harden.suppressions.)"""
    line = instruction.start_line + 1
    rest = instruction.args.split(None, 1)[1:]
    if rest and rest[0].startswith("#"):
        return f"{document.path}:{line} says why on the USER line ({rest[0].strip()})"
    start = document.attached_comment_start(instruction)
    if start < instruction.start_line:
        return f"{document.path}:{start + 1} explains it in a comment above the USER line"
    return ""
