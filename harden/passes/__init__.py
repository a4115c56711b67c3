"""The pass registry: every rule, in the order the engine runs them.

A pass is a module with a `RULE` (harden.model.Rule), a module docstring that is the rule's
documentation (`harden explain`), and a pure function

    check(document, context) -> list[Finding]

It reads the parsed document and the read-only context and returns findings, each perhaps with
a Fix whose edits are built only when the engine applies it (harden.model.Fix: the pass wraps
its edit-building in a callable, and never knows which command runs). It never opens files,
talks to the network or prints: only the engine does I/O. Adding a capability is adding a
module here, never a second pipeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from harden.config import Settings
from harden.model import Applicability, Finding

# (module under harden.passes, the document kind it reads), in the order the passes run.
# The kind is written here too so that a run over Dockerfiles never imports the Compose
# passes (start-up time); tests/test_passes_registry.py checks it against each RULE.
PASS_MODULES: tuple[tuple[str, str], ...] = (
    ("compose_schema", "compose"),
    ("pin_base_image", "dockerfile"),
    ("non_root_user", "dockerfile"),
    ("compose_pin_image", "compose"),
    ("compose_non_root", "compose"),
    ("compose_cap_drop_all", "compose"),
    ("compose_no_new_privileges", "compose"),
    ("compose_read_only_rootfs", "compose"),
    ("compose_resource_limits", "compose"),
    ("compose_published_ports", "compose"),
    ("compose_privileged", "compose"),
    ("compose_host_namespaces", "compose"),
    ("compose_docker_socket", "compose"),
    ("compose_sensitive_mount", "compose"),
    ("compose_devices", "compose"),
    ("compose_docker_api_tcp", "compose"),
)


def any_fix(finding: Finding) -> bool:
    """Every fix that may be applied at all (not `display`)."""
    return finding.applicability is not Applicability.DISPLAY


@dataclass(frozen=True)
class Context:
    """What a pass may read besides the document."""

    settings: Settings = field(default_factory=Settings)
    # Which fixes the run applies (or, for `check`, would apply): the engine's selector. A pass
    # that needs to know what another fix adds in the same run asks it (compose_support).
    chooses: Callable[[Finding], bool] = any_fix
    digests: dict[str, Any] = field(default_factory=dict)  # reference -> registry resolution
    locked: dict[str, Any] = field(default_factory=dict)  # reference -> its lockfile entry, if any
    # The Compose project's documents in merge order, this one included, then a project.Extended
    # for each file of the run that an `extends: {file: ...}` names.
    related: tuple[Any, ...] = ()


@cache
def all_passes() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"harden.passes.{name}") for name, _ in PASS_MODULES)


@cache
def _passes_of(kind: str) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"harden.passes.{name}") for name, of in PASS_MODULES if of == kind)


def passes_for(kind: str, settings: Settings) -> list[ModuleType]:
    return [p for p in _passes_of(kind) if settings.rule_enabled(p.RULE.id)]


def rule(rule_id: str) -> ModuleType | None:
    for module in all_passes():
        if module.RULE.id == rule_id:
            return module
    return None
