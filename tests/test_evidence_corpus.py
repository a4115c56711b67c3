"""Issue 10's acceptance: over the corpus, every fix `harden fix` applies by default has
evidence other than `none` (safe fixes change no behaviour and need none), read from the JSON
output of `harden diff` (what `fix` applies, written nowhere)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_every_fix_applied_by_default_over_the_corpus_has_evidence(corpus: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harden", "diff", "--offline", "--format", "json", "."], cwd=corpus, capture_output=True, text=True
    )
    assert run.returncode in (1, 2), run.stderr
    files = json.loads(run.stdout)["files"]
    applied = [(entry["path"], f) for entry in files for f in entry["findings"] if f["applied"]]
    assert len(applied) > 100
    behaviour = [(path, f) for path, f in applied if f["fix"]["applicability"] != "safe"]
    assert behaviour and all(f["fix"]["applicability"] == "review" for _, f in behaviour)
    without = [f"{path}: {f['rule']} {f['subject']}" for path, f in behaviour if not _has_evidence(f)]
    assert without == []
    held = [f for entry in files for f in entry["findings"] if f["fix"] and f["fix"]["applicability"] == "unsafe"]
    assert held and not any(f["applied"] for f in held)  # shown, never applied without --unsafe-fixes


def _has_evidence(finding: dict[str, object]) -> bool:
    fix = finding["fix"]
    assert isinstance(fix, dict)
    kinds = {e["kind"] for e in fix["evidence"]}
    return bool(kinds) and "none" not in kinds
