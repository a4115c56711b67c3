"""A service's values as the Compose passes read them: lists, booleans, mounts and ports (parsed
by harden.compose.values), paths, and interpolation defaults.

`mounts` and `ports` read the service across its project's files (harden.passes.compose.layers),
or with `here` only the entries this file writes and Compose keeps, indexed as in this file (for
positions and edits: each file handles the items it writes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harden.compose import Mount, Port, Service
from harden.compose import mounts as parse_mounts
from harden.compose import ports as parse_ports
from harden.compose.interpolate import resolve
from harden.passes.compose.layers import written_here


def as_list(value: object) -> list[Any] | None:
    """A sequence value as a list; None when absent or not a list (a string, a `!reset`)."""
    return list(value) if isinstance(value, list | tuple) else None


def truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def mounts(service: Service, here: bool = False) -> list[Mount]:
    """The service's `volumes:` (across its project's files); `here`: only those this file writes."""
    return parse_mounts(written_here(service, "volumes") if here else service.get("volumes"))


def ports(service: Service, here: bool = False) -> list[Port]:
    """The service's `ports:` (across its project's files); `here`: as for `mounts`."""
    return parse_ports(written_here(service, "ports") if here else service.get("ports"))


def normalise_path(path: str) -> str:
    path = path.replace("\\", "/")
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/") or "/"


def _resolved(path: str) -> str:
    """/var/run is a symbolic link to /run in Debian, Alpine and RHEL images."""
    path = normalise_path(path)
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


def covered(path: str, targets: Iterable[str]) -> str | None:
    """The mount target (or tmpfs path) under which `path` lies, if any."""
    path = _resolved(path)
    for target in targets:
        resolved = _resolved(target)
        if path == resolved or path.startswith(resolved.rstrip("/") + "/"):
            return target
    return None


def expand_defaults(text: str, variables: Mapping[str, str] | None = None) -> str | None:
    """The text as Compose interpolates it with the project's variables (harden.compose.interpolate.resolve):
    `${VAR:-default}` and `${VAR-default}` of a variable the project does not set become their
    default, `$$` a `$`. None when the text depends on a variable the project does not set and no
    default covers (`$VAR`, `${VAR}`, `${VAR:?error}`, `${VAR:+value}`): its value is unknown."""
    return resolve(text, variables or {})
