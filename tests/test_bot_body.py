"""The pull request's body (harden.bot.body): a golden body for the demo project, secrets masked,
ticked boxes read back, the forge's limit kept, the digest table from real pin moves, and tables
GitHub reads as tables (each row with the header's number of cells).

Results come from the real pipeline (offline, the project's lockfile); pin moves from a real
registry on 127.0.0.1. `python tests/test_bot_body.py --record` rewrites the golden body from the
current code: review the change with `git diff fixtures/pr/` before committing it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from registry.oci_helpers import RunningRegistry, push_index, start_registry

from harden import clock, engine
from harden.bot import body
from harden.config import Settings
from harden.engine import graphing, select, sinks
from harden.model import Caveat, FileResult
from harden.output import graph
from harden.output.diff import secrets_of

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo"
GOLDEN = ROOT / "fixtures" / "pr" / "demo.md"
VERSION = "0.1.0"
LIMIT = 65536
CORPUS_SECRET = "mysecretpassword"  # awesome-compose/react-rust-postgres: POSTGRES_PASSWORD=mysecretpassword


def harden(project: Path, dropped: Sequence[body.Dropped] = (), **options: object) -> list[FileResult]:
    """`harden pr`'s run of a project (inside it, so paths are the repository's), the dropped
    findings left out as the bot leaves them out."""
    settings = Settings(search_from=(Path("."),), **options)
    selector: select.Selector = select.from_settings(settings)
    if dropped:
        selector = select.Both(selector, select.Without(frozenset(d.id for d in dropped)))
    here = Path.cwd()
    os.chdir(project)
    try:
        return engine.run(["."], settings, selector, sinks.Preview()).results
    finally:
        os.chdir(here)


def mermaid(project: Path) -> str:
    here = Path.cwd()
    os.chdir(project)
    try:
        return graph.mermaid(graphing.graphs(["."], Settings(offline=True, search_from=(Path("."),))).graphs)
    finally:
        os.chdir(here)


def demo_body(workdir: Path) -> str:
    """The demo project's body on the second run, after a reviewer ticked the box of db's
    published port in the first one (the change is then left out of the branch)."""
    project = workdir / "demo"
    shutil.copytree(DEMO, project)
    first = body.render("hardening", harden(project, offline=True), [], None, None, LIMIT, VERSION)
    box = next(line for line in first.splitlines() if line.startswith("- [ ] drop: `published-ports`"))
    dropped = body.ticked(first.replace(box, box.replace("- [ ]", "- [x]")))
    assert [d.label for d in dropped] == ["`published-ports` in `compose.yaml` (`db`)"]
    results = harden(project, dropped, offline=True)
    assert "published-ports" not in {f.rule.id for r in results for f in r.applied}
    return body.render("hardening", results, dropped, mermaid(project), None, LIMIT, VERSION)


def table_rows(text: str) -> list[list[list[str]]]:
    """Each table's rows (header first), as GitHub splits them: at every `|` not escaped."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.split("\n"):
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(re.split(r"(?<!\\)\|", line.strip())[1:-1])
        previous = line
    return tables


def assert_tables_hold(text: str) -> None:
    for rows in table_rows(text):
        header, delimiter, *cells = rows
        assert len(delimiter) == len(header) and all(c.strip() == "---" for c in delimiter)
        assert [len(row) for row in cells] == [len(header)] * len(cells)


def test_the_demo_projects_body_is_the_golden_one_on_any_date(tmp_path: Path) -> None:
    with clock.use(clock.ShiftedClock(dt.timedelta(days=365 * 7))):
        text = demo_body(tmp_path)
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "<!-- harden:pull-request topic=hardening -->"
    assert "- [x] drop: `published-ports` in `compose.yaml` (`db`) <!-- harden:drop " in text
    assert_tables_hold(text)


def test_the_same_results_give_the_same_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert demo_body(tmp_path / "a") == demo_body(tmp_path / "b")


@pytest.fixture
def corpus_project(corpus: Path, tmp_path: Path) -> Path:
    project = tmp_path / "react-rust-postgres"
    shutil.copytree(corpus / "awesome-compose" / "react-rust-postgres", project)
    return project


def test_no_credential_value_reaches_the_body(corpus_project: Path) -> None:
    results = harden(corpus_project, offline=True)
    assert CORPUS_SECRET in {s for r in results for s in secrets_of(r)}  # the env-secrets rule moved it
    assert "env-secrets" in {f.rule.id for r in results for f in r.applied}
    # a report that echoes the value (as a failing service's log might) is masked too
    verify = f"backend: started\ndb: FATAL password authentication failed ({CORPUS_SECRET})\n"
    text = body.render("hardening", results, [], mermaid(corpus_project), verify, LIMIT, VERSION)
    assert CORPUS_SECRET not in text
    assert "db: FATAL password authentication failed (***)" in text
    assert "`env-secrets` in `compose.yaml`" in text


def test_a_secret_with_markdown_characters_is_masked_before_escaping(tmp_path: Path) -> None:
    secret = "p_a*ss|w0rd_"
    compose = f'services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: "{secret}"\n'
    (tmp_path / "compose.yaml").write_text(compose)
    shutil.copy(DEMO / "harden.lock", tmp_path / "harden.lock")
    results = harden(tmp_path, offline=True)
    assert secret in secrets_of(results[0])
    text = body.render("hardening", results, [body.Dropped("0123456789ab", f"`x` in `{secret}`")], None, secret, LIMIT, VERSION)
    assert "w0rd" not in text  # neither as it is nor escaped
    assert "- [x] drop: `x` in `***` <!-- harden:drop 0123456789ab -->" in text


def test_ticked_boxes_come_back_and_nothing_else_does() -> None:
    dropped = [body.Dropped("0123456789ab", "`cap-drop-all` in `compose.yaml` (`db`)"), body.Dropped("ba9876543210", "`x`")]
    text = body.render("hardening", [], dropped, None, None, LIMIT, VERSION)
    assert body.ticked(text) == dropped
    edited = text.replace("\n", "\r\n")  # GitHub's editor
    edited = edited.replace("`x`", "a label a human rewrote")
    edited += (
        "\r\nThanks, bot! - [x] drop: inline <!-- harden:drop 111111111111 -->\r\n"
        "- [ ] drop: `rule` in `f` <!-- harden:drop 222222222222 -->\r\n"  # not ticked
        "  - [x] drop: `rule` in `f` <!-- harden:drop 333333333333 -->\r\n"  # indented
        "- [x] drop: `rule` in `f` <!-- harden:drop 44444444444 -->\r\n"  # not an id
        "- [X] drop: `rule` in `f` <!-- harden:drop 555555555555 -->   \r\n"
        "- [x] drop: again <!-- harden:drop 0123456789ab -->\r\n"  # the first of an id counts
    )
    assert body.ticked(edited) == [
        dropped[0],
        body.Dropped("ba9876543210", "a label a human rewrote"),
        body.Dropped("555555555555", "`rule` in `f`"),
    ]
    assert body.ticked(body.render("hardening", [], body.ticked(edited), None, None, LIMIT, VERSION)) == body.ticked(edited)


def test_unticked_boxes_drop_nothing(tmp_path: Path) -> None:
    text = demo_body(tmp_path)
    assert text.count("\n- [ ] drop: ") == 17
    assert [d.label for d in body.ticked(text)] == ["`published-ports` in `compose.yaml` (`db`)"]


@pytest.fixture(scope="module")
def many() -> list[FileResult]:
    """40 hardened files, 360 changes: the demo project's results under 20 directories (each
    finding's id is its own: it depends on the path)."""
    workdir = Path(tempfile.mkdtemp(prefix="harden-body-"))
    try:
        shutil.copytree(DEMO, workdir / "demo")
        results = harden(workdir / "demo", offline=True)
    finally:
        shutil.rmtree(workdir)
    copies = []
    for number in range(20):
        for result in results:
            path = f"team{number:03}/{result.path}"
            applied = [dataclasses.replace(f, path=path) for f in result.applied]
            copies.append(dataclasses.replace(result, path=path, applied=applied, findings=[], remaining=[]))
    return copies


def boxes(text: str) -> int:
    return len(re.findall(r"(?m)^- \[[ x]\] drop: ", text))


def test_a_body_within_githubs_limit_leaves_the_commentary_out_first(many: list[FileResult]) -> None:
    total = sum(len(r.applied) for r in many)
    full = body.render("hardening", many, [], None, None, 10**8, VERSION)
    assert len(full) > LIMIT and "<details>" in full and "more change" not in full
    without = len(full) - len(full[full.index("<details>") : full.index("</details>") + len("</details>\n\n")])
    text = body.render("hardening", many, [], None, None, without + 300, VERSION)
    assert len(text) <= without + 300
    assert "<details>" not in text and "the reviewed diff's commentary (`harden diff` prints it)" in text
    assert len(table_rows(text)[0]) == 2 + total and boxes(text) == total
    assert_tables_hold(text)


@pytest.mark.parametrize("limit", [LIMIT, 40000])
def test_a_long_table_is_summarised_and_every_box_kept(many: list[FileResult], limit: int) -> None:
    total = sum(len(r.applied) for r in many)
    dropped = [body.Dropped(f"{n:012x}", f"`rule` in `gone{n}`") for n in range(5)]
    text = body.render("hardening", many, dropped, "graph LR\n  s0\n", "verified\n", limit, VERSION)
    assert len(text) <= limit
    assert text.startswith("<!-- harden:pull-request topic=hardening -->\n")
    shown = len(table_rows(text)[0]) - 2
    assert 0 < shown < total
    assert f"… and {total - shown} more changes (see the commit)" in text
    assert boxes(text) == total + 5 and body.ticked(text) == dropped
    assert "```mermaid" not in text and "the service graph" in text
    assert_tables_hold(text)


def test_when_even_the_boxes_do_not_fit_the_ticked_ones_stay(many: list[FileResult]) -> None:
    total = sum(len(r.applied) for r in many)
    dropped = [body.Dropped(f"{n:012x}", f"`rule` in `gone{n}`") for n in range(5)]
    text = body.render("hardening", many, dropped, None, None, 20000, VERSION)
    assert len(text) <= 20000 and "| File | Service |" not in text
    assert f"{total} changes are not listed here (the description's limit): see the commit." in text
    kept = boxes(text)
    assert 5 < kept < total + 5 and body.ticked(text) == dropped
    assert f"{total + 5 - kept} more changes have no box here" in text
    with pytest.raises(ValueError, match="cannot be written in 100 characters"):
        body.render("hardening", many, dropped, None, None, 100, VERSION)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningRegistry]:
    """A registry on 127.0.0.1, and a digest cache of this test's own: the test process's cache
    (tests/conftest.py) would hand the digests it resolves to later offline tests."""
    from conftest import require

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    running = start_registry(tmp_path / "registry", binary=require("docker-registry"))
    try:
        yield running
    finally:
        running.stop()


def test_the_digest_table_shows_the_pins_that_moved(registry: RunningRegistry, tmp_path: Path) -> None:
    with httpx.Client(timeout=10) as client:
        old = push_index(client, registry.base, "library/redis", "7")[0]["digest"]
        new = push_index(client, registry.base, "library/redis", "7", platforms=(("linux", "arm64"),))[0]["digest"]
    (tmp_path / "Dockerfile").write_text(f"FROM redis:7@{old}\n")
    (tmp_path / "compose.yaml").write_text(f"services:\n  cache:\n    image: redis:7@{old}\n  queue:\n    image: redis:7@{old}\n")
    results = harden(
        tmp_path, select=frozenset({"pin-image", "pin-base-image"}), refresh=True, mirrors=(("docker.io", registry.base),)
    )
    moves = body.digest_moves(results)
    assert moves == [body.DigestMove("redis", "7", old, new, path) for path in ("Dockerfile", "compose.yaml")]
    text = body.render("pin-refresh", results, [], None, None, LIMIT, VERSION)
    assert "harden hardens 2 files: 3 changes (3 safe); 3 pins moved to the digest their tags point to now." in text
    assert f"| `redis` | `7` | `{old}` | `{new}` | `compose.yaml` |" in text
    assert boxes(text) == 3
    assert_tables_hold(text)
    # a refresh of 100 projects: the table of changes goes before the digest table is cut
    copies = [dataclasses.replace(r, path=f"p{n:03}/{r.path}") for n in range(100) for r in results]
    text = body.render("pin-refresh", copies, [], None, None, 40000, VERSION)
    assert len(text) <= 40000 and "| File | Service |" not in text and "300 changes are not listed here" in text
    shown = len(table_rows(text)[0]) - 2
    assert 0 < shown < 200 and f"… and {200 - shown} more moved pins (see the commit)" in text
    assert boxes(text) == 300
    assert_tables_hold(text)


def test_hostile_names_and_texts_cannot_break_a_table_or_notify_anyone(tmp_path: Path) -> None:
    project = tmp_path / "we|ird`dir"
    project.mkdir()
    shutil.copy(DEMO / "harden.lock", project / "harden.lock")
    (project / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n")
    results = harden(tmp_path, offline=True)
    finding = results[0].applied[0]
    assert finding.fix is not None
    hostile = Caveat(finding.subject, "ping @octocat <img src=x> a|b *bold* [link](x)\nnext `code|span` line")
    fix = dataclasses.replace(finding.fix, caveats=(hostile,))
    results[0].applied[0] = dataclasses.replace(finding, fix=fix)
    text = body.render("hardening", results, [], None, None, LIMIT, VERSION)
    assert_tables_hold(text)
    row = next(line for line in text.splitlines() if "octocat" in line)
    assert row.startswith("| ``we\\|ird`dir/compose.yaml`` | `db` |")
    assert "ping @&#8203;octocat \\<img src=x\\> a\\|b \\*bold\\* \\[link\\](x) next `code\\|span` line |" in row
    assert "- [ ] drop: `" + finding.rule.id + "` in ``we|ird`dir/compose.yaml`` (`db`)" in text


def record() -> None:
    """Rewrite the golden body from the current code."""
    with tempfile.TemporaryDirectory() as workdir:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(demo_body(Path(workdir)), encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}: review it with `git diff fixtures/pr/`")


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    record()
