"""The engine's refusal guard: an output that does not parse, does not validate, or changes
something no fix claims, and a pass that never stops proposing fixes, are refused. Nothing is
written, the command exits 2, and the error names the rule and the line of the problem in the
output (the line of the first unclaimed change, not line 1).

Each case injects deliberately wrong test passes through `passes.passes_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from harden import engine, passes
from harden.cli import main
from harden.config import Settings
from harden.model import Applicability, Claim, Edit, Finding, Fix, Rule, Severity
from harden.output.text import diagnostic

DOCKERFILE = 'FROM debian:bookworm\nRUN make\nCMD ["app"]\n'
COMPOSE = "services:\n  web:\n    image: nginx\n  db:\n    image: postgres\n"
Proposal = tuple[int, list[Edit], list[Claim]]  # a finding's line, its fix's edits and claims


def fake_pass(rule_id: str, kind: str, propose: Callable[[Any], list[Proposal]]) -> SimpleNamespace:
    """A pass module whose every finding carries a safe fix built by `propose(document)`."""
    rule = Rule(rule_id, "a deliberately wrong test pass", "none", Applicability.SAFE, (kind,))

    def check(document: Any, context: passes.Context) -> list[Finding]:
        return [
            Finding(rule, "test", line, 1, Severity.WARNING, "test", Fix(Applicability.SAFE, tuple(claims), lambda e=edits: e))
            for line, edits, claims in propose(document)
        ]

    return SimpleNamespace(RULE=rule, check=check)


def insert_before(text: str, needle: str, line: str) -> Edit:
    at = text.index(needle)
    return Edit(at, at, line)


def replace(text: str, old: str, new: str) -> Edit:
    at = text.index(old)
    return Edit(at, at + len(old), new)


ADD_USER = fake_pass(
    "adds-user",
    "dockerfile",
    lambda d: [] if "USER" in d.text else [(3, [insert_before(d.text, "CMD", "USER app\n")], [("stages", "0", "USER app")])],
)
CASES: dict[str, tuple[str, str, list[SimpleNamespace], str]] = {
    "does not parse": (
        "Dockerfile",
        DOCKERFILE,
        [fake_pass("bogus-line", "dockerfile", lambda d: [(3, [insert_before(d.text, "CMD", "BOGUS x\n")], [("stages",)])])],
        "Dockerfile:3: the fix of bogus-line produced output that does not parse (unknown instruction 'BOGUS')",
    ),
    "does not validate": (
        "Dockerfile",
        DOCKERFILE,
        [
            fake_pass(
                "drops-run",
                "dockerfile",
                lambda d: [(2, [replace(d.text, "RUN make\n", "")], [("stages",)])] if "RUN" in d.text else [],
            )
        ],
        "Dockerfile:2: output of drops-run failed validation: instructions disappeared: RUN",
    ),
    "unclaimed dockerfile change": (
        "Dockerfile",
        DOCKERFILE,
        [
            ADD_USER,
            fake_pass(
                "wrong-claim",
                "dockerfile",
                lambda d: (
                    [(2, [replace(d.text, "RUN make", "RUN make install")], [("stages", "0", "RUN other")])]
                    if "install" not in d.text
                    else []
                ),
            ),
        ],
        "Dockerfile:2: the fix of wrong-claim changed - stages.0: RUN make, which no fix claims",
    ),
    "never converges": (
        "Dockerfile",
        DOCKERFILE,
        [fake_pass("again", "dockerfile", lambda d: [(d.instructions[-1].start_line + 1, [Edit(0, 0, "# again\n")], [])])],
        "Dockerfile:8: again kept proposing fixes after 5 rounds (a harden bug)",
    ),
    "unclaimed compose change": (
        "compose.yaml",
        COMPOSE,
        [
            fake_pass(
                "wrong-service",
                "compose",
                lambda d: (
                    [] if "postgres:16" in d.text else [(3, [replace(d.text, "postgres", "postgres:16")], [("services", "web")])]
                ),
            )
        ],
        "compose.yaml:5: the fix of wrong-service changed ~ services.db.image: postgres -> postgres:16, which no fix claims",
    ),
    "compose output fails the schema": (
        "compose.yaml",
        COMPOSE,
        [
            fake_pass(
                "bad-schema",
                "compose",
                lambda d: (
                    [] if "cap_drop" in d.text else [(3, [insert_before(d.text, "  db:", "    cap_drop: 5\n")], [("services",)])]
                ),
            )
        ],
        "compose.yaml:4: output of bad-schema failed validation: ",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_wrong_fix_is_refused_naming_rule_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    name, text, fakes, message = CASES[case]
    monkeypatch.setattr(passes, "passes_for", lambda kind, settings: [f for f in fakes if kind in f.RULE.kinds])
    kind = "dockerfile" if name == "Dockerfile" else "compose"
    result = engine.run_text(name, kind, text.encode(), Settings())
    errors = [diagnostic(error) for error in result.errors]
    assert len(errors) == 1 and errors[0].startswith(message) and errors[0].endswith("; nothing written")
    assert result.output == result.original and not result.applied and not result.changed
    path = tmp_path / name
    path.write_text(text)
    run = CliRunner().invoke(main, ["fix", "--offline", str(path)], catch_exceptions=False)
    assert run.exit_code == 2 and f"{path}{message.removeprefix(name)}" in run.stderr
    assert path.read_text() == text


def test_a_pass_that_converges_in_the_last_round_is_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five rounds of fixes, then none: that converged (it was refused, naming no rule)."""

    def five_comments(document: Any) -> list[Proposal]:
        return [] if document.text.count("# again") == 5 else [(1, [Edit(0, 0, "# again\n")], [])]

    monkeypatch.setattr(passes, "passes_for", lambda kind, settings: [fake_pass("five-times", "dockerfile", five_comments)])
    result = engine.run_text("Dockerfile", "dockerfile", DOCKERFILE.encode(), Settings())
    assert result.errors == [] and result.output == "# again\n" * 5 + DOCKERFILE and len(result.applied) == 5
