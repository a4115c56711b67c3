"""Every Dockerfile in ../shared/corpus through `harden fix --output`: no crash, outputs parse
(our scanner, dockerfile-parse and BuildKit) with the same instructions plus only the added
ones, a second run changes nothing, every changed line is attributed to a fix, and each
reviewed diff applies with `git apply --check`."""

from __future__ import annotations

import difflib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dockerfile
import pytest
from conftest import corpus_files

from harden import engine
from harden.config import Settings
from harden.dockerfile import DockerfileDocument
from harden.output import diff

FILES = corpus_files("dockerfile")


def harden_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harden", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("out")
    run = harden_cli("fix", "--offline", "--output", str(out), str(corpus))
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    return out


def test_corpus_has_163_dockerfiles(corpus: Path) -> None:
    assert len(FILES) == 163


def test_every_output_parses_and_keeps_every_instruction(hardened: Path, corpus: Path) -> None:
    problems = []
    for path in FILES:
        relative = path.relative_to(corpus)
        before = path.read_text(encoding="utf-8-sig")
        after = (hardened / relative).read_text(encoding="utf-8-sig")
        ours = [i.keyword for i in DockerfileDocument.parse(str(relative), after).instructions]
        theirs = [c.cmd.upper() for c in dockerfile.parse_string(after)]
        original = [c.cmd.upper() for c in dockerfile.parse_string(before)]
        if ours != theirs:
            problems.append(f"{relative}: BuildKit reads {theirs}, harden {ours}")
        if Counter(original) - Counter(theirs):
            problems.append(f"{relative}: instructions lost: {Counter(original) - Counter(theirs)}")
        if set(Counter(theirs) - Counter(original)) - {"RUN", "USER"}:
            problems.append(f"{relative}: unexpected additions {Counter(theirs) - Counter(original)}")
    assert problems == []


def test_second_run_changes_nothing(hardened: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run = harden_cli("fix", "--offline", "--output", str(again), str(hardened))
    assert run.returncode in (0, 1), run.stderr
    changed: list[Path] = []
    for path in hardened.rglob("*"):
        if path.is_file() and path.name != ".gitignore" and "secrets" not in path.parent.parts:  # created by env-secrets
            twin = again / path.relative_to(hardened)
            if twin.read_bytes() != path.read_bytes():
                changed.append(path)
    assert changed == []


def test_every_changed_line_is_attributed_to_a_fix(corpus: Path) -> None:
    unattributed = 0
    changed_files = 0
    for path in FILES:
        result = engine.run_text(str(path), "dockerfile", path.read_bytes(), Settings(offline=True))
        assert not result.errors, result.errors
        if not result.changed:
            continue
        changed_files += 1
        claimed = Counter(line for f in result.applied for e in f.fix.edits() for line in e.text.splitlines())  # type: ignore[union-attr]
        before = result.original.splitlines()
        after = result.output.splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if tag != "insert":
                unattributed += (i2 - i1) + (j2 - j1)
                continue
            for line in after[j1:j2]:
                if claimed[line.rstrip("\r")] > 0:
                    claimed[line.rstrip("\r")] -= 1
                else:
                    unattributed += 1
    print(f"{changed_files} corpus Dockerfiles changed; unattributed changed lines: {unattributed}")
    assert changed_files > 0
    assert unattributed == 0


def test_reviewed_diff_applies_with_git(corpus: Path, tmp_path: Path) -> None:
    failures = []
    checked = 0
    for path in FILES:
        relative = path.relative_to(corpus).as_posix()
        # --unsafe-fixes: every edit harden can make, evidence or not, must apply with git
        result = engine.run_text(relative, "dockerfile", path.read_bytes(), Settings(offline=True, unsafe_fixes=True))
        text = diff.reviewed(result)
        if "diff --git" not in text:
            continue  # nothing changed (perhaps only commentary on fixes not applied)
        checked += 1
        check = subprocess.run(["git", "apply", "--check", "-"], input=text.encode(), cwd=corpus, capture_output=True)
        if check.returncode != 0:
            failures.append(f"{relative}: {check.stderr.decode()}")
    assert checked > 0
    assert failures == []


def test_cli_diff_pipes_into_git_apply(corpus: Path) -> None:
    relative = "official/python/3.13/slim-bookworm/Dockerfile"
    if not (corpus / relative).exists():
        relative = next(p.relative_to(corpus).as_posix() for p in FILES)
    run = harden_cli("diff", "--offline", "--unsafe-fixes", relative, cwd=corpus)
    assert run.returncode == 1, run.stderr
    check = subprocess.run(["git", "apply", "--check", "-"], input=run.stdout.encode(), cwd=corpus, capture_output=True)
    assert check.returncode == 0, check.stderr
