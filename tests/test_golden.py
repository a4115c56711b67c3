"""Every golden fixture: `harden fix --select <rule>` on input gives expected, byte for byte;
the reviewed diff is the expected one; and fixing the expected output changes nothing."""

from __future__ import annotations

import pytest
from golden import FIXTURES, Case, cases, run, settings_for

from harden import engine

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case) -> None:
    output, reviewed, result = run(case)
    assert not result.errors, result.errors  # type: ignore[attr-defined]
    assert output == case.expected.read_bytes()
    expected_diff = case.directory / "expected.diff"
    if expected_diff.exists():
        assert reviewed == expected_diff.read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixing_the_expected_output_changes_nothing(case: Case) -> None:
    result = engine.run_text("expected", case.kind, case.expected.read_bytes(), settings_for(case))
    assert not result.errors
    assert result.output == result.original, [f.rule.id for f in result.applied]


def test_every_pass_docstring_example_is_a_golden_case() -> None:
    from harden import passes

    names = {c.id for c in CASES}
    for module in passes.all_passes():
        doc = module.__doc__ or ""
        assert "fixtures/" in doc, f"{module.RULE.id}: the docstring names no fixture"
        fixture = doc.split("fixtures/", 1)[1].split(")", 1)[0].strip()
        project = FIXTURES / fixture / "compose.yaml"  # a project case: its own test compares each file
        assert fixture in names or project.is_file(), f"{module.RULE.id}: docstring example {fixture} is not a golden case"
        case = next((c for c in CASES if c.id == fixture), None)
        before = (case.input if case else project).read_text(encoding="utf-8-sig")
        for line in before.splitlines():
            if line.strip():
                assert line.strip() in doc, f"{module.RULE.id}: example input line {line!r} not in docstring"


def test_every_distribution_family_has_a_case() -> None:
    names = {c.name for c in CASES if c.rule == "non-root-user"}
    for family in (
        "debian",
        "alpine",
        "busybox",
        "rhel-ubi",
        "ubi-minimal",
        "amazonlinux",
        "distroless",
        "scratch",
        "unknown-base",
        "node-user",
        "windows",
        "gosu",
    ):
        assert family in names
