"""`Want`: one key a Compose pass wants on a service (harden.passes.compose.placement places it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Want:
    """One key a pass wants on a service: `add` it with `value` when absent, or `extend` the list
    the user set with the items of `value`."""

    key: str
    value: object
    extend: bool = False
    comments: dict[str, str] | None = None

    def same(self, other: Want) -> bool:
        return (self.key, _freeze(self.value), self.extend, _freeze(self.comments)) == (
            other.key,
            _freeze(other.value),
            other.extend,
            _freeze(other.comments),
        )


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value
