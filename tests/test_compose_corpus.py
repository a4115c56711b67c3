"""Every compose file of the shared corpus: parse, read, no-op byte for byte, zero-noise hardening.

The hardening edit is what the cap-drop-all and no-new-privileges passes do to every service:
`cap_drop: [ALL]` and `security_opt: [no-new-privileges:true]` (merged into an existing list).
The output must re-parse, validate against the Compose Specification schema, change only those
two keys semantically, and its line diff against the input must be additions only.
"""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

import pytest
from conftest import CORPUS
from ruamel.yaml import YAML

from harden.compose import ComposeDocument, parse, validate_output
from harden.engine.guard import semantic_changes
from harden.engine.load import decode
from harden.model import Edit, apply_edits

COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:[.-][\w.-]*)?\.ya?ml$")


def compose_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.y*ml") if p.is_file() and COMPOSE_NAME.match(p.name))


FILES = compose_files()


def load(path: Path) -> ComposeDocument:
    text, _ = decode(path.read_bytes())
    return parse(str(path), text)


def harden_edits(document: ComposeDocument) -> list[Edit]:
    edits: list[Edit] = []
    for service in document.services.values():
        if not service.own("cap_drop"):
            edits += document.add_key(service, "cap_drop", ["ALL"])
        if service.own("security_opt"):
            if "no-new-privileges:true" not in service.get("security_opt"):
                edits += document.extend_sequence(service, "security_opt", ["no-new-privileges:true"])
        else:
            edits += document.add_key(service, "security_opt", ["no-new-privileges:true"])
    return edits


def non_additions(before: str, after: str) -> list[str]:
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [line for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal" and tag != "insert" for line in old[i1:i2]]


def test_the_corpus_is_there(corpus: Path) -> None:
    assert len(FILES) == 39, [str(p) for p in FILES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_parse_and_semantic_equal_the_safe_loader(path: Path) -> None:
    document = load(path)
    assert document.services
    assert document.semantic() == YAML(typ="safe").load(document.text)
    assert document.schema_errors == []
    assert apply_edits(document.text, [], document.newline) == document.text  # a no-op is byte for byte


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_hardening_every_service_is_additions_only(path: Path) -> None:
    document = load(path)
    output = apply_edits(document.text, harden_edits(document), document.newline)
    after = parse(str(path), output)
    assert validate_output(document, after) == []
    assert non_additions(document.text, output) == []
    for change in semantic_changes(document.semantic(), after.semantic()):
        assert change.path[0] == "services" and change.path[2] in ("cap_drop", "security_opt"), change.describe()
    for name, service in after.services.items():
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt"), name
    assert harden_edits(after) == []  # converged


def test_corpus_totals_and_parse_time(corpus: Path) -> None:
    """Prints the count of non-addition lines over the whole corpus (must be 0) and parse time."""
    texts = [decode(p.read_bytes())[0] for p in FILES]
    parse("warm-up.yaml", texts[0])
    start = time.perf_counter()
    documents = [parse(str(p), t) for p, t in zip(FILES, texts, strict=True)]
    elapsed = time.perf_counter() - start
    bad = 0
    added = 0
    for document in documents:
        output = apply_edits(document.text, harden_edits(document), document.newline)
        bad += len(non_additions(document.text, output))
        added += len(output.splitlines()) - len(document.text.splitlines())
    print(f"\ncompose corpus: {len(documents)} files parsed in {elapsed:.3f} s; {added} lines added, {bad} non-addition lines")
    assert bad == 0
