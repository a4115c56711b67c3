"""The pass registry is consistent: kinds in PASS_MODULES match each RULE, ids are unique,
and every pass has a docstring with what, why and what might break."""

from __future__ import annotations

import importlib

from harden.passes import PASS_MODULES, all_passes, kind_of


def test_registry_kinds_match_rules() -> None:
    for name in PASS_MODULES:
        module = importlib.import_module(f"harden.passes.{name}")
        assert module.RULE.kinds == (kind_of(name),), name


def test_rule_ids_are_unique_and_documented() -> None:
    ids = [m.RULE.id for m in all_passes()]
    assert len(ids) == len(set(ids))
    for module in all_passes():
        doc = (module.__doc__ or "").lower()
        safety = "might break" in doc or "fix safety: display" in doc  # a display rule changes nothing
        assert module.RULE.control and safety and "why" in doc, module.RULE.id
