"""What `harden fix --output` writes for the whole corpus, and what `harden diff` prints, stays
byte-identical unless a change means it to: the SHA-256 of every output file and of every
file's reviewed diff is recorded in tests/corpus_outputs.sha256.

A change that alters an output on purpose records the new hashes with
`python tests/test_corpus_outputs.py --record` and says why in its commit message; a
refactoring never needs to.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

RECORD = Path(__file__).resolve().parent / "corpus_outputs.sha256"
ROOT = RECORD.parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current(corpus: Path) -> dict[str, str]:
    """{"output <path>" or "diff <path>": sha256} for every file of the corpus harden reads."""
    hashes: dict[str, str] = {}
    cache = tempfile.mkdtemp(prefix="harden-cache-")  # an empty digest cache: only what the corpus says
    environment = {**os.environ, "XDG_CACHE_HOME": cache}
    with tempfile.TemporaryDirectory() as out:
        fix = subprocess.run(
            [sys.executable, "-m", "harden", "fix", "--offline", "--output", out, str(corpus)],
            capture_output=True,
            text=True,
            env=environment,
        )
        assert fix.returncode in (0, 1), fix.stderr
        for path in sorted(Path(out).rglob("*")):
            if path.is_file():
                hashes[f"output {path.relative_to(out).as_posix()}"] = _sha(path.read_bytes())
    diff = subprocess.run(
        [sys.executable, "-m", "harden", "diff", "--offline", "--color", "never", "."],
        capture_output=True,
        cwd=corpus,
        env=environment,
    )
    assert diff.returncode in (0, 1), diff.stderr
    for part in re.split(rb"(?m)^# harden: ", diff.stdout)[1:]:  # one reviewed diff per changed file
        name = part.split(b"\n", 1)[0].decode()
        hashes[f"diff {name}"] = _sha(part)
    return hashes


def recorded() -> dict[str, str]:
    lines = RECORD.read_text().splitlines()
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in lines if line and not line.startswith("#")}


def test_corpus_outputs_and_diffs_are_as_recorded(corpus: Path) -> None:
    now, before = current(corpus), recorded()
    changed = sorted(k for k in now.keys() & before.keys() if now[k] != before[k])
    assert (changed, sorted(now.keys() - before.keys()), sorted(before.keys() - now.keys())) == ([], [], [])


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    hashes = current(CORPUS)
    header = "# SHA-256 of `harden fix --output` and `harden diff` over ../shared/corpus (tests/test_corpus_outputs.py)\n"
    RECORD.write_text(header + "".join(f"{key} {value}\n" for key, value in sorted(hashes.items())))
    print(f"recorded {len(hashes)} hashes in {RECORD}")
