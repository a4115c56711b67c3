"""harden.images: the value types passes and the registry share, importable without the network stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import harden.images
import harden.registry

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
if "harden.passes" in sys.argv[1:]:
    import harden.passes
    harden.passes.all_passes()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore") or m.startswith("harden.registry"))))
"""


def loaded_after(*modules: str) -> list[str]:
    """The network modules (httpx, httpcore, harden.registry.*) a fresh interpreter has loaded
    after importing `modules`."""
    run = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    loaded: list[str] = json.loads(run.stdout)
    return loaded


def test_the_probe_sees_httpx_when_it_is_imported() -> None:
    assert {"httpx", "harden.registry.client"} <= set(loaded_after("harden.registry.client"))


@pytest.mark.parametrize("modules", [("harden.images",), ("harden.passes",), ("harden.dockerfile", "harden.dockerfile.build")])
def test_importing_never_loads_the_registry_or_httpx(modules: tuple[str, ...]) -> None:
    """Passes and documents get references and resolutions from harden.images: no HTTP client,
    no registry package (the import rules of issue 9)."""
    assert loaded_after(*modules) == []


def test_the_registry_re_exports_the_value_types_it_always_had() -> None:
    for name in ("Failure", "FailureKind", "Reference", "ReferenceError", "Resolution", "parse"):
        assert getattr(harden.registry, name) is getattr(harden.images, name)
