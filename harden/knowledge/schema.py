"""The schema of an image knowledge entry, checked the same way for every source of entries.

What: `check(name, data)` checks one entry as parsed from TOML: the shipped files
(`images/*.toml`) and the entries a project writes in its configuration
(`[tool.harden.images.<name>]`, harden.configuration) go through it alike, so a project's
own image is described with exactly the fields and types of images/README.md. A key harden does
not know, or a value of the wrong type, is a KnowledgeError naming the key (its dotted path within
the entry), which the configuration turns into `path:line: message`.

Why strict: a typo in a knowledge entry (`cap-add` for `cap_add`) would silently leave a
capability out and turn a working service into a broken one; nothing here falls back to a default.
"""

from __future__ import annotations

import re

ROLES = ("database", "cache", "broker", "search", "web", "proxy", "app", "runtime", "tool", "monitoring")

# field -> its kind: str, bool, strings (a list of strings), ints (a list of integers), table (str -> str)
FIELDS: dict[str, str] = {
    "repositories": "strings",
    "role": "str",
    "distro": "str",
    "default_user": "str",
    "unprivileged_user": "str",
    "runtime_user": "str",
    "drops_privileges": "str",
    "nonroot_works": "bool",
    "cap_add": "table",
    "writable_paths": "strings",
    "data_paths": "strings",
    "secret_file_vars": "table",
    "ports": "ints",
    "public_entry_point": "bool",
    "setuid_needed": "bool",
    "evidence": "strings",
    "notes": "str",
    "variants": "variants",
    "host_network_cap_add": "table",
    "read_only_breaks": "str",
    "read_only_breaks_if_env": "table",
    "refused_volumes": "table",
    "refused_volumes_unless_env": "strings",
    "derives_from": "str",
    "derived_names": "strings",
    "verified": "strings",
}
_WORDS = {
    "str": "a string",
    "bool": "true or false",
    "strings": "a list of strings",
    "ints": "a list of integers",
    "table": "a table of strings",
    "variants": "a table of tag patterns to tables of fields",
}


class KnowledgeError(ValueError):
    """An entry harden cannot use: `key` is the dotted path of the offending key in the entry."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key, self.message = key, message


def check(name: str, data: dict[str, object]) -> None:
    """KnowledgeError for the first key of `data` that is not a field or has the wrong type."""
    for key, value in data.items():
        _check_field(key, value, key)
    role = data.get("role")
    if role is not None and role not in ROLES:
        raise KnowledgeError("role", f"must be one of {', '.join(ROLES)}, not {role!r}")
    variants = data.get("variants", {})
    assert isinstance(variants, dict)  # _check_field checked it
    for pattern, overrides in variants.items():
        try:
            re.compile(pattern)
        except re.error as error:
            raise KnowledgeError(f"variants.{pattern}", f"not a regular expression: {error}") from None
        for key, value in overrides.items():
            if key in ("repositories", "variants", "derives_from", "derived_names", "verified"):
                raise KnowledgeError(f"variants.{pattern}.{key}", "a variant cannot set this field")
            _check_field(key, value, f"variants.{pattern}.{key}")


def _check_field(key: str, value: object, where: str) -> None:
    kind = FIELDS.get(key)
    if kind is None:
        raise KnowledgeError(where, f"unknown field (known: {', '.join(FIELDS)})")
    if not _is(kind, value):
        raise KnowledgeError(where, f"must be {_WORDS[kind]}, not {value!r}")


def _is(kind: str, value: object) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "ints":
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "table":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
