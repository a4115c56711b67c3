"""What a run imports (start-up time is most of a user's run: tests/bench/bench_startup.py).

A run over Dockerfiles alone never imports the Compose package, YAML, the schema validators,
deepdiff (only a fix's semantic check needs it), jinja2 (only building a fix does), or the
process pool (only runs of many files); `check` of a Compose file never imports jsonschema
when the file is valid (the jsonschema-rs gate answers) nor the process pool.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

DEMO = ROOT / "fixtures" / "demo"
HEAVY_FOR_DOCKERFILES = (
    "harden.compose",
    "ruamel",
    "jsonschema",
    "jsonschema_rs",
    "deepdiff",
    "jinja2",
    "concurrent.futures.process",
    "multiprocessing",
    "harden.engine.pool",
    "harden.engine.executors",
)


def imported(*arguments: str) -> set[str]:
    """The modules a harden command run in a fresh interpreter has imported when it ends."""
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
        "from harden.cli import main\n"
        f"sys.argv = ['harden', *{list(arguments)!r}]\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode in (0, 1), run.stderr
    return set(run.stderr.split())


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_checking_a_dockerfile_imports_nothing_a_dockerfile_does_not_need() -> None:
    modules = imported("check", "--offline", "--quiet", str(DEMO / "Dockerfile"))
    assert "harden.passes.dockerfile.non_root_user" in modules  # it did run the passes
    assert loaded(modules, HEAVY_FOR_DOCKERFILES) == []


def test_checking_a_valid_compose_file_never_imports_jsonschema_nor_the_pool() -> None:
    modules = imported("check", "--offline", "--quiet", str(DEMO / "compose.yaml"))
    assert "jsonschema_rs" in modules and "ruamel.yaml" in modules  # it did validate
    assert loaded(modules, ("jsonschema", "harden.engine.pool", "multiprocessing")) == []


def test_an_invalid_compose_file_is_explained_by_jsonschema(tmp_path: Path) -> None:
    invalid = tmp_path / "compose.yaml"
    invalid.write_bytes((ROOT / "fixtures" / "compose-schema" / "invalid" / "input.yaml").read_bytes())
    modules = imported("check", "--offline", "--quiet", str(invalid))
    assert "jsonschema" in modules
