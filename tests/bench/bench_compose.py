"""Benchmark: harden on every corpus Compose file, against a parse-only floor and the two
compose tools users pick today.

Run: python tests/bench/bench_compose.py   (prints times and ratios; not a timed test)

- floor:            a fresh Python that round-trip loads the files with ruamel.yaml
- harden check:     `python -m harden check --quiet --offline FILE...`
- harden fix:       `python -m harden fix --quiet --offline --output TMP FILE...`
- compose-lint:     `compose-lint check FILE...` and `compose-lint fix FILE...` (a dry run that
                    prints its diff; PyPI compose-lint, the closest peer, which also fixes)
- dclint:           `dclint FILE...` (npm dclint@3.1.0; installed into the cache directory
                    below on first use when npm is available)
Each is run three times and the best time counts. Goal: harden faster than both peers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
DCLINT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harden-bench" / "dclint"
FLOOR = """
import sys
from ruamel.yaml import YAML
yaml = YAML()
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        yaml.load(handle)
"""


def dclint() -> str | None:
    binary = DCLINT_DIR / "node_modules" / ".bin" / "dclint"
    if not binary.exists() and shutil.which("npm"):
        DCLINT_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(DCLINT_DIR), "dclint@3.1.0"],
            check=False,
            capture_output=True,
        )
    return str(binary) if binary.exists() else None


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from harden.discover import kind_of

    files = sorted(str(p) for p in CORPUS.rglob("*") if p.is_file() and kind_of(p.name) == "compose")
    print(f"{len(files)} Compose files from {CORPUS}")
    harden = [sys.executable, "-m", "harden"]
    with tempfile.TemporaryDirectory() as out:
        times = {
            "parse-only floor (ruamel round trip)": best_of([sys.executable, "-c", FLOOR, *files]),
            "harden check": best_of([*harden, "check", "--quiet", "--offline", *files]),
            "harden fix --output": best_of([*harden, "fix", "--quiet", "--offline", "--output", out, *files]),
        }
    compose_lint = shutil.which("compose-lint") or str(Path(sys.executable).parent / "compose-lint")
    if Path(compose_lint).exists():
        times["compose-lint check"] = best_of([compose_lint, "check", *files])
        times["compose-lint fix (dry run)"] = best_of([compose_lint, "fix", *files])
    else:
        print("compose-lint: not installed (pip install compose-lint)")
    peer = dclint()
    if peer:
        times["dclint"] = best_of([peer, *files])
    else:
        print("dclint: not installed (needs npm: npm install dclint@3.1.0)")
    for name, seconds in times.items():
        print(f"{name + ':':<40}{seconds:.3f} s")
    floor = times["parse-only floor (ruamel round trip)"]
    check, fix = times["harden check"], times["harden fix --output"]
    print(f"harden check / floor:                   {check / floor:.2f}")
    if "compose-lint check" in times:
        print(f"harden check / compose-lint check:      {check / times['compose-lint check']:.2f}  (goal: < 1)")
        print(f"harden fix / compose-lint fix:          {fix / times['compose-lint fix (dry run)']:.2f}  (goal: < 1)")
    if "dclint" in times:
        print(f"harden check / dclint:                  {check / times['dclint']:.2f}  (goal: < 1)")


if __name__ == "__main__":
    main()
