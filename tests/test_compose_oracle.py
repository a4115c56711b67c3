"""Docker Compose as the oracle: the oracle itself can fail, and every golden fixture's expected
output is a project Docker Compose accepts whenever it accepts the fixture's input.

The corpus run is in tests/test_corpus_compose_cli.py (it reuses that module's `harden fix
--output` run); the hand-written projects of each pass are in tests/test_compose_accepted.py.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import compose_oracle
import pytest
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
    """(input project, expected output project) of one golden case, copied under `work`.

    A rule's case is input.yaml -> expected.yaml; a project case (compose-override,
    compose-extends) is a directory of files with the expected output of each changed file
    beside it as expected.<name>; the project is compose.yaml and compose.override.yaml."""
    target = work / directory.parent.name / directory.name
    if (directory / "input.yaml").is_file():
        (target / "input").mkdir(parents=True)
        (target / "output").mkdir(parents=True)
        given = shutil.copy(directory / "input.yaml", target / "input" / "compose.yaml")
        expected = shutil.copy(directory / "expected.yaml", target / "output" / "compose.yaml")
        return (Path(given),), (Path(expected),)
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("expected.")):
        relative = path.relative_to(directory)
        result = path.with_name(f"expected.{path.name}")
        for side, source in (("input", path), ("output", result if result.is_file() else path)):
            (target / side / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / side / relative)
    names = [n for n in ("compose.yaml", "compose.override.yaml") if (directory / n).is_file()]
    return tuple(target / "input" / n for n in names), tuple(target / "output" / n for n in names)


def rejected_outputs(pairs: list[tuple[tuple[Path, ...], tuple[Path, ...]]]) -> tuple[list[str], int, int]:
    """(Compose's message for each output it rejects although it accepts the input, how many
    outputs differ from their input, how many of those it accepts). Only outputs that differ
    from their input are asked (an unchanged one has the input's verdict), and inputs only for
    the outputs it rejects."""
    changed = [(i, o) for i, o in pairs if _differ(i[0].parent.parent / "input", o[0].parent.parent / "output")]
    verdicts = accepts_all(o for _, o in changed)
    suspects = [(i, o, message) for (i, o), (ok, message) in zip(changed, verdicts, strict=True) if not ok]
    inputs = accepts_all(i for i, _, _ in suspects)
    rejected = [f"{o[0].parent.parent}: {message}" for (_, o, message), (ok, _) in zip(suspects, inputs, strict=True) if ok]
    return rejected, len(changed), sum(ok for ok, _ in verdicts)


def _differ(given: Path, expected: Path) -> bool:
    return any(p.read_bytes() != (expected / p.relative_to(given)).read_bytes() for p in given.rglob("*") if p.is_file())


def test_docker_compose_accepts_every_golden_output(tmp_path: Path) -> None:
    """Every compose rule's golden cases and the project cases (compose-override,
    compose-extends); fixtures/compose-document holds edits of the YAML layer, not harden's
    outputs."""
    cases = [d for d in sorted(FIXTURES.glob("*/*")) if (d / "input.yaml").is_file() or (d / "compose.yaml").is_file()]
    pairs = [fixture_projects(case, tmp_path) for case in cases]
    rejected, changed, accepted = rejected_outputs(pairs)
    print(f"\ngolden compose fixtures: docker compose accepts {accepted} of the {changed} outputs that differ from their input")
    assert rejected == []
    assert changed >= 40 and accepted == changed  # every changed output is accepted: none escapes by a rejected input


def test_a_missing_binary_fails_in_ci_and_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "compose", None)  # `import compose` raises ImportError
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        compose_oracle.binary()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        compose_oracle.binary()
