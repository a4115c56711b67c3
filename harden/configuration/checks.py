"""Checking a configuration table key by key, each error with the line of what it names.

What each key must be (harden.configuration lists them): rule lists name rules harden has
(`harden rules`); `rules.<id>` tables set only the options that pass declares, with values
of their type (harden.passes.options); `images.<name>` tables are knowledge entries of the
shipped schema (harden.knowledge.schema, harden.knowledge.project_entry); registry values are
what the flags accept (`--jobs` 1 to 64, `--cache-ttl` at least 0, `--timeout` above 0, mirrors
`http://` or `https://` URLs). A mirror URL is never quoted in an error (it may hold a credential).

Rule ids are checked against the Dockerfile passes first and against every pass only when one is
not a Dockerfile rule, so that a Dockerfile project's configuration never imports the Compose
code (start-up time, tests/test_startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harden.configuration import BOT_KEYS, REGISTRY_KEYS, ROOT_KEYS, FileConfig, Where

RULE_LISTS = ("select", "ignore", "extend-select")


def check(path: Path, data: dict[str, Any], where: Where) -> FileConfig:
    """The FileConfig of a parsed table; ConfigError (from `where`) at the first problem."""
    _known_keys(data, ROOT_KEYS, (), where)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}

    def keep(name: str, value: Any, *key: str) -> None:
        values[name], lines[name] = value, where.line(*(key or (name,)))

    for name in RULE_LISTS:
        if name in data:
            keep(name, tuple(_rules(data[name], (name,), where)))
    if "per-file-ignores" in data:
        keep("per-file-ignores", _per_file_ignores(data["per-file-ignores"], where))
    if "unsafe-fixes" in data:
        keep("unsafe-fixes", _typed(data["unsafe-fixes"], "bool", ("unsafe-fixes",), where))
    if "exclude" in data:
        keep("exclude", tuple(_typed(data["exclude"], "strings", ("exclude",), where)))
    if "rules" in data:
        keep("rules", _rule_options(data["rules"], where))
    if "images" in data:
        keep("images", _images(data["images"], where))
    if "verified" in data:
        keep("verified", path.parent / _typed(data["verified"], "str", ("verified",), where))
    for name, value in _registry(data.get("registry", {}), where).items():
        keep(f"registry.{name}", value, "registry", name)
    bot = _table(data.get("bot", {}), ("bot",), where)
    _known_keys(bot, tuple(BOT_KEYS), ("bot",), where)
    for name, value in bot.items():
        keep(f"bot.{name}", _typed(value, BOT_KEYS[name], ("bot", name), where), "bot", name)
    return FileConfig(path, values, lines)


_WORDS = {"str": "a string", "bool": "true or false", "strings": "a list of strings", "table": "a table"}


def _typed(value: Any, kind: str, key: tuple[str, ...], where: Where) -> Any:
    ok = {
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "table": isinstance(value, dict),
    }[kind]
    if not ok:
        raise where.error(key, f"{'.'.join(key)} must be {_WORDS[kind]}, not {value!r}")
    return value


def _table(value: Any, key: tuple[str, ...], where: Where) -> dict[str, Any]:
    return dict(_typed(value, "table", key, where))


def _known_keys(data: dict[str, Any], known: tuple[str, ...], key: tuple[str, ...], where: Where) -> None:
    for name in data:
        if name not in known:
            place = f"[{'.'.join(key)}]" if key else "the configuration"
            raise where.error((*key, name), f"unknown key {name!r} in {place} (known: {', '.join(known)})")


def unknown_rules(ids: set[str]) -> set[str]:
    """The ids no pass has (see the module docstring for why Dockerfile passes come first)."""
    from harden import passes
    from harden.config import Settings

    unknown = ids - {module.RULE.id for module in passes.passes_for("dockerfile", Settings())}
    if unknown:
        unknown -= {module.RULE.id for module in passes.all_passes()}
    return unknown


def _rules(value: Any, key: tuple[str, ...], where: Where) -> list[str]:
    ids = list(_typed(value, "strings", key, where))
    unknown = unknown_rules(set(ids))
    if unknown:
        first = next(i for i in ids if i in unknown)
        raise where.error(key, f"unknown rule {first!r} in {'.'.join(key)} (see `harden rules`)", item=first)
    return ids


def _per_file_ignores(value: Any, where: Where) -> tuple[tuple[str, frozenset[str]], ...]:
    table = _table(value, ("per-file-ignores",), where)
    return tuple((pattern, frozenset(_rules(ids, ("per-file-ignores", pattern), where))) for pattern, ids in table.items())


def _rule_options(value: Any, where: Where) -> dict[str, dict[str, Any]]:
    from harden import passes
    from harden.passes import options

    found: dict[str, dict[str, Any]] = {}
    for rule_id, overrides in _table(value, ("rules",), where).items():
        if unknown_rules({rule_id}):
            raise where.error(("rules", rule_id), f"unknown rule {rule_id!r} in [rules] (see `harden rules`)")
        module = passes.rule(rule_id)
        assert module is not None  # unknown_rules said it exists
        for name, given in _table(overrides, ("rules", rule_id), where).items():
            try:
                options.resolve(module, {name: given})
            except options.OptionError as error:
                raise where.error(("rules", rule_id, name), f"rules.{error}") from None
        found[rule_id] = overrides
    return found


def _images(value: Any, where: Where) -> dict[str, dict[str, Any]]:
    from harden import knowledge
    from harden.knowledge.schema import KnowledgeError

    found: dict[str, dict[str, Any]] = {}
    for name, entry in _table(value, ("images",), where).items():
        data = _table(entry, ("images", name), where)
        try:
            knowledge.project_entry(name, data)
        except KnowledgeError as error:
            key = ("images", name, *error.key.split(".")) if error.key else ("images", name)
            raise where.error(key, f"images.{name}.{error}") from None
        found[name] = data
    return found


def _registry(value: Any, where: Where) -> dict[str, Any]:
    table = _table(value, ("registry",), where)
    _known_keys(table, REGISTRY_KEYS, ("registry",), where)
    found: dict[str, Any] = {}
    if "mirrors" in table:
        mirrors = _table(table["mirrors"], ("registry", "mirrors"), where)
        for registry, url in mirrors.items():
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise where.error(
                    ("registry", "mirrors", registry), f"the mirror of {registry} must be an http:// or https:// URL"
                )
        found["mirrors"] = tuple((registry, url.rstrip("/")) for registry, url in mirrors.items())
    if "insecure" in table:
        found["insecure"] = tuple(_typed(table["insecure"], "strings", ("registry", "insecure"), where))
    bounds = {"jobs": (int, 1, 64, "an integer from 1 to 64"), "cache-ttl": (float, 0, None, "a number of hours, at least 0")}
    bounds["timeout"] = (float, 0, None, "a number of seconds above 0")
    for name, (kind, low, high, words) in bounds.items():
        if name not in table:
            continue
        given = table[name]
        number = isinstance(given, int | float) and not isinstance(given, bool) and (kind is float or isinstance(given, int))
        if not number or given < low or (high is not None and given > high) or (name == "timeout" and given == 0):
            raise where.error(("registry", name), f"registry.{name} must be {words}, not {given!r}")
        found[name] = kind(given)
    return found
