"""The pass registry: every rule, in the order the engine runs them.

A pass is a module with a `RULE` (harden.model.Rule), a module docstring that is the rule's
documentation (`harden explain`), perhaps `OPTIONS` (harden.passes.options), and a pure function

    check(document, context) -> list[Finding]

It reads the parsed document and the read-only context and returns findings, each perhaps with
a Fix whose edits are built only when the engine applies it (harden.model.Fix: the pass wraps
its edit-building in a callable, and never knows which command runs). It never opens files,
talks to the network or prints: only the engine does I/O. Adding a capability is adding a
module here, never a second pipeline.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from harden.config import Settings
from harden.model import Applicability, Finding
from harden.passes import options as pass_options

if TYPE_CHECKING:
    from harden.compose import ComposeDocument
    from harden.dockerfile.build import Build

# What the fixes of one rule (by id), applied as the run applies them, add to each service of a
# Compose document: {service: {key: the items added to a list, or the new value}}.
Additions = Callable[[str, "ComposeDocument"], dict[str, dict[str, Any]]]

# The pass modules, in the order the passes run: `KIND.MODULE` under harden.passes, grouped by the
# document kind they read (harden/passes/compose/, harden/passes/dockerfile/). The kind is the
# package, so that a run over Dockerfiles never imports the Compose passes (start-up time);
# tests/test_passes_registry.py checks it against each RULE.
PASS_MODULES: tuple[str, ...] = (
    "compose.schema",
    "dockerfile.pin_base_image",
    "dockerfile.non_root_user",
    "dockerfile.add_instead_of_copy",
    "dockerfile.sudo",
    "dockerfile.curl_pipe_shell",
    "dockerfile.chmod_777",
    "dockerfile.build_secrets",
    "compose.pin_image",
    "compose.non_root",
    "compose.cap_drop_all",
    "compose.no_new_privileges",
    "compose.read_only_rootfs",
    "compose.resource_limits",
    "compose.published_ports",
    "compose.privileged",
    "compose.host_namespaces",
    "compose.docker_socket",
    "compose.sensitive_mount",
    "compose.devices",
    "compose.docker_api_tcp",
    "compose.security_profiles",
    "compose.dangerous_capabilities",
    "compose.tmpfs_exec",
    "compose.mount_propagation",
    "compose.logging_disabled",
    "compose.traefik_api_insecure",
    "compose.refused_volume",
    "compose.user_defined_networks",
    "compose.build_secrets",
    "compose.env_secrets",
)


class Builder(NamedTuple):
    """A Compose service of the run that builds a Dockerfile of the run (Context.builders)."""

    document: Any  # its ComposeDocument as read, before any fix of the run
    related: tuple[Any, ...]  # that document's Context.related
    service: str
    stage: str  # the label of the stage it builds


def any_fix(finding: Finding) -> bool:
    """Every fix that may be applied at all (not `display`)."""
    return finding.applicability is not Applicability.DISPLAY


@dataclass(frozen=True)
class Context:
    """What a pass may read besides the document. The engine makes one per file (and run)."""

    settings: Settings = field(default_factory=Settings)
    # Which fixes the run applies (or, for `check`, would apply): the engine's selector.
    chooses: Callable[[Finding], bool] = any_fix
    digests: dict[str, Any] = field(default_factory=dict)  # reference -> registry resolution
    locked: dict[str, Any] = field(default_factory=dict)  # reference -> its lockfile entry, if any
    # The Compose project's documents in merge order, this one included, then a project.Extended
    # for each file of the run that an `extends: {file: ...}` names.
    related: tuple[Any, ...] = ()
    # A pure query: what a rule's fixes add to the services of a Compose document in this run
    # (harden.engine.convergence.Additions: the engine runs that rule alone on the document, with
    # its own choosing and applying, and remembers the answer while the file is analysed). A
    # service that extends another asks it about its base (harden.passes.compose.inherit). None
    # while the engine runs a rule to answer it (a pass then sees no inheritance, so the query
    # never recurses), and in a Context made by hand.
    additions: Additions | None = None
    # This pass's options (harden.passes.options): its defaults, overridden by
    # Settings.rule_options. The engine gives each pass its own (`for_pass`).
    options: Mapping[str, Any] = field(default_factory=lambda: pass_options.EMPTY)
    # For a Compose file: the Dockerfile each service with `build:` builds, and the stage really
    # built (`build.target`, else the last), read by the engine (harden.engine.context.builds).
    builds: Mapping[str, Build] = field(default_factory=dict)
    # The project's verified records (harden.verified.Record by harden.verified.key): what a
    # recorded run showed an image needs, evidence for the Compose passes. Read by the engine.
    verified: Mapping[str, Any] = field(default_factory=dict)
    # For a Dockerfile: the stages that Compose services of the run build from it, stage label ->
    # the services (`build.target`, else the last stage), read by the engine
    # (harden.engine.context.built_stages). Empty: no service of the run builds it.
    built_stages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # For a Compose file: its project's interpolation variables, from the `.env` beside its first
    # file or the `--env-file` files (harden.compose.interpolate; never the process environment),
    # read by the engine. Passes read values through them (Service.resolved_image, ports) and
    # never write a resolved value back.
    variables: Mapping[str, str] = field(default_factory=dict)
    # For a Compose file: service -> the files it reads besides the Compose file (its env_file
    # files, proxy configuration mounted into it or copied by its build), as
    # harden.compose.attached.Attached, read by the engine (harden.engine.attached).
    attached: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # For a Compose file read from disk: the text of the `.gitignore` beside it (None: there is
    # none, or standard input), read by the engine (harden.engine.context.gitignore), so that a
    # fix that creates secret files can have them ignored (a NewFile with `base`).
    gitignore: str | None = None
    # For a Dockerfile of the run that Compose services of the run build, and for those Compose
    # files: Dockerfile (its path as shown) -> every such service (`Builder`), read by the engine
    # (harden.engine.context.builders), so that a fix of the Dockerfile and its counterpart in each
    # Compose file are decided alike on both sides (build-secrets).
    builders: Mapping[str, tuple[Builder, ...]] = field(default_factory=dict)

    def for_pass(self, module: ModuleType) -> Context:
        """This context for one pass: with that pass's options. A pass that runs another pass's
        `check` gives it the context `for_pass(that module)`."""
        overrides = self.settings.rule_options.get(module.RULE.id, {})
        return dataclasses.replace(self, options=pass_options.resolve(module, overrides))


@cache
def all_passes() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"harden.passes.{name}") for name in PASS_MODULES)


@cache
def _passes_of(kind: str) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"harden.passes.{name}") for name in PASS_MODULES if kind_of(name) == kind)


def kind_of(name: str) -> str:
    """The document kind a pass module of PASS_MODULES reads: its package."""
    return name.split(".", 1)[0]


def passes_for(kind: str, settings: Settings) -> list[ModuleType]:
    return [p for p in _passes_of(kind) if settings.rule_enabled(p.RULE.id)]


def rule_modules() -> tuple[ModuleType, ...]:
    """One pass module per rule, the first of PASS_MODULES (a rule whose `kinds` are several has a
    module for each: build-secrets; the first documents the rule)."""
    found: dict[str, ModuleType] = {}
    for module in all_passes():
        found.setdefault(module.RULE.id, module)
    return tuple(found.values())


def rule(rule_id: str) -> ModuleType | None:
    for module in all_passes():
        if module.RULE.id == rule_id:
            return module
    return None


def check_options(settings: Settings) -> None:
    """Settings.rule_options name rules and options that exist, with values they take;
    harden.passes.options.OptionError otherwise. Every pass is imported, only when some are set."""
    if settings.rule_options:
        pass_options.check(settings.rule_options, all_passes())
