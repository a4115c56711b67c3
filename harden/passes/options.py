"""Pass options, declared as yamllint's rules declare theirs.

A pass module may declare `OPTIONS`, a tuple of `Option`s: a name, a default, what it means (for
`harden explain`), and what a value must be beyond its type. The type is the default's: a
boolean, an integer, a string, or a list of strings (a tuple here). The engine gives each pass
its own options in its Context (`context.options`, read-only): the defaults, overridden by
`Settings.rule_options[rule id]` (`[tool.harden.rules.<rule id>]` in the configuration).

Settings the user writes are checked once, when a run starts (`check`): a rule id or option
name harden does not know, a value of the wrong type (`true` for an integer: YAML and TOML tell
them apart, so harden does too), or one an option refuses, is an OptionError whose message names
the rule, the option and what it wants. Nothing is guessed: a typo must not quietly fall back to
the default, as ruff and yamllint refuse unknown settings too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

OptionValue = bool | int | str | tuple[str, ...]
EMPTY: Mapping[str, Any] = MappingProxyType({})


class OptionError(ValueError):
    """A rule option harden cannot use; the message says which and why."""


@dataclass(frozen=True)
class Option:
    name: str
    default: OptionValue
    meaning: str  # one line for `harden explain`
    valid: Callable[[Any], bool] | None = None  # beyond the type; None: any value of the type
    expects: str = ""  # what `valid` wants, in words: "at least 1"

    def value(self, rule_id: str, given: object) -> OptionValue:
        """`given` as the option's value; OptionError when it is not one."""
        if isinstance(self.default, tuple) and isinstance(given, list | tuple):
            given = tuple(given)
        if not _same_type(self.default, given) or (self.valid is not None and not self.valid(given)):
            wants = _TYPE_WORDS[type(self.default)] + (f" ({self.expects})" if self.expects else "")
            raise OptionError(f"{rule_id}: option {self.name} must be {wants}, not {given!r}")
        return given  # type: ignore[return-value]  # its type was checked just above


_TYPE_WORDS: dict[type, str] = {bool: "true or false", int: "an integer", str: "a string", tuple: "a list of strings"}


def _same_type(default: OptionValue, given: object) -> bool:
    if isinstance(default, tuple):
        return isinstance(given, tuple) and all(isinstance(item, str) for item in given)
    if isinstance(default, bool) or isinstance(given, bool):
        return isinstance(default, bool) and isinstance(given, bool)
    return isinstance(given, type(default))


def declared(module: ModuleType) -> tuple[Option, ...]:
    return tuple(getattr(module, "OPTIONS", ()))


def resolve(module: ModuleType, overrides: Mapping[str, object]) -> Mapping[str, Any]:
    """A pass's options: its defaults, overridden by `overrides`; OptionError for a name it
    does not declare or a value it refuses."""
    options = {option.name: option for option in declared(module)}
    if not options and not overrides:
        return EMPTY
    rule_id = module.RULE.id
    unknown = [name for name in overrides if name not in options]
    if unknown:
        known = f"its options: {', '.join(options)}" if options else "it has none"
        raise OptionError(f"{rule_id}: no option {unknown[0]!r} ({known})")
    values = {name: option.default for name, option in options.items()}
    values.update((name, options[name].value(rule_id, given)) for name, given in overrides.items())
    return MappingProxyType(values)


def check(rule_options: Mapping[str, object], modules: Iterable[ModuleType]) -> None:
    """Every rule's settings resolve (see `resolve`); OptionError naming the first that does not."""
    by_id = {module.RULE.id: module for module in modules}
    for rule_id, overrides in rule_options.items():
        if rule_id not in by_id:
            raise OptionError(f"no rule {rule_id!r} to set options of (see `harden rules`)")
        if not isinstance(overrides, Mapping):
            raise OptionError(f"{rule_id}: options must be a mapping of option names to values, not {overrides!r}")
        resolve(by_id[rule_id], overrides)


def describe(module: ModuleType) -> list[str]:
    """`harden explain`'s lines for a pass's options: `name = default` (as JSON, which TOML and
    YAML read alike), then what it means; none for a pass without options."""
    found = declared(module)
    if not found:
        return []
    lines = ["options:"]
    for option in found:
        default = list(option.default) if isinstance(option.default, tuple) else option.default
        lines += [f"  {option.name} = {json.dumps(default)}", f"      {option.meaning}"]
        lines += [f"      (must be {option.expects})"] if option.expects else []
    return lines
