"""Which Dockerfile, and which of its stages, a Compose service builds: Compose's rules, no I/O.

A service's `build:` is a string (the context) or a mapping (`context`, `dockerfile`,
`dockerfile_inline`, `target`, ...). Following the Compose specification and compose-go:

- the context defaults to `.`; a relative context is relative to the directory the caller passes
  (the project directory: the first Compose file's directory, against which Compose also resolves
  override files' paths; for a service taken from another file with `extends`, that file's
  directory);
- the Dockerfile defaults to `Dockerfile` in the context; a relative `dockerfile:` is relative to
  the context, an absolute one is used as it is;
- a context that is a URL (anything with `://`, such as `https://...` or `git://...`) or a git
  repository (`git@host:...`, `github.com/...`) is remote, as compose-go decides: its Dockerfile
  is not in this tree;
- `dockerfile_inline:` is the Dockerfile's text, written in the Compose file: there is no file;
- `target:` names the stage built (BuildKit compares stage names case-insensitively); without
  it, the last stage is built.

Paths are computed, never read: the caller decides whether the file exists. They are normalised
lexically (`a/../b` is `b`), as Compose's own path joining does. Values are taken as written:
harden does not interpolate variables, so a path containing `$` is reported as unknown rather than
guessed, and so is one starting with `~` (Compose expands it to the user's home directory, which
is not the same on the machine that builds).
"""

from __future__ import annotations

import os.path
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from harden.dockerfile.document import DockerfileDocument, Stage

__all__ = ["Build", "BuildError", "BuildLink", "Script", "build_link", "built_stage"]

_KEYS = ("context", "dockerfile", "dockerfile_inline", "target")
_REMOTE_PREFIXES = ("git@", "github.com/")


class BuildError(ValueError):
    """A `build:` value Compose refuses; the message names the key."""


@dataclass(frozen=True)
class BuildLink:
    """What a service's `build:` says about its Dockerfile.

    `dockerfile` is the local Dockerfile's path, or None when there is none to read; then
    `not_local` says why, in words for a finding ("" when `dockerfile` is set).
    """

    context: str  # as written; "." when the mapping has none
    dockerfile: Path | None
    target: str | None  # the stage built, as written; None: the last stage
    inline: str | None = None  # build.dockerfile_inline: the Dockerfile's text
    not_local: str = ""


class Script(NamedTuple):
    """A file the built stage copies from its build context and runs at start-up (its ENTRYPOINT
    or CMD names it), as the engine read it: `text`, or None and `problem` says why."""

    image_path: str  # where the image has it, e.g. /usr/local/bin/docker-entrypoint.sh
    source: str  # the file in the project, as harden shows paths
    text: str | None
    problem: str = ""


@dataclass(frozen=True)
class Build:
    """What a Compose service builds, as the engine read it for the passes (Context.builds): the
    link, the Dockerfile parsed, and the stage really built; or, when there is no stage to read,
    `problem` says why in words for a finding (a remote context, an inline Dockerfile, a file
    that is missing or does not parse, a target that names no stage, a `build:` Compose refuses).
    """

    link: BuildLink | None
    document: DockerfileDocument | None = None
    stage: Stage | None = None
    problem: str = ""
    scripts: tuple[Script, ...] = ()  # read by the engine (harden.engine.context), for harden.evidence


def build_link(build: object, compose_dir: Path) -> BuildLink:
    """The Dockerfile and target of a service's `build:` value (a string or a mapping), with
    relative paths resolved against `compose_dir`. BuildError for a value Compose refuses."""
    if isinstance(build, str):
        return _link(build or ".", None, None, None, compose_dir)
    if not isinstance(build, Mapping):
        raise BuildError("build must be a string (the build context) or a mapping")
    context, dockerfile, inline, target = (_string(build, key) for key in _KEYS)
    if dockerfile and inline is not None:
        raise BuildError("build.dockerfile and build.dockerfile_inline are mutually exclusive")
    return _link(context or ".", dockerfile or None, inline, target, compose_dir)


def built_stage(document: DockerfileDocument, target: str | None) -> Stage | None:
    """The stage `docker compose build` builds: the one `target` names, else the last.

    None when `target` names no stage (the build fails: BuildKit's "failed to reach build
    target"); so does a target set from a variable, which no stage name can contain.
    """
    if target is None:
        return document.stages[-1]
    return document.stage_named(target, len(document.stages))


def _link(context: str, dockerfile: str | None, inline: str | None, target: str | None, compose_dir: Path) -> BuildLink:
    def elsewhere(why: str) -> BuildLink:
        return BuildLink(context, None, target, inline, why)

    if inline is not None:
        return elsewhere("the Dockerfile is written in the Compose file (build.dockerfile_inline)")
    if "://" in context or context.startswith(_REMOTE_PREFIXES):
        return elsewhere(f"the build context {context} is remote (a URL or git repository): its Dockerfile is not here")
    for value in (context, dockerfile or ""):
        if "$" in value:
            return elsewhere(f"the build path {value} is set from a variable: harden does not guess its value")
        if value.startswith("~"):
            return elsewhere(f"the build path {value} is in the home directory of whoever builds")
    path = os.path.join(compose_dir, context, dockerfile or "Dockerfile")  # an absolute part replaces what is before it
    return BuildLink(context, Path(os.path.normpath(path)), target)


def _string(build: Mapping[object, object], key: str) -> str | None:
    value = build.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BuildError(f"build.{key} must be a string")
