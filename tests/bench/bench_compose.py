"""Benchmark: harden on Compose files, against a parse-only floor, the compose tools users pick
today, and (with --against REV) another revision of harden, side by side.

Run: python tests/bench/bench_compose.py [--against REV]   (prints times and ratios; not a timed test)

Peers, on every corpus Compose file:
- floor:            a fresh Python that round-trip loads the files with ruamel.yaml
- harden check:     `python -m harden check --quiet --offline FILE...`
- harden fix:       `python -m harden fix --quiet --offline --output TMP FILE...`
- compose-lint:     `compose-lint check FILE...` and `compose-lint fix FILE...` (a dry run that
                    prints its diff; PyPI compose-lint, the closest peer, which also fixes)
- dclint:           `dclint FILE...` (npm dclint@3.1.0; installed into the cache directory
                    below on first use when npm is available)

--against REV: the same harden commands run from this tree and from REV (checked out into a
temporary `git worktree`, removed afterwards), with the same Python, on what a user runs: one
Compose file, a project of three files (`-f` base, override, production file), and the corpus;
plus parse only (in-process, every corpus file parsed 20 times). This is how the fast loader's
worth was measured (harden/compose/__init__.py).

Each command is run several times and the best time counts.
"""

from __future__ import annotations

import argparse
import math
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
PARSE_ONLY = """
import sys, time
from harden.compose import parse
texts = [open(p, encoding="utf-8").read() for p in sys.argv[1:]]
for text in texts:
    parse("c.yaml", text)
best = None
for _ in range(5):
    start = time.perf_counter()
    for _ in range(20):
        for text in texts:
            parse("c.yaml", text)
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
print(best)
"""
ONE_FILE = "awesome-compose/react-express-mysql/compose.yaml"  # the corpus's largest Compose file
OVERRIDE = """services:
  backend:
    environment:
      - DEBUG=1
    ports:
      - 127.0.0.1:5858:5858
  frontend:
    volumes:
      - ./frontend/public:/code/public
"""
PRODUCTION = """services:
  backend:
    restart: always
    deploy:
      resources:
        limits:
          memory: 512m
  db:
    restart: unless-stopped
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


def corpus_files() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from harden.discover import kind_of

    return sorted(str(p) for p in CORPUS.rglob("*") if p.is_file() and kind_of(p.name) == "compose")


def peers(files: list[str]) -> None:
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


def scenarios(files: list[str], work: Path) -> dict[str, list[str]]:
    """What a user runs: {name: the arguments after the command}."""
    project = work / "project"
    project.mkdir()
    shutil.copy(CORPUS / ONE_FILE, project / "compose.yaml")
    (project / "compose.override.yaml").write_text(OVERRIDE, encoding="utf-8")
    (project / "compose.prod.yaml").write_text(PRODUCTION, encoding="utf-8")
    three = ["-f", str(project / "compose.yaml"), "-f", str(project / "compose.override.yaml")]
    return {
        "one file": [str(CORPUS / ONE_FILE)],
        "three-file project": [*three, "-f", str(project / "compose.prod.yaml")],
        f"corpus ({len(files)} files)": files,
    }


def commands(tree: Path, files: list[str], work: Path) -> dict[str, list[str]]:
    """{name: the harden command} for what a user runs, with `tree`'s harden."""
    python = [sys.executable, "-m", "harden"]
    found: dict[str, list[str]] = {}
    for name, arguments in scenarios(files, Path(tempfile.mkdtemp(dir=work))).items():
        out = tempfile.mkdtemp(dir=work)
        found[f"check, {name}"] = [*python, "check", "--quiet", "--offline", *arguments]
        found[f"fix --output, {name}"] = [*python, "fix", "--quiet", "--offline", "--output", out, *arguments]
    return found


def parse_only(tree: Path, files: list[str]) -> float:
    run = subprocess.run(
        [sys.executable, "-c", PARSE_ONLY, *files], cwd=tree, env=_env(tree), capture_output=True, text=True, check=True
    )
    return float(run.stdout)


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}  # the tree's own sources first on the path


def against(revision: str, files: list[str], runs: int = 9) -> None:
    """This tree and `revision` side by side; their runs alternate, so that a busy moment of the
    machine slows both."""
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        other = work / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), revision], check=True, capture_output=True
        )
        try:
            label = subprocess.run(
                ["git", "-C", str(other), "log", "-1", "--format=%h %s"], check=True, capture_output=True, text=True
            ).stdout.strip()
            trees = (other, ROOT)
            both = [commands(tree, files, work) for tree in trees]
            times: dict[str, list[float]] = {name: [math.inf, math.inf] for name in both[0]}
            for _ in range(runs):
                for name in times:
                    for i, tree in enumerate(trees):
                        took = best_of(both[i][name], 1, cwd=tree, env=_env(tree))
                        times[name][i] = min(times[name][i], took)
            times[f"parse only, {len(files)} files x 20 (in-process)"] = [parse_only(tree, files) for tree in trees]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    print(f"\n{label[:70]} against this tree, best of {runs}:")
    print(f"{'':<52}{revision:>10}{'this tree':>12}{'difference':>13}")
    for name, (before, now) in times.items():
        print(
            f"{name:<52}{before * 1000:>8.0f}ms{now * 1000:>10.0f}ms{(now - before) * 1000:>+10.0f}ms ({now / before - 1:+.0%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="REV", help="also time harden at this git revision, side by side")
    parser.add_argument("--no-peers", action="store_true", help="skip the comparison with the peer tools")
    options = parser.parse_args()
    files = corpus_files()
    print(f"{len(files)} Compose files from {CORPUS}")
    if not options.no_peers:
        peers(files)
    if options.against:
        against(options.against, files)


if __name__ == "__main__":
    main()
