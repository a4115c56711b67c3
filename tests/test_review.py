"""`harden review` in a real pseudo-terminal (pexpect, ../shared/RECIPES.md §7): every key, a quit
in the middle, fixes that require each other, `e` with an $EDITOR script (a good edit and a
refused one), NO_COLOR and --color, the refusal without a terminal, and decisions replayed byte
for byte by `harden fix --decisions`.

The project: a Dockerfile (one safe fix) and a Compose file with redis (compose-non-root adds
`user: redis`, and cap-drop-all counts on it: one change of two fixes) and nginx; offline, with
the rules chosen so that the changes are, in order:

    1 Dockerfile: add-instead-of-copy
    2 cache: compose-non-root + cap-drop-all   3 cache: no-new-privileges   4 cache: resource-limits
    5 web: cap-drop-all                        6 web: no-new-privileges     7 web: resource-limits
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

PROMPT = "Apply this change [y,n,q,a,d,j,k,e,?]? "
RULES = "compose-non-root,cap-drop-all,no-new-privileges,resource-limits,add-instead-of-copy"
COMPOSE = """services:
  cache:
    image: redis:7
    ports:
      - "6379:6379"
  web:
    image: nginx:1.27
"""
DOCKERFILE = "FROM nginx:1.27\nADD static/ /usr/share/nginx/html/\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "static").mkdir(parents=True)
    (root / "static" / "index.html").write_text("hello\n")
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "Dockerfile").write_text(DOCKERFILE)
    return root


def environment(**extra: str) -> dict[str, str]:
    keep = ("PATH", "XDG_CACHE_HOME", "HOME")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "TERM": "xterm", **extra}


def spawn(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[pexpect.spawn, io.StringIO]:
    options = ["--offline", "--select", RULES] if "--decisions" not in args else ["--offline"]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "harden", "review", *options, *args, "."],
        cwd=str(cwd),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
        env=env or environment(NO_COLOR="1"),
    )
    log = io.StringIO()
    child.logfile_read = log
    return child, log


def answer(child: pexpect.spawn, *keys: str) -> None:
    for key in keys:
        child.expect_exact(PROMPT)
        child.sendline(key)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return int(child.exitstatus)


def harden(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harden", *args], cwd=cwd, capture_output=True, text=True, env=environment())


def test_y_and_n_apply_and_skip_and_the_rest_stays_as_it_was(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "y", "n", "n", "y", "n", "n", "n")
    assert finish(child) == 1  # findings are left: the skipped ones
    assert "COPY static/" in (project / "Dockerfile").read_text()
    compose = (project / "compose.yaml").read_text()
    assert compose.count("pids_limit: 1024") == 1 and "user: redis" not in compose and "no-new-privileges" not in compose
    assert "(1/7) Dockerfile: add-instead-of-copy [safe]" in log.getvalue()
    assert "Review: 2 changes applied, 5 skipped." in log.getvalue()


def test_help_and_an_unknown_answer_print_the_keys(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "?")
    child.expect_exact("e - manually edit the current change")
    answer(child, "maybe")
    child.expect_exact("a - apply this change and all later changes in this file")
    answer(child, "q")
    assert finish(child) == 1
    assert (project / "Dockerfile").read_text() == DOCKERFILE and (project / "compose.yaml").read_text() == COMPOSE
    assert log.getvalue().count("(1/7)") == 1  # the change is shown once, asked again after help


def test_j_and_k_move_between_undecided_changes(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "k")
    child.expect_exact("No previous undecided change.")
    answer(child, "j")
    child.expect_exact("(2/7) compose.yaml: compose-non-root (cache) [review] + cap-drop-all (cache) [review]")
    answer(child, "y", "k")  # from 3 back to 1, still undecided
    child.expect_exact("(1/7) Dockerfile")
    answer(child, "n", "j")  # 1 -> 3 (2 is decided)
    child.expect_exact("(4/7)")
    answer(child, "q")
    assert finish(child) == 1
    assert "user: redis" in (project / "compose.yaml").read_text() and (project / "Dockerfile").read_text() == DOCKERFILE


def test_a_applies_the_rest_of_the_file_and_d_skips_it(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "d")  # Dockerfile: its only change
    answer(child, "n", "y", "a")  # compose: 2 no, 3 yes, 4 and all later: yes
    assert finish(child) == 1
    compose = (project / "compose.yaml").read_text()
    assert "user: redis" not in compose and compose.count("no-new-privileges:true") == 2 and compose.count("pids_limit") == 2
    assert compose.count("cap_drop") == 1  # web's only: cache's was declined with its user
    assert (project / "Dockerfile").read_text() == DOCKERFILE
    assert "Review: 5 changes applied, 2 skipped." in log.getvalue()


def test_quit_in_the_middle_writes_what_was_approved_only(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "n", "y", "q")
    assert finish(child) == 1
    compose = (project / "compose.yaml").read_text()
    assert "user: redis" in compose and "cap_drop" in compose  # change 2, both its fixes
    assert "no-new-privileges" not in compose and "pids_limit" not in compose
    assert "skipped (undecided): compose.yaml: no-new-privileges (cache)" in log.getvalue()


def test_fixes_that_require_each_other_are_offered_and_declined_together(project: Path) -> None:
    child, log = spawn(project)
    answer(child, "n", "n", "q")
    assert finish(child) == 1
    shown = log.getvalue()
    assert "# offered together: cap-drop-all (cache) [review] requires compose-non-root (cache) [review]" in shown
    assert "declined together (cap-drop-all (cache) [review] requires compose-non-root (cache) [review])" in shown
    compose = (project / "compose.yaml").read_text()
    assert "user: redis" not in compose and "cap_drop" not in compose


EDITING = "import sys, pathlib\np = pathlib.Path(sys.argv[1])\np.write_text(p.read_text().replace({!r}, {!r}))\n"
EDIT_PIDS = EDITING.format("+    pids_limit: 1024", "+    pids_limit: 512")
EDIT_PRIVILEGED = EDITING.format("+    pids_limit: 1024", "+    pids_limit: 1024\n+    privileged: true")


def editor(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(script)
    return f"{sys.executable} {path}"


def test_e_edits_the_change_and_the_saved_decisions_replay_it_byte_for_byte(project: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    subprocess.run(["cp", "-a", str(project), str(clean)], check=True)
    saved = tmp_path / "decisions.json"
    env = environment(NO_COLOR="1", EDITOR=editor(tmp_path, "pids", EDIT_PIDS))
    child, log = spawn(project, "--save-decisions", str(saved), env=env)
    answer(child, "y", "y", "n", "e", "q")
    assert finish(child) == 1
    compose = (project / "compose.yaml").read_text()
    assert "pids_limit: 512" in compose and "pids_limit: 1024" not in compose and "user: redis" in compose
    assert "applied as edited: compose.yaml: resource-limits (cache)" in log.getvalue()
    decisions = json.loads(saved.read_text())
    assert decisions["format"] == 1 and decisions["harden"]
    assert [e["patch"].count("+    pids_limit: 512") for e in decisions["edits"]] == [1]
    assert sorted({d["decision"] for d in decisions["decisions"]}) == ["apply", "edit", "skip", "undecided"]

    replay = harden(clean, "fix", "--offline", "--decisions", str(saved), ".")
    assert replay.returncode == 1, replay.stderr
    for name in ("compose.yaml", "Dockerfile"):
        assert (clean / name).read_bytes() == (project / name).read_bytes()


def test_an_invalid_edit_is_refused_and_the_change_asked_again(project: Path, tmp_path: Path) -> None:
    env = environment(NO_COLOR="1", EDITOR=editor(tmp_path, "privileged", EDIT_PRIVILEGED))
    child, log = spawn(project, env=env)
    answer(child, "n", "n", "n", "e")
    child.expect_exact("harden: the edited change is refused: it changes + services.cache.privileged: True")
    answer(child, "n", "q")  # asked again: the same change
    assert finish(child) == 1
    assert (project / "compose.yaml").read_text() == COMPOSE
    assert "skipped: compose.yaml: resource-limits (cache)" in log.getvalue()


def test_an_edit_that_breaks_the_file_is_refused(project: Path, tmp_path: Path) -> None:
    script = EDIT_PIDS.replace("pids_limit: 512", "pids_limit: [")
    child, _ = spawn(project, env=environment(NO_COLOR="1", EDITOR=editor(tmp_path, "broken", script)))
    answer(child, "n", "n", "n", "e")
    child.expect_exact("the result does not parse")
    answer(child, "q")
    assert finish(child) == 1
    assert (project / "compose.yaml").read_text() == COMPOSE


def test_no_color_and_color_never_print_no_escapes(project: Path) -> None:
    for env, args in ((environment(NO_COLOR="1"), ()), (environment(), ("--color", "never"))):
        child, log = spawn(project, *args, env=env)
        answer(child, "q")
        finish(child)
        assert "\x1b[" not in log.getvalue() and "+COPY static/" in log.getvalue()
    child, log = spawn(project, env=environment())  # a terminal, no NO_COLOR: coloured as git colours
    child.expect_exact("Apply this change [y,n,q,a,d,j,k,e,?]")
    child.sendline("q")
    finish(child)
    assert "\x1b[32m+COPY static/" in log.getvalue() and "\x1b[31m-ADD static/" in log.getvalue()


def test_without_a_terminal_review_refuses_and_writes_nothing(project: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harden", "review", "--offline", "."],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert run.returncode == 2
    assert "standard input is not a terminal" in run.stderr and "--decisions FILE" in run.stderr
    assert (project / "compose.yaml").read_text() == COMPOSE and (project / "Dockerfile").read_text() == DOCKERFILE


def test_without_a_terminal_saved_decisions_are_applied(project: Path, tmp_path: Path) -> None:
    saved = tmp_path / "decisions.json"
    child, _ = spawn(project, "--save-decisions", str(saved))
    answer(child, "y", "q")
    finish(child)
    written = (project / "Dockerfile").read_bytes()
    (project / "Dockerfile").write_text(DOCKERFILE)
    run = subprocess.run(
        [sys.executable, "-m", "harden", "review", "--offline", "--decisions", str(saved), "."],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert run.returncode == 1, run.stderr
    assert (project / "Dockerfile").read_bytes() == written and (project / "compose.yaml").read_text() == COMPOSE


def test_a_bad_decisions_file_is_an_input_error(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "decisions.json"
    bad.write_text('{"format": 7}')
    run = harden(project, "fix", "--offline", "--decisions", str(bad), ".")
    assert run.returncode == 2 and "not a decisions file of format 1" in run.stderr
    assert (project / "Dockerfile").read_text() == DOCKERFILE
