"""Acceptance: a reviewer goes through a copy of the whole corpus (../shared/corpus) with `harden
review` in a real pseudo-terminal, approving every other change; exactly the approved changes land (`harden check`
still reports each skipped fix and none of the approved ones), Docker Compose accepts every
output (tests/compose_oracle.py), and `harden fix --decisions` on another copy writes the same
files byte for byte."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
from compose_oracle import accepts_all
from test_review import PROMPT, environment


def copy(corpus: Path, target: Path) -> Path:
    shutil.copytree(corpus, target, ignore=shutil.ignore_patterns("LICENSE", "SOURCES.md"))
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return target


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def review_every_other_change(root: Path, saved: Path) -> tuple[int, str]:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "harden", "review", "--offline", "--save-decisions", str(saved), "."],
        cwd=str(root),
        encoding="utf-8",
        timeout=120,
        dimensions=(50, 200),
        env=environment(NO_COLOR="1"),
    )
    child.logfile_read = log = io.StringIO()
    answers = 0
    while child.expect_exact([PROMPT, "Review: "]) == 0:
        child.sendline("y" if answers % 2 == 0 else "n")
        answers += 1
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return int(child.exitstatus), log.getvalue()


def test_a_review_of_corpus_projects_writes_exactly_the_approved_changes(corpus: Path, tmp_path: Path) -> None:
    reviewed, replayed = copy(corpus, tmp_path / "reviewed"), copy(corpus, tmp_path / "replayed")
    before = tree(reviewed)
    saved = tmp_path / "decisions.json"
    status, shown = review_every_other_change(reviewed, saved)
    assert status == 1, shown[-3000:]
    total = int(re.search(r"\(1/(\d+)\)", shown).group(1))  # type: ignore[union-attr]
    assert f"Review: {(total + 1) // 2} changes applied, {total // 2} skipped." in shown

    decisions = json.loads(saved.read_text())["decisions"]
    approved = {d["id"] for d in decisions if d["decision"] == "apply"}
    skipped = {d["id"] for d in decisions if d["decision"] == "skip"}
    assert approved and skipped and {d["decision"] for d in decisions} == {"apply", "skip"}
    check = subprocess.run(
        [sys.executable, "-m", "harden", "check", "--offline", "--format", "json", "."],
        cwd=reviewed,
        capture_output=True,
        text=True,
        env=environment(),
    )
    fixable = {f["id"] for file in json.loads(check.stdout)["files"] for f in file["findings"] if f["fix"]}
    assert approved & fixable == set()  # every approved change landed
    assert skipped <= fixable  # every skipped change is still to do

    after = tree(reviewed)
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed
    outputs = sorted(p for p in reviewed.rglob("*") if p.name.startswith(("compose.", "docker-compose.")))
    verdicts = accepts_all((p,) for p in outputs)
    suspects = [i for i, (ok, _) in enumerate(verdicts) if not ok]  # an input Compose refuses too is no failure
    inputs = accepts_all((corpus / outputs[i].relative_to(reviewed),) for i in suspects)
    assert len(outputs) == 39
    assert [f"{outputs[i]}: {verdicts[i][1]}" for i, (ok, _) in zip(suspects, inputs, strict=True) if ok] == []

    replay = subprocess.run(
        [sys.executable, "-m", "harden", "fix", "--offline", "--decisions", str(saved), "."],
        cwd=replayed,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert replay.returncode == 1, replay.stderr
    assert tree(replayed) == after
