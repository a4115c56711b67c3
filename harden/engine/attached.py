"""Reading the files a Compose service reads besides its Compose file (Context.attached).

For each service of a Compose file (harden.compose.attached): its `env_file:` files, relative to
the project directory; the proxy configuration bind-mounted into it (a source file, or the
`.conf`/`.cfg`/`.template`/Caddyfile files directly in a source directory: at most
MAX_DIRECTORY_FILES, in name order); and the proxy configuration the stage its `build:` builds
COPYs from its build context (harden.evidence.image.copied_files). Each file is read as a regular
file of at most --max-file-size bytes. A path that leaves its root (the project directory for
env files and mounts, the build context for copies: absolute, `..`, a symbolic link leading out)
is refused and not read, and so is a path set from a variable: the file is then `Attached` with
`text` None and the reason, and the graph counts the service as unread.

Cheap: only services that name such files cost a read, and a run without Compose files never
gets here (harden.engine.context.for_files).
"""

from __future__ import annotations

import os.path
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from harden import files
from harden.config import Settings
from harden.discover import display_path

if TYPE_CHECKING:
    from harden.compose import ComposeDocument, Service
    from harden.compose.attached import Attached
    from harden.dockerfile.build import Build

MAX_DIRECTORY_FILES = 32
_CONFIG_SUFFIXES = (".conf", ".cfg", ".template")


def of(
    document: ComposeDocument, directory: Path, built: Mapping[str, Build], settings: Settings
) -> dict[str, tuple[Attached, ...]]:
    """service -> the files it reads (only services that read any)."""
    found: dict[str, tuple[Attached, ...]] = {}
    for name, service in document.services.items():
        files_here = [*_env_files(service, directory, settings), *_mounted(service, directory, settings)]
        build = built.get(name)
        if build is not None:
            files_here += _copied(build, directory, settings)
        if files_here:
            found[name] = tuple(files_here)
    return found


def _env_files(service: Service, directory: Path, settings: Settings) -> list[Attached]:
    from harden.compose.attached import ENV_FILE, Attached, env_files

    found = []
    for path, required in env_files(service.get("env_file")):
        for source, text, problem in _read(directory, path, settings, directory_files=False):
            found.append(Attached(ENV_FILE, source, text, problem, required=required))
    return found


def _mounted(service: Service, directory: Path, settings: Settings) -> list[Attached]:
    from harden.compose import mounts
    from harden.compose.attached import PROXY, Attached, proxy_config_target

    found = []
    for mount in mounts(service.get("volumes")):
        if mount.kind == "bind" and mount.source and proxy_config_target(mount.target):
            for source, text, problem in _read(directory, mount.source, settings):
                found.append(Attached(PROXY, source, text, problem, target=mount.target))
    return found


def _copied(build: Build, directory: Path, settings: Settings) -> list[Attached]:
    from harden.compose.attached import PROXY, Attached, proxy_config_target
    from harden.evidence import image

    if build.document is None or build.stage is None or build.link is None:
        return []
    context_dir = Path(os.path.normpath(os.path.join(directory, build.link.context)))
    sources: dict[str, str] = {}
    for copied in image.copied_files(build.document, build.stage).values():
        if proxy_config_target(copied.image_path):
            sources.setdefault(copied.source, copied.image_path)
    found = []
    for relative, target in sources.items():
        for source, text, problem in _read(context_dir, relative, settings):
            found.append(Attached(PROXY, source, text, problem, target=target))
    return found


def _read(root: Path, written: str, settings: Settings, directory_files: bool = True) -> list[tuple[str, str | None, str]]:
    """(the file as shown, its text or None, why not) for a path as written, relative to `root`;
    for a directory, each configuration file directly in it."""
    path = Path(os.path.normpath(os.path.join(root, written)))
    display = display_path(path)
    if "$" in written or written.startswith("~"):
        return [(written, None, f"{written} is set from a variable or the home directory: harden does not guess it")]
    try:
        if written.startswith("/") or not path.resolve().is_relative_to(root.resolve()):
            return [(display, None, f"{display} is outside {display_path(root)}: harden does not read it")]
        if directory_files and path.is_dir():
            names = sorted(p for p in path.iterdir() if p.suffix in _CONFIG_SUFFIXES or p.name == "Caddyfile")
            return [read_text(p, settings) for p in names[:MAX_DIRECTORY_FILES]]
    except (OSError, RuntimeError) as error:
        return [(display, None, f"{display} cannot be read: {getattr(error, 'strerror', None) or error}")]
    return [read_text(path, settings)]


def read_text(path: Path, settings: Settings) -> tuple[str, str | None, str]:
    """(the file as shown, its text or None, why not): a regular UTF-8 file of at most
    --max-file-size bytes, its byte order mark removed."""
    display = display_path(path)
    try:
        raw, _ = files.read_regular(path, settings.max_file_size)
        return display, raw.decode("utf-8").removeprefix("\ufeff"), ""
    except FileNotFoundError:
        return display, None, f"{display} does not exist"
    except UnicodeDecodeError:
        return display, None, f"{display} is not UTF-8 text"
    except (files.Refused, OSError, RuntimeError) as error:
        why = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
        return display, None, f"{display} cannot be read: {why}"
