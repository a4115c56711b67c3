"""Golden fixtures: fixtures/<rule>/<case>/input.* -> expected (+ expected.diff for Dockerfiles).

`python tests/golden.py` rewrites the expected files from the current code; review the change
with `git diff fixtures/` before committing it. tests/test_golden.py compares.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# A case whose directory holds this (empty) file runs with --unsafe-fixes: its fix has no
# evidence (an unknown image), and the case is about how the edit is made.
UNSAFE_MARKER = "unsafe-fixes"
INPUTS = {"input.Dockerfile": ("dockerfile", "expected"), "input.yaml": ("compose", "expected.yaml")}


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    directory: Path
    kind: str
    input: Path
    expected: Path

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.name}"


def cases() -> list[Case]:
    found = []
    for directory in sorted(FIXTURES.glob("*/*")):
        for input_name, (kind, expected_name) in INPUTS.items():
            if (directory / input_name).is_file():
                rule = directory.parent.name
                found.append(Case(rule, directory.name, directory, kind, directory / input_name, directory / expected_name))
    return found


def settings_for(case: Case) -> object:
    """`--select <rule> --offline` (and --unsafe-fixes where the case says so), the lockfile
    searched from the case's directory."""
    from harden import passes
    from harden.config import Settings

    known = {m.RULE.id for m in passes.all_passes()}
    select = frozenset({case.rule}) if case.rule in known else frozenset()
    unsafe = (case.directory / UNSAFE_MARKER).is_file()
    return Settings(select=select, offline=True, search_from=(case.directory,), unsafe_fixes=unsafe)


def run(case: Case) -> tuple[bytes, str, object]:
    """(output bytes, reviewed diff, result) of `harden fix --select <rule>` on the case."""
    from harden import engine
    from harden.engine.convergence import encode
    from harden.output import diff

    settings = settings_for(case)
    result = engine.run_text(case.input.name, case.kind, case.input.read_bytes(), settings)  # type: ignore[arg-type]
    return encode(result, result.output), diff.reviewed(result), result


def main() -> None:
    for case in cases():
        if case.kind != "dockerfile":
            continue  # compose fixtures are written by hand
        output, reviewed, _ = run(case)
        case.expected.write_bytes(output)
        (case.directory / "expected.diff").write_text(reviewed, encoding="utf-8", newline="")
        print("wrote", case.id, file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
