"""Compose values read as Compose reads them: ports, mounts and environment-style mappings, in
both the short and the long syntax. One parser each; the passes read these values through
them.

- `parse_port`: a `ports:` entry, `"[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]"` (a number too) or
  a mapping (`target`, `published`, `host_ip`, `protocol`); `ports(value)` all of a list.
- `parse_volume`: a `volumes:` entry, `"[SOURCE:]TARGET[:MODE]"` or a mapping (`type`,
  `source`, `target`, `read_only`); `mounts(value)` all of a list.
- `environment`: `environment:` (and `labels:`, `annotations:`, `sysctls:`), a mapping or a
  `NAME=value` list, as the mapping Compose makes of it.

`${VAR}` interpolation is kept as written: a colon inside `${...}` (a default) or inside
`[...]` (an IPv6 address) does not split a short-syntax entry (`split_colons`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ALL_INTERFACES = frozenset({"", "0.0.0.0", "::", "[::]"})
_MODES = frozenset(
    {
        "ro",
        "rw",
        "z",
        "Z",
        "cached",
        "delegated",
        "consistent",
        "nocopy",
        "shared",
        "slave",
        "private",
        "rshared",
        "rslave",
        "rprivate",
        "copy",
    }
)


def split_colons(text: str) -> list[str]:
    """Split at ':' outside `${...}` and `[...]` (interpolation defaults, IPv6 addresses)."""
    parts: list[str] = []
    depth_brace = depth_bracket = 0
    current = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "$" and text[i + 1 : i + 2] == "{":
            depth_brace += 1
            current += "${"
            i += 2
            continue
        if char == "}" and depth_brace:
            depth_brace -= 1
        elif char == "[":
            depth_bracket += 1
        elif char == "]" and depth_bracket:
            depth_bracket -= 1
        elif char == ":" and not depth_brace and not depth_bracket:
            parts.append(current)
            current = ""
            i += 1
            continue
        current += char
        i += 1
    parts.append(current)
    return parts


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# --- ports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    """One `ports:` entry. `host_ip` None: no address given (all interfaces)."""

    index: int
    host_ip: str | None
    published: str  # "" when only the container port is given (a random host port)
    target: str
    protocol: str
    long: bool  # long syntax (a mapping)
    text: str  # short syntax: the entry as a string; long: ""

    @property
    def all_interfaces(self) -> bool:
        return self.host_ip is None or self.host_ip in ALL_INTERFACES

    @property
    def ipv6(self) -> bool:
        return self.host_ip is not None and ":" in self.host_ip

    def numbers(self, which: str) -> set[int]:
        """The port numbers of `published` or `target`, ranges expanded (none for `${VAR}`)."""
        text = self.published if which == "published" else self.target
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", text.strip())
        if not match:
            return set()
        first = int(match.group(1))
        last = int(match.group(2) or first)
        return set(range(first, min(last, first + 65535) + 1))

    def loopback(self) -> str:
        """The short-syntax text bound to loopback (IPv6 `[::]` becomes `[::1]`)."""
        text = self.text
        if self.host_ip is None:
            return ("127.0.0.1:" if self.published else "127.0.0.1::") + text
        address = "[::1]" if self.ipv6 else "127.0.0.1"
        ip_text = ":".join(split_colons(text)[:-2])
        return address + text[len(ip_text) :]


def parse_port(item: object, index: int) -> Port | None:
    """One `ports:` entry (None: not a port entry, e.g. a boolean)."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return Port(index, None, "", str(item), "", False, str(item))
    if isinstance(item, dict):
        host_ip = item.get("host_ip")
        return Port(
            index,
            None if host_ip is None else str(host_ip),
            str(item.get("published", "") or ""),
            str(item.get("target", "")),
            str(item.get("protocol", "") or ""),
            True,
            "",
        )
    if not isinstance(item, str):
        return None
    text = item.strip()
    match = re.fullmatch(r"(.*)/([A-Za-z]+)", text)
    body, protocol = (match.group(1), match.group(2)) if match else (text, "")
    parts = split_colons(body)
    if len(parts) == 1:
        return Port(index, None, "", parts[0], protocol, False, text)
    if len(parts) == 2:
        return Port(index, None, parts[0], parts[1], protocol, False, text)
    host_ip = ":".join(parts[:-2])
    return Port(index, host_ip, parts[-2], parts[-1], protocol, False, text)


def ports(value: object) -> list[Port]:
    """The entries of a `ports:` value (a list; anything else has none), indexed as written."""
    found = (parse_port(item, index) for index, item in enumerate(_as_list(value)))
    return [port for port in found if port is not None]


# --- mounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    source: str  # "" for an anonymous volume
    target: str
    kind: str  # bind | volume | tmpfs | npipe | image | cluster
    read_only: bool
    index: int  # position in `volumes:`


def _is_mode(text: str) -> bool:
    return all(m in _MODES for m in text.split(","))


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~", "\\", "$")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


def parse_volume(item: object, index: int) -> Mount | None:
    """One `volumes:` entry of a service (None: neither a string nor a mapping)."""
    if isinstance(item, dict):
        target = str(item.get("target", ""))
        source = str(item.get("source", "") or "")
        kind = str(item.get("type", "volume"))
        return Mount(source, target, kind, bool(item.get("read_only", False)), index)
    if not isinstance(item, str):
        return None
    parts = split_colons(item)
    if len(parts) >= 2 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1][:1] in ("\\", "/"):
        parts = [parts[0] + ":" + parts[1], *parts[2:]]  # a Windows drive letter
    mode = ""
    if len(parts) >= 3 or (len(parts) == 2 and parts[0].startswith("/") and _is_mode(parts[1])):
        mode = parts.pop()
    if len(parts) == 1:
        return Mount("", parts[0], "volume", "ro" in mode.split(","), index)
    source, target = parts[0], ":".join(parts[1:])
    kind = "bind" if _is_host_path(source) else "volume"
    return Mount(source, target, kind, "ro" in mode.split(","), index)


def mounts(value: object) -> list[Mount]:
    """The entries of a service's `volumes:` value, indexed as written."""
    found = (parse_volume(item, index) for index, item in enumerate(_as_list(value)))
    return [mount for mount in found if mount is not None]


# --- environment -----------------------------------------------------------------------------


def environment(value: object) -> dict[str, str | None]:
    """An `environment:`-style value as the mapping Compose makes of it: a mapping's values as
    strings (`1` "1", `true` "true"), a list's `NAME=value` items split at the first `=`, a
    `NAME` item without `=` None (taken from the shell that runs Compose), an empty mapping
    value None too. Names are kept as written (Compose refuses `NAME =value`); anything else
    than a mapping or a list is empty."""
    if isinstance(value, dict):
        return {str(name): _string(setting) for name, setting in value.items()}
    found: dict[str, str | None] = {}
    for item in _as_list(value):
        name, equals, setting = str(item).partition("=")
        found[name] = setting if equals else None
    return found


def _string(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
