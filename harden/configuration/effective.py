"""The effective configuration: defaults, then the configuration file, then the flags.

What: `merge` turns a checked FileConfig (or none) and the flags given on the command line into
the Settings fields they decide, and says where each value came from (`Value.source`:
`default`, `path:line`, or `flag --name`), which `harden config` prints.

Precedence, as ruff's: a flag given on the command line wins over the file, the file over the
default. Rule selection is layered as ruff layers it: the file's `select` (empty: every rule),
plus its `extend-select`, minus its `ignore`; then `--select` on the command line starts the
selection over (the file's select, extend-select and ignore no longer apply), and `--ignore`
removes rules from whatever is selected. A list flag (`--registry-mirror`, `--insecure-registry`)
replaces the file's whole list. `--no-unsafe-fixes` turns off the file's `unsafe-fixes = true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harden.config import DEFAULT_TIMEOUT
from harden.configuration import FileConfig
from harden.configuration import shown as shown_path

# key -> (Settings field, flag option name or "", the flag as typed, the default)
KEYS: dict[str, tuple[str, str, str, Any]] = {
    "unsafe-fixes": ("unsafe_fixes", "unsafe_fixes", "--unsafe-fixes", False),
    "exclude": ("exclude", "", "", ()),
    "per-file-ignores": ("per_file_ignores", "", "", ()),
    "rules": ("rule_options", "", "", {}),
    "images": ("images", "", "", {}),
    "verified": ("verified", "", "", None),
    "registry.mirrors": ("mirrors", "mirrors", "--registry-mirror", ()),
    "registry.insecure": ("insecure", "insecure", "--insecure-registry", ()),
    "registry.jobs": ("jobs", "jobs", "--jobs", 8),
    "registry.cache-ttl": ("cache_ttl_hours", "cache_ttl_hours", "--cache-ttl", 24.0),
    "registry.timeout": ("timeout", "timeout", "--timeout", DEFAULT_TIMEOUT),
}
BOT_DEFAULTS: dict[str, Any] = {"bot.branch": None, "bot.labels": (), "bot.assignees": (), "bot.reviewers": ()}
BOT_DEFAULTS["bot.draft"] = False


@dataclass(frozen=True)
class Value:
    key: str  # as in the file: "select", "registry.jobs"
    value: Any
    source: str  # "default", "path:line", "flag --name", or several joined by " + "


def merge(config: FileConfig | None, flags: dict[str, Any], given: set[str]) -> tuple[dict[str, Any], list[Value]]:
    """The Settings fields the configuration decides, and every key's Value (module docstring).
    `flags` are the parsed options (rule lists already split into sets); `given`, the names of
    those typed on the command line."""
    values = config.values if config is not None else {}

    def at(key: str) -> str:
        assert config is not None
        return f"{shown_path(config.path)}:{config.lines[key]}"

    fields, shown = _selection(values, flags, given, at)
    for key, (name, option, flag, default) in KEYS.items():
        if option and option in given:
            value, source = flags[option], f"flag {flag if flags[option] is not False else '--no-unsafe-fixes'}"
        elif key in values:
            value, source = values[key], at(key)
        else:
            value, source = default, "default"
        fields[name] = value
        shown.append(Value(key, value, source))
    for key, default in BOT_DEFAULTS.items():
        shown.append(Value(key, values[key], at(key)) if key in values else Value(key, default, "default"))
    fields["config_root"] = config.root if config is not None else None
    return fields, shown


def _selection(values: dict[str, Any], flags: dict[str, Any], given: set[str], at: Any) -> tuple[dict[str, Any], list[Value]]:
    """Settings.select and .ignore from the file's select, extend-select and ignore and the flags."""
    if "select" in given:
        select, select_from = frozenset(flags["select"]), "flag --select"
        ignore: frozenset[str] = frozenset()
        ignore_from = "default"
    else:
        select, select_from = frozenset(values.get("select", ())), at("select") if "select" in values else "default"
        if select and "extend-select" in values:
            select |= frozenset(values["extend-select"])
            select_from += f" + {at('extend-select')}"
        ignore, ignore_from = frozenset(values.get("ignore", ())), at("ignore") if "ignore" in values else "default"
    if "ignore" in given:
        ignore |= frozenset(flags["ignore"])
        ignore_from = "flag --ignore" if ignore_from == "default" else f"{ignore_from} + flag --ignore"
    shown = [Value("select", sorted(select), select_from), Value("ignore", sorted(ignore), ignore_from)]
    extend = values.get("extend-select", ())
    shown.append(Value("extend-select", list(extend), at("extend-select") if "extend-select" in values else "default"))
    return {"select": select, "ignore": ignore}, shown


def shown_value(value: Any) -> Any:
    """A value as `harden config` prints it (JSON types): paths as strings, pairs as tables."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): shown_value(v) for k, v in value}
    if isinstance(value, tuple | list):
        return [shown_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): shown_value(v) for k, v in value.items()}
    return value
