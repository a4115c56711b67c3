"""Files a fix creates (harden.model.NewFile), with a test-only pass: validated by the engine,
shown by the reviewed diff as new files `git apply` creates, written by every sink atomically
and never over an existing file, under DIR with --output, refused on standard output."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from harden import passes
from harden.cli import main
from harden.model import Applicability, Edit, Finding, Fix, NewFile, Patch, Rule, Severity

DOCKERFILE = 'FROM debian:bookworm\nRUN make\nCMD ["app"]\n'
MARK = "# see NOTICE\n"


def notice_pass(new: NewFile, edit: bool = True) -> SimpleNamespace:
    """A Dockerfile pass whose fix writes MARK at the top (when `edit`) and creates `new`; it
    finds nothing once the mark is there."""
    rule = Rule("writes-notice", "a test pass that creates a file", "none", Applicability.SAFE, ("dockerfile",))

    def check(document: Any, context: passes.Context) -> list[Finding]:
        if MARK in document.text:
            return []
        patch = Patch((Edit(0, 0, MARK),) if edit else (), new_files=(new,))
        return [Finding(rule, "no NOTICE", 1, 1, Severity.WARNING, "test", Fix(Applicability.SAFE, (), lambda: patch))]

    return SimpleNamespace(RULE=rule, check=check)


@pytest.fixture
def with_pass(monkeypatch: pytest.MonkeyPatch) -> Callable[[SimpleNamespace], None]:
    def install(module: SimpleNamespace) -> None:
        monkeypatch.setattr(passes, "passes_for", lambda kind, settings: [module] if kind == "dockerfile" else [])

    return install


def invoke(*args: str, cwd: Path | None = None, input: bytes | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(main, [args[0], "--offline", *args[1:]], input=input, catch_exceptions=False)
    else:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(cwd)
            result = runner.invoke(main, [args[0], "--offline", *args[1:]], input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_the_reviewed_diff_shows_a_new_file_git_apply_creates(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("docs/NOTICE", "hardened\nby harden\n")))
    root = project(tmp_path)
    code, out, _ = invoke("diff", "app", cwd=root)
    assert code == 1
    assert "#   new file: app/docs/NOTICE\n" in out
    assert (
        "diff --git a/app/docs/NOTICE b/app/docs/NOTICE\nnew file mode 100644\n--- /dev/null\n+++ b/app/docs/NOTICE\n"
        "@@ -0,0 +1,2 @@\n+hardened\n+by harden\n"
    ) in out
    assert not (root / "app" / "docs").exists()  # diff writes nothing
    git = shutil.which("git")
    assert git is not None
    subprocess.run([git, "init", "-q"], cwd=root, check=True)
    subprocess.run([git, "apply", "-"], cwd=root, input=out.encode(), check=True)
    assert (root / "app" / "docs" / "NOTICE").read_text() == "hardened\nby harden\n"
    assert (root / "app" / "Dockerfile").read_text() == MARK + DOCKERFILE


def test_fix_writes_the_new_file_and_converges(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("docs/NOTICE", "hardened\n")))
    root = project(tmp_path)
    code, _, err = invoke("fix", str(root))
    assert code == 0, err
    assert (root / "app" / "docs" / "NOTICE").read_text() == "hardened\n"
    assert (root / "app" / "Dockerfile").read_text() == MARK + DOCKERFILE
    assert invoke("fix", str(root))[0] == 0 and (root / "app" / "Dockerfile").read_text() == MARK + DOCKERFILE


def test_a_fix_that_only_creates_a_file_is_applied_once(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("NOTICE", ""), edit=False))
    root = project(tmp_path)
    code, out, err = invoke("diff", "--format", "json", str(root))
    [entry] = json.loads(out)["files"]
    assert code == 1 and entry["errors"] == [] and entry["new_files"] == [f"{root}/app/NOTICE"], err
    assert entry["diff"].endswith(f"diff --git a/{root}/app/NOTICE b/{root}/app/NOTICE\nnew file mode 100644\n")  # empty: no hunk


def test_an_existing_file_is_never_replaced(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("NOTICE", "hardened\n")))
    root = project(tmp_path)
    (root / "app" / "NOTICE").write_text("mine\n")
    code, _, err = invoke("fix", str(root))
    assert code == 2
    assert f"{root}/app/Dockerfile:1: the fix of writes-notice creates NOTICE, which exists already" in err
    assert (root / "app" / "NOTICE").read_text() == "mine\n" and (root / "app" / "Dockerfile").read_text() == DOCKERFILE


@pytest.mark.parametrize("path", ["../NOTICE", "/tmp/NOTICE", "a//b", "./x", ""])
def test_a_new_file_must_stay_below_the_file_it_fixes(tmp_path: Path, with_pass: Any, path: str) -> None:
    with_pass(notice_pass(NewFile(path, "x\n")))
    root = project(tmp_path)
    code, _, err = invoke("fix", str(root))
    assert code == 2 and "is not a plain relative path" in err and "nothing written" in err
    assert (root / "app" / "Dockerfile").read_text() == DOCKERFILE and sorted(p.name for p in root.rglob("*")) == [
        "Dockerfile",
        "app",
    ]


def test_new_files_go_under_the_output_directory(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("docs/NOTICE", "hardened\n")))
    (tmp_path / "in").mkdir()
    root = project(tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = invoke("fix", "--output", str(out), str(root))
    assert code == 0, err
    assert (out / "app" / "docs" / "NOTICE").read_text() == "hardened\n"
    assert (out / "app" / "Dockerfile").read_text() == MARK + DOCKERFILE
    assert not (root / "app" / "docs").exists() and (root / "app" / "Dockerfile").read_text() == DOCKERFILE


def test_the_new_files_are_removed_when_the_file_cannot_be_written(tmp_path: Path, with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("docs/NOTICE", "hardened\n")))
    root = project(tmp_path)
    (root / "app" / "Dockerfile").chmod(0o444)
    code, _, err = invoke("fix", str(root))
    assert code == 2 and "Dockerfile: is read-only: not written" in err
    assert not (root / "app" / "docs" / "NOTICE").exists()


def test_standard_output_cannot_hold_a_new_file(with_pass: Any) -> None:
    with_pass(notice_pass(NewFile("NOTICE", "hardened\n")))
    code, out, err = invoke("fix", "--stdin-filename", "Dockerfile", "-", input=DOCKERFILE.encode())
    assert code == 2 and out == ""
    assert "Dockerfile: its fixes create NOTICE, which standard output cannot hold: not written" in err
