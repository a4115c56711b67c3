"""The shared model: finding ids, caveats, lazy fixes and what requires what (issue 9)."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

from click.testing import CliRunner

from harden import engine
from harden.cli import main
from harden.config import Settings
from harden.model import Applicability, Caveat, Edit, FileResult, Finding, Fix, Patch, Rule, Severity, finding_id
from harden.output.text import caveats_text
from harden.passes.compose import cap_drop_all as compose_cap_drop_all
from harden.passes.compose import non_root as compose_non_root

COMPOSE = (
    "services:\n"
    "  cache:\n    image: redis:7\n"
    "  web:\n    image: nginx:1.27\n    privileged: true\n    network_mode: host\n    pid: host\n"
    "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /run/podman/podman.sock:/run/podman.sock\n"
)


def fixed(text: str = COMPOSE, **settings: object) -> FileResult:
    return engine.run_text("compose.yaml", "compose", text.encode(), Settings(offline=True, **settings))  # type: ignore[arg-type]


def ids(findings: list[Finding]) -> dict[tuple[str, str, str], str]:
    return {(f.rule.id, f.subject, f.about): f.id for f in findings}


def test_ids_are_short_hashes_and_the_same_on_every_run(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    runs = [CliRunner().invoke(main, ["check", "--offline", "--format", "json", str(tmp_path)]) for _ in range(2)]
    first, second = ([f["id"] for f in json.loads(r.stdout)["files"][0]["findings"]] for r in runs)
    assert first == second and len(first) == len(set(first)) > 5
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in first)


def test_an_id_is_rule_path_subject_and_about_never_line_or_message() -> None:
    rule = Rule("r", "t", "c", Applicability.DISPLAY, ("compose",))
    a = Finding(rule, "one message", 1, 1, Severity.INFO, "", subject="web", about="pid", path="compose.yaml")
    b = Finding(rule, "another message", 9, 3, Severity.ERROR, "", subject="web", about="pid", path="compose.yaml")
    assert a.id == b.id == finding_id("r", "compose.yaml", "web", "pid")
    assert len({a.id, finding_id("r", "other.yaml", "web", "pid"), finding_id("r", "compose.yaml", "db", "pid")}) == 3
    assert finding_id("r", "compose.yaml", "web") == finding_id("r", "compose.yaml", "web", "r")  # about: the rule by default


def test_a_finding_keeps_its_id_while_other_fixes_are_applied() -> None:
    result = fixed()
    assert result.applied and not result.errors
    before, after = ids(result.findings), ids(result.remaining)
    kept = set(before) & set(after)
    assert ("privileged", "web", "") in kept and ("host-namespaces", "web", "pid") in kept
    assert all(before[key] == after[key] for key in kept)


def test_findings_of_one_rule_about_one_service_have_different_ids() -> None:
    found = fixed().findings
    for rule in ("host-namespaces", "docker-socket"):
        mine = [f.id for f in found if f.rule.id == rule and f.subject == "web"]
        assert len(mine) == 2 and len(set(mine)) == 2, rule


def test_cap_drop_all_requires_the_user_compose_non_root_adds() -> None:
    from harden import compose
    from harden.passes import Context

    document = compose.parse("compose.yaml", COMPOSE)
    [user_fix] = [f for f in compose_non_root.check(document, Context()) if f.subject == "cache"]
    [caps] = [f for f in compose_cap_drop_all.check(document, Context()) if f.subject == "cache"]
    assert caps.fix is not None and caps.fix.requires == (finding_id("compose-non-root", "compose.yaml", "cache"),)
    assert user_fix.fix is not None and user_fix.fix.requires == ()
    # without compose-non-root the capabilities are those of root, and nothing is required
    [alone] = [
        f
        for f in compose_cap_drop_all.check(document, Context(Settings(ignore=frozenset({"compose-non-root"}))))
        if f.subject == "cache"
    ]
    assert alone.fix is not None and alone.fix.requires == () and "CHOWN" in alone.message


def test_a_fix_is_built_once_and_only_when_asked() -> None:
    calls: list[int] = []

    def build() -> list[Edit]:
        calls.append(1)
        return [Edit(0, 0, "x")]

    fix = Fix(Applicability.SAFE, (("a",),), build)
    assert fix.built is None and calls == []
    assert fix.edits() == fix.edits() == (Edit(0, 0, "x"),) and calls == [1]
    fix.release()
    assert fix.edits() == (Edit(0, 0, "x"),)  # what was built is kept for reports
    again = pickle.loads(pickle.dumps(fix))  # a released fix travels between processes
    assert again == fix and again.built == Patch((Edit(0, 0, "x"),))


def test_caveats_of_services_with_the_same_text_are_joined() -> None:
    caveats = (Caveat("api", "a"), Caveat("db", "b"), Caveat("worker", "a"))
    assert caveats_text(caveats) == "api, worker: a; db: b"
    assert caveats_text((Caveat("", "nothing: the digest is the tag's"),)) == "nothing: the digest is the tag's"
