"""Every Compose file in ../shared/corpus through `harden fix --output` with every rule: no
crash, outputs parse and validate against the Compose Specification schema, a second run
changes nothing, every changed line is attributed to a fix (the count is printed: it must be
0), every service gets a fix or a finding, each reviewed diff applies with `git apply`, and
Docker Compose itself (tests/compose_oracle.py) accepts every output whose input it accepts."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from compose_oracle import accepts_all, projects
from conftest import ROOT, corpus_files
from ruamel.yaml import YAML

from harden import engine
from harden.config import Settings
from harden.output import diff

FILES = corpus_files("compose")
SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"


def harden_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harden", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("out")
    run = harden_cli("fix", "--offline", "--output", str(out), str(corpus))
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr and "nothing written" not in run.stderr, run.stderr
    return out


def test_corpus_has_39_compose_files(corpus: Path) -> None:
    assert len(FILES) == 39


def test_outputs_validate_against_the_schema(hardened: Path, corpus: Path) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    yaml = YAML(typ="safe", pure=True)
    changed = 0
    for path in FILES:
        output = hardened / path.relative_to(corpus)
        changed += output.read_bytes() != path.read_bytes()
        errors = [e.message for e in validator.iter_errors(yaml.load(output.read_text(encoding="utf-8-sig")))]
        assert errors == [], f"{output}: {errors[:3]}"
    assert changed == 39


def test_docker_compose_accepts_every_output(hardened: Path, corpus: Path) -> None:
    """`docker-compose config -q` on each output project (compose.yaml and compose.override.yaml
    in one directory are one project); an input it rejects too is no failure of harden's.
    Inputs are asked only about the outputs it rejects (half the time)."""
    inputs = projects(FILES)
    outputs = [tuple(hardened / p.relative_to(corpus) for p in project) for project in inputs]
    verdicts = accepts_all(outputs)
    suspects = [i for i, (ok, _) in enumerate(verdicts) if not ok]
    input_verdicts = dict(zip(suspects, accepts_all(inputs[i] for i in suspects), strict=True))
    rejected = [f"{outputs[i][0]}: {verdicts[i][1]}" for i in suspects if input_verdicts[i][0]]
    accepted = sum(ok for ok, _ in verdicts)
    rejected_inputs = len(suspects) - len(rejected)
    print(f"\ndocker compose accepts {accepted} of {len(outputs)} hardened corpus projects ({rejected_inputs} inputs rejected)")
    assert len(inputs) == 39
    assert rejected == []


def test_second_run_changes_nothing(hardened: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run = harden_cli("fix", "--offline", "--output", str(again), str(hardened))
    assert run.returncode in (0, 1), run.stderr
    # the files the first run's fixes created (secrets/, .gitignore: env-secrets) are not copied by
    # the second, which copies what it discovers (Dockerfiles, Compose files); it creates none
    created = [p for p in hardened.rglob("*") if p.is_file() and (p.name == ".gitignore" or "secrets" in p.parent.parts)]
    assert created and not any((again / p.relative_to(hardened)).exists() for p in created)
    copied = [p for p in hardened.rglob("*") if p.is_file() and p not in created]
    moved = [p for p in copied if (again / p.relative_to(hardened)).read_bytes() != p.read_bytes()]
    assert moved == []


def unattributed_lines(original: str, output: str, edit_texts: list[str], spans: list[tuple[int, int]]) -> int:
    """Changed lines no applied edit accounts for: an added line must contain text an edit
    inserted (a blank line needs none); a removed line must overlap a span an edit replaced."""
    fragments = [f.strip() for text in edit_texts for f in text.split("\n") if f.strip()]
    starts = [0]
    for line in original.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    before, after = original.split("\n"), output.split("\n")
    count = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for i in range(i1, i2):
            if not any(start < starts[i + 1] and end > starts[i] for start, end in spans if end > start):
                count += 1
        for line in after[j1:j2]:
            if line.strip() and not any(fragment in line for fragment in fragments):
                count += 1
    return count


def unattributed(path: Path, settings: Settings) -> tuple[int, Any]:
    result = engine.run_text(str(path), "compose", path.read_bytes(), settings)
    assert not result.errors, result.errors
    edits = [e for f in result.applied for e in f.fix.edits()]  # type: ignore[union-attr]
    return unattributed_lines(result.original, result.output, [e.text for e in edits], [(e.start, e.end) for e in edits]), result


def test_every_changed_line_is_attributed_and_every_service_is_covered(corpus: Path) -> None:
    """Each edit is placed in the text of its convergence round: where a later round's fix (one
    that waited for another at the same place) makes lines unattributable in the whole run, the
    file is checked again one rule at a time, each of which must account for its lines."""
    total_unattributed = 0
    uncovered = []
    for path in FILES:
        count, result = unattributed(path, Settings(offline=True))
        if count:
            rules = {f.rule.id for f in result.applied}
            count = sum(unattributed(path, Settings(offline=True, select=frozenset({rule})))[0] for rule in rules)
        total_unattributed += count
        services = YAML(typ="safe", pure=True).load(result.original)["services"]
        covered = {f.subject for f in result.findings}
        uncovered.extend(f"{path.name}: {name}" for name in services if name not in covered)
    print(f"unattributed changed lines over {len(FILES)} compose files: {total_unattributed}")
    assert total_unattributed == 0
    assert uncovered == []


def test_reviewed_diffs_apply_with_git(corpus: Path) -> None:
    failures = []
    for path in FILES:
        relative = path.relative_to(corpus).as_posix()
        result = engine.run_text(relative, "compose", path.read_bytes(), Settings(offline=True))
        text = diff.reviewed(result)
        assert text, relative
        check = subprocess.run(["git", "apply", "--check", "-"], input=text.encode(), cwd=corpus, capture_output=True)
        if check.returncode != 0:
            failures.append(f"{relative}: {check.stderr.decode()}")
    assert failures == []


def test_the_attribution_count_sees_noise() -> None:
    original = "services:\n  web:\n    image: x\n"
    assert unattributed_lines(original, original.replace("image: x", "image: y"), [], []) == 2
    assert unattributed_lines(original, original + "    read_only: true\n", ["    read_only: true\n"], [(34, 34)]) == 0
    assert unattributed_lines(original, original + "    user: root\n", ["read_only"], []) == 1
    # a blank line explains nothing and changes nothing (edits of later convergence rounds are
    # placed in their round's text, so where a blank line came from cannot be told here)
    assert unattributed_lines(original, "services:\n\n  web:\n    image: x\n", ["read_only"], []) == 0
