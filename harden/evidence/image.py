"""What the stage Compose builds sets for run time, read from its Dockerfile: USER, ENTRYPOINT,
CMD and ENV through the stage's FROM chain, and the files it copies from the build context.

Docker's rules: the nearest stage that sets USER, ENTRYPOINT or CMD wins (a stage built on
another stage inherits its config); setting ENTRYPOINT drops a CMD inherited from a parent (a CMD
in the same stage is kept); ENV accumulates, the nearer stage overriding. What the chain does not
set comes from the external base image, which harden only knows through the knowledge base.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import NamedTuple

from harden.dockerfile.document import DockerfileDocument, Stage, user_of
from harden.dockerfile.scan import Instruction

__all__ = ["Copied", "Process", "copied_files", "environment", "process", "scripts_started"]

# Where a bare program name is looked up (a PATH such as Debian's), for `docker-entrypoint.sh`.
PATH_DIRECTORIES = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class Setting(NamedTuple):
    instruction: Instruction
    stage: Stage


class Process(NamedTuple):
    """USER, ENTRYPOINT and CMD as the built stage has them (None: inherited from the base image)."""

    user: Setting | None
    entrypoint: Setting | None
    cmd: Setting | None
    cmd_dropped: bool  # an ENTRYPOINT in the chain dropped the base image's CMD


class Copied(NamedTuple):
    image_path: str  # where the file lands in the image
    source: str  # the path in the build context, normalised, relative
    instruction: Instruction


def _last(stage: Stage, keyword: str) -> Instruction | None:
    found = [i for i in stage.instructions if i.keyword == keyword]
    return found[-1] if found else None


def process(document: DockerfileDocument, stage: Stage) -> Process:
    user = entrypoint = cmd = None
    entrypoint_depth = cmd_depth = None
    for depth, current in enumerate(document.chain(stage)):
        if user is None and (found := _last(current, "USER")) is not None:
            user = Setting(found, current)
        if entrypoint is None and (found := _last(current, "ENTRYPOINT")) is not None:
            entrypoint, entrypoint_depth = Setting(found, current), depth
        if cmd is None and (found := _last(current, "CMD")) is not None:
            cmd, cmd_depth = Setting(found, current), depth
    dropped = entrypoint_depth is not None and (cmd_depth is None or cmd_depth > entrypoint_depth)
    return Process(user, entrypoint, None if dropped else cmd, dropped)


def user_name(setting: Setting) -> str:
    """`USER app:app` -> `app:app` (the whole value: Compose's `user:` is compared with it)."""
    return setting.instruction.args.strip().strip("\"'") or user_of(setting.instruction)


def environment(document: DockerfileDocument, stage: Stage) -> dict[str, str]:
    """ENV defaults the built stage has (parents first, nearer stages override)."""
    env: dict[str, str] = {}
    for current in reversed(document.chain(stage)):
        for instruction in current.instructions:
            if instruction.keyword == "ENV":
                env.update(_env_pairs(instruction.args))
    return env


def _env_pairs(args: str) -> dict[str, str]:
    try:
        words = shlex.split(args)
    except ValueError:
        return {}
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}  # the legacy `ENV NAME value`
    return dict(w.split("=", 1) for w in words if "=" in w)


def argv(instruction: Instruction) -> list[str]:
    """ENTRYPOINT or CMD as the words Docker runs (the shell form runs under /bin/sh -c)."""
    return instruction.exec_form or ["/bin/sh", "-c", instruction.args]


def copied_files(document: DockerfileDocument, stage: Stage) -> dict[str, Copied]:
    """Files the chain copies from the build context (COPY/ADD without --from, not a URL, not a
    heredoc or glob), by where they land in the image; later copies replace earlier ones. A
    destination without a trailing slash may be a directory: both readings are kept."""
    found: dict[str, Copied] = {}
    workdir = "/"  # a stage built on another starts in its working directory
    for current in reversed(document.chain(stage)):
        for instruction in current.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = posixpath.join(workdir, instruction.args.strip().strip("\"'"))
            elif instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None:
                for image_path, source in _copies(instruction, workdir):
                    found[image_path] = Copied(image_path, source, instruction)
    return found


def _copies(instruction: Instruction, workdir: str) -> list[tuple[str, str]]:
    try:
        words = instruction.exec_form or shlex.split(instruction.args)
    except ValueError:
        return []
    if len(words) < 2 or instruction.heredocs:
        return []
    sources, destination = words[:-1], posixpath.join(workdir, words[-1])
    pairs = []
    for source in sources:
        if "://" in source or any(c in source for c in "*?[$") or source.startswith("<<"):
            continue
        relative = posixpath.normpath(source.lstrip("/"))
        name = posixpath.join(destination, posixpath.basename(relative))
        if destination.endswith("/") or len(sources) > 1:
            pairs.append((posixpath.normpath(name), relative))
        else:
            pairs += [(posixpath.normpath(destination), relative), (posixpath.normpath(name), relative)]
    return pairs


def scripts_started(words: list[str], copied: dict[str, Copied], workdir: str = "/") -> list[Copied]:
    """The copied files that the words of a command name: by absolute path, relative to the
    working directory (`./start.sh`), or a bare name found in a PATH directory. Words of a
    `sh -c` string are split too."""
    found: dict[str, Copied] = {}
    for word in _all_words(words):
        for candidate in _candidates(word, workdir):
            if candidate in copied:
                found[candidate] = copied[candidate]
                break
    return list(found.values())


def _all_words(words: list[str]) -> list[str]:
    out = []
    for word in words:
        out.append(word)
        if " " in word:
            try:
                out += shlex.split(word, comments=True)
            except ValueError:
                out += word.split()
    return out


def _candidates(word: str, workdir: str) -> list[str]:
    if word.startswith("/"):
        return [posixpath.normpath(word)]
    if "/" in word:
        return [posixpath.normpath(posixpath.join(workdir, word))]
    return [posixpath.join(directory, word) for directory in PATH_DIRECTORIES] + [posixpath.join(workdir, word)]


def workdir_of(document: DockerfileDocument, stage: Stage) -> str:
    """The working directory the built stage runs in (WORKDIR through the chain, else /)."""
    workdir = "/"
    for current in reversed(document.chain(stage)):
        for instruction in current.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = posixpath.join(workdir, instruction.args.strip().strip("\"'"))
    return workdir
