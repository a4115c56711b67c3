"""Issue 5's acceptance over the shared corpus, against a real registry on 127.0.0.1 that holds
an image under every name the corpus uses (each registry the corpus names is mirrored to it):
every FROM and image: is pinned or has a finding that says why; a cold run makes one manifest
request per unique reference; a warm run and an --offline run from the lockfile make none."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from runs import process

from harden import passes
from harden.config import Settings
from harden.discover import discover
from harden.engine.load import load
from harden.registry import Lockfile, ReferenceError, parse

from .conftest import registry_binary
from .oci_helpers import Images, push_index, start_registry

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PIN_RULES = frozenset({"pin-base-image", "pin-image"})


def corpus_references() -> list[str]:
    """Every reference the pin passes ask for, over the whole corpus."""
    sources, _ = discover([str(CORPUS)])
    found = []
    for source in sources:
        _, document = load(source.display, source.kind, source.path.read_bytes())
        for module in passes.passes_for(source.kind, Settings(select=PIN_RULES)):
            found.extend(module.references(document, Settings()))
    return found


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Images, Settings, int]]:
    if not CORPUS.is_dir():
        pytest.skip("no shared corpus beside this checkout")
    registry = start_registry(tmp_path_factory.mktemp("corpus-registry"), binary=registry_binary())
    images = Images(registry)
    unique: dict[str, tuple[str, str]] = {}
    references = corpus_references()
    for text in references:
        try:
            reference = parse(text)
        except ReferenceError:
            continue
        unique.setdefault(reference.canonical, (reference.repository, reference.lookup))
    registries = sorted({parse(t).registry for t in references if _parses(t)})
    with httpx.Client(timeout=10) as client:
        for repository, tag in unique.values():
            images.digests[f"{repository}:{tag}"] = push_index(client, images.base, repository, tag)[0]["digest"]
    settings = Settings(select=PIN_RULES, mirrors=tuple((name, images.base) for name in registries))
    try:
        yield images, settings, len(unique)
    finally:
        registry.stop()


def _parses(text: str) -> bool:
    try:
        parse(text)
    except ReferenceError:
        return False
    return True


def test_every_reference_is_pinned_or_explained(mirror: tuple[Images, Settings, int], tmp_path: Path) -> None:
    images, settings, unique = mirror
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    run = process([str(copy)], replace(settings, search_from=(copy,)), apply=True)
    assert run.resolver is not None
    assert run.resolver.requests_made == unique  # cold: one manifest request per unique reference
    unexplained = []
    for source, result in run.processed:
        assert not result.errors, result.errors
        _, document = load(source.display, source.kind, source.path.read_bytes())
        for module in passes.passes_for(source.kind, settings):
            for text in module.references(document, settings):
                pinned = f"{text}@sha256:" in result.output or (f"{text}@" in result.original)
                explained = any(text in f.message for f in result.findings if f.rule.id in PIN_RULES)
                if not (pinned or explained):
                    unexplained.append(f"{source.display}: {text}")
    assert unexplained == []
    pinned_lines = sum(r.output.count("@sha256:") - r.original.count("@sha256:") for r in run.results)
    print(f"{unique} unique references; {pinned_lines} references pinned")
    assert pinned_lines > 100

    warm = process([str(copy)], replace(settings, search_from=(copy,)), apply=True)
    assert warm.resolver is not None and warm.resolver.requests_made == 0  # warm: the cache answers

    lockfile = tmp_path / "harden.lock"
    run.resolver.updated_lockfile().save(lockfile)
    assert len(Lockfile.load(lockfile)) == unique
    offline = process([str(CORPUS)], replace(settings, offline=True, lockfile=lockfile, mirrors=()), apply=True)
    assert offline.resolver is not None and offline.resolver.requests_made == 0
    assert sum(r.output.count("@sha256:") - r.original.count("@sha256:") for r in offline.results) == pinned_lines
