"""Docker Compose as the oracle: the oracle itself can fail, and every golden fixture's expected
output is a project Docker Compose accepts whenever it accepts the fixture's input.

The corpus run is in tests/test_corpus_compose_cli.py (it reuses that module's `harden fix
--output` run); the hand-written projects of each pass are in tests/test_compose_accepted.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from compose_oracle import accepts, accepts_all, projects

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def write(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_oracle_rejects_what_compose_rejects(tmp_path: Path) -> None:
    good = write(tmp_path / "good", "services:\n  db:\n    image: postgres:16\n    pids_limit: 100\n")
    assert accepts([good]) == (True, "")
    bad = write(
        tmp_path / "bad",
        "services:\n  db:\n    image: postgres:16\n    pids_limit: 100\n"
        "    deploy:\n      resources:\n        limits:\n          memory: 1G\n",
    )
    ok, message = accepts([bad])
    assert not ok
    assert "can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'" in message


def test_unset_variables_only_warn_and_env_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, 'services:\n  db:\n    image: "postgres:${TAG}"\n    ports: ["${BIND}:5432:5432"]\n')
    assert accepts([path]) == (True, "")
    (tmp_path / ".env").write_text("BIND=127.0.0.1:127.0.0.1\n", encoding="utf-8")
    ok, message = accepts([path])
    assert not ok and "invalid IP address" in message


def test_an_override_file_is_merged_in_order(tmp_path: Path) -> None:
    base = write(tmp_path, "services:\n  db:\n    image: postgres:16\n    security_opt: [no-new-privileges:true]\n")
    override = write(tmp_path, "services:\n  db:\n    security_opt: [no-new-privileges:true]\n", "compose.override.yaml")
    assert projects([override, base]) == [(base, override)]
    ok, message = accepts([base, override])
    assert not ok and "security_opt items at 0 and 1 are equal" in message


def fixture_projects(directory: Path, work: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """(input project, expected output project) of one golden case, copied under `work` with
    Compose's file names (an override case keeps its pair of files)."""
    if (directory / "input.yaml").is_file():
        pairs = {"compose.yaml": ("input.yaml", "expected.yaml")}
    else:
        names = ("compose.yaml", "compose.override.yaml")
        pairs = {n: (n, f"expected.{n}") for n in names if (directory / n).is_file()}
    sides = []
    for side, label in enumerate(("input", "output")):
        target = work / directory.parent.name / directory.name / label
        target.mkdir(parents=True)
        sides.append(tuple(Path(shutil.copy(directory / sources[side], target / name)) for name, sources in pairs.items()))
    return sides[0], sides[1]


def rejected_outputs(pairs: list[tuple[tuple[Path, ...], tuple[Path, ...]]]) -> tuple[list[str], int]:
    """(Compose's message for each output it rejects although it accepts the input, how many
    inputs it accepts). Outputs are checked first, inputs only where needed: an output that is
    byte for byte its input has the input's verdict, and an accepted output needs no input."""
    changed = [(i, o) for i, o in pairs if any(a.read_bytes() != b.read_bytes() for a, b in zip(i, o, strict=True))]
    verdicts = dict(zip([o for _, o in changed], accepts_all(o for _, o in changed), strict=True))
    suspects = [(i, o) for i, o in pairs if not verdicts.get(o, (True, ""))[0]]
    inputs = dict(zip([i for i, _ in suspects], accepts_all(i for i, _ in suspects), strict=True))
    rejected = [f"{o[0].parent}: {verdicts[o][1]}" for i, o in suspects if inputs[i][0]]
    return rejected, len(pairs) - sum(not ok for ok, _ in inputs.values())


def test_docker_compose_accepts_every_golden_output(tmp_path: Path) -> None:
    """Every compose rule's golden cases and the override cases (fixtures/compose-document holds
    edits of the YAML layer, not harden's outputs)."""
    cases = [d for d in sorted(FIXTURES.glob("*/*")) if (d / "input.yaml").is_file() or (d / "compose.yaml").is_file()]
    pairs = [fixture_projects(case, tmp_path) for case in cases]
    rejected, accepted_inputs = rejected_outputs(pairs)
    print(f"\ngolden compose fixtures: {accepted_inputs} of {len(pairs)} inputs accepted by docker compose")
    assert rejected == []
    assert accepted_inputs == len(pairs)  # so that no case is left out of the comparison
