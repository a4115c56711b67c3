"""The pass registry: every rule, in the order the engine runs them.

A pass is a module with a `RULE` (harden.model.Rule), a module docstring that is the rule's
documentation (`harden explain`), and a pure function

    check(document, context) -> list[Finding]

It reads the parsed document and the read-only context and returns findings, each perhaps with
a Fix. It never opens files, talks to the network or prints: only the engine does I/O.
Adding a capability is adding a module here, never a second pipeline.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, Protocol

from harden.config import Settings
from harden.model import Finding, Rule

# Module names under harden.passes, in the order they run.
PASS_MODULES: tuple[str, ...] = ("pin_base_image", "compose_pin_image", "non_root_user", "compose_non_root", "compose_cap_drop_all", "compose_no_new_privileges", "compose_read_only_rootfs", "compose_resource_limits", "compose_published_ports", "compose_privileged", "compose_host_namespaces", "compose_docker_socket", "compose_sensitive_mount", "compose_devices", "compose_docker_api_tcp")  # noqa: E501


@dataclass(frozen=True)
class Context:
    """What a pass may read besides the document."""

    settings: Settings = field(default_factory=Settings)
    # False for `check`, which reports that a fix exists and how safe it is but never applies
    # it: a pass may then leave Fix.edits and Fix.claims empty and skip rendering templates.
    need_edits: bool = True
    digests: dict[str, Any] = field(default_factory=dict)  # reference -> registry resolution
    related: tuple[Any, ...] = ()  # other documents of the same project (compose override files)


class Pass(Protocol):
    RULE: Rule
    __doc__: str | None

    def check(self, document: Any, context: Context) -> list[Finding]: ...


@cache
def all_passes() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"harden.passes.{name}") for name in PASS_MODULES)


def passes_for(kind: str, settings: Settings) -> list[ModuleType]:
    return [p for p in all_passes() if kind in p.RULE.kinds and settings.rule_enabled(p.RULE.id)]


def rule(rule_id: str) -> ModuleType | None:
    for module in all_passes():
        if module.RULE.id == rule_id:
            return module
    return None
