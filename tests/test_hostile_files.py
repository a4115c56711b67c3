"""Hostile input never hangs harden, crashes the run or loses data: one file's problem is that
file's error (exit 2), and every other file is still processed and written.

FIFO tests run harden in a subprocess with a generous timeout, so that a regression fails
instead of hanging the suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import main
from harden.discover import discover

ROOT_DOCKERFILE = "FROM debian:bookworm\nCOPY app /app\n"
HANG_GUARD_SECONDS = 60  # far beyond any real run: only a hang reaches it


def invoke(*args: str) -> tuple[int, str, str]:
    # --unsafe-fixes: the Dockerfiles here get a new user (no evidence); these tests are about files
    result = CliRunner().invoke(main, [args[0], "--offline", "--unsafe-fixes", *args[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def harden(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """harden in a subprocess: a hang fails the test (TimeoutExpired) instead of the suite."""
    command = [sys.executable, "-m", "harden", args[0], "--offline", "--unsafe-fixes", *args[1:]]
    return subprocess.run(command, capture_output=True, timeout=HANG_GUARD_SECONDS, cwd=cwd)


def write(path: Path, text: str = ROOT_DOCKERFILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def hardened(path: Path) -> bool:
    return "USER app" in path.read_text()


# --- 1. one file's problem is that file's error ------------------------------------------


def test_a_continuation_on_the_last_line_is_read_and_the_other_files_are_fixed(tmp_path: Path) -> None:
    last = write(tmp_path / "a" / "Dockerfile", "FROM debian:bookworm\nRUN echo hi \\")
    others = [write(tmp_path / "b" / "Dockerfile"), write(tmp_path / "c" / "Dockerfile")]
    code, _, err = invoke("fix", "--select", "non-root-user", str(tmp_path))
    assert code == 0, err
    assert all(hardened(path) for path in [last, *others])
    # the dangling escape is removed, or the added lines would join the RUN instruction
    assert last.read_text().startswith("FROM debian:bookworm\nRUN echo hi \nRUN groupadd")


@pytest.mark.parametrize("where", ["parse", "pass", "references"])
def test_a_bug_met_in_one_file_is_that_files_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    from harden import dockerfile
    from harden.passes.dockerfile import non_root_user, pin_base_image

    bad = write(tmp_path / "bad" / "Dockerfile", "FROM debian:bookworm\nLABEL bug=here\n")
    good = [write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "z" / "Dockerfile")]

    def buggy(original: object, document_of: object) -> object:
        def call(*args: object) -> object:
            if "bug=here" in document_of(*args):  # type: ignore[operator]
                raise RuntimeError("kaput")
            return original(*args)  # type: ignore[operator]

        return call

    if where == "parse":
        monkeypatch.setattr(dockerfile, "parse", buggy(dockerfile.parse, lambda path, text: text))
    elif where == "pass":
        monkeypatch.setattr(non_root_user, "check", buggy(non_root_user.check, lambda document, context: document.text))
    else:
        monkeypatch.setattr(pin_base_image, "references", buggy(pin_base_image.references, lambda d, s: d.text))
    code, _, err = invoke("fix", "--select", "non-root-user,pin-base-image", str(tmp_path))
    assert code == 2
    assert "bad/Dockerfile: internal error: RuntimeError: kaput (run with --debug for details)" in err
    assert "Traceback" not in err
    assert all(hardened(path) for path in good) and not hardened(bad)
    code, _, err = invoke("fix", "--debug", "--select", "non-root-user,pin-base-image", str(bad))
    assert code == 2 and "Traceback (most recent call last)" in err and "RuntimeError: kaput" in err


def test_symbolic_link_loops_are_each_files_error(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "Dockerfile").symlink_to("Dockerfile")
    (tmp_path / "pair").mkdir()
    (tmp_path / "pair" / "compose.yaml").symlink_to("other")
    (tmp_path / "pair" / "other").symlink_to("compose.yaml")
    (tmp_path / "dirloop").mkdir()
    (tmp_path / "dirloop" / "d").symlink_to("d")
    (tmp_path / "dirloop" / "Dockerfile").symlink_to("d/Dockerfile")
    good = write(tmp_path / "good" / "Dockerfile")
    code, _, err = invoke("fix", "--select", "non-root-user", str(tmp_path))
    assert code == 2 and "internal error" not in err
    for name in ("self/Dockerfile", "pair/compose.yaml", "dirloop/Dockerfile"):
        assert f"{name}: cannot read: Too many levels of symbolic links: skipped" in err, err
    assert hardened(good)
    code, _, err = invoke("check", str(tmp_path / "self" / "Dockerfile"), str(good))
    assert code == 2 and "self/Dockerfile:1: cannot read: Too many levels of symbolic links" in err
    assert "good/Dockerfile:1:6: pin-base-image" in invoke("check", str(tmp_path / "self" / "Dockerfile"), str(good))[1]


# --- 2. never open anything but a regular file ------------------------------------------


def test_a_fifo_named_dockerfile_is_skipped_not_opened(tmp_path: Path) -> None:
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "Dockerfile")
    os.mkfifo(tmp_path / "stack.yaml")
    good = write(tmp_path / "good" / "Dockerfile")
    run = harden("fix", "--select", "non-root-user", str(tmp_path))
    assert run.returncode == 2
    assert f"{tmp_path}/fifo/Dockerfile: not a regular file (FIFO): skipped" in run.stderr.decode()
    assert hardened(good)
    explicit = harden("check", str(tmp_path / "fifo" / "Dockerfile"), str(tmp_path / "stack.yaml"), str(good))
    errors = explicit.stderr.decode()
    assert explicit.returncode == 2
    assert f"{tmp_path}/fifo/Dockerfile: not a regular file (FIFO): skipped" in errors
    assert f"{tmp_path}/stack.yaml: not a regular file (FIFO): skipped" in errors
    assert b"good/Dockerfile:1:6: pin-base-image" in explicit.stdout


def test_sockets_and_devices_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "sock").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock" / "Dockerfile"))
    device = tmp_path / "Dockerfile.dev"
    device.symlink_to("/dev/zero")
    try:
        run = harden("check", str(tmp_path / "sock"), str(device))
    finally:
        server.close()
    errors = run.stderr.decode()
    assert run.returncode == 2
    assert "sock/Dockerfile: not a regular file (socket): skipped" in errors
    assert "Dockerfile.dev: not a regular file (character device): skipped" in errors


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_without_blocking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stat before open() can be raced: the O_NONBLOCK open and the fstat still refuse it."""
    from harden import files

    regular = write(tmp_path / "regular")
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: real_stat(regular if Path(path) == fifo else path, *a, **k))
    with pytest.raises(files.NotRegular, match="FIFO"):
        files.read_regular(fifo, 1000)


# --- 6. file names are displayed C-quoted, as git does --------------------------------


ODD_NAMES = {
    "Dockerfile.\x1b[31mred": '"Dockerfile.\\033[31mred"',
    "Dockerfile.a\nb": '"Dockerfile.a\\nb"',
    "Dockerfile.\r": '"Dockerfile.\\r"',
    "Dockerfile.\tt": '"Dockerfile.\\tt"',
    "Dockerfile.\udcff": '"Dockerfile.\\377"',  # the byte 0xff, not UTF-8
    "Dockerfile.\u202etxt": '"Dockerfile.\\342\\200\\256txt"',  # right-to-left override
    'Dockerfile."q\\': '"Dockerfile.\\"q\\\\"',
    "Dockerfile.café": "Dockerfile.café",
}


def test_display_name_quotes_like_git() -> None:
    from harden.discover import display_name

    for name, shown in ODD_NAMES.items():
        assert display_name(name) == shown


def test_odd_file_names_are_quoted_in_every_message(tmp_path: Path) -> None:
    names = tmp_path / "names"
    for name in ODD_NAMES:
        write(names / name)
    outside = write(tmp_path / "out\x1bside" / "Dockerfile")
    (names / "repo").mkdir()
    (names / "repo" / "link\x1b.Dockerfile").symlink_to(outside)
    run = harden("check", ".", cwd=names)
    for shown in ODD_NAMES.values():
        assert f"{shown}:1:1: non-root-user".encode() in run.stdout, shown
    assert b'"repo/link\\033.Dockerfile": is a symbolic link to "' in run.stderr
    assert b'out\\033side/Dockerfile", outside' in run.stderr
    assert b"\x1b" not in run.stdout + run.stderr and b"\r" not in run.stdout + run.stderr
    assert len(run.stdout.splitlines()) == 2 * len(ODD_NAMES) + 2  # no name split a line: two findings each, a summary


def test_harden_diff_applies_with_git_for_odd_and_normal_names(tmp_path: Path) -> None:
    from conftest import require

    git = require("git")
    names = ["Dockerfile", "Dockerfile.\x1b[31mred", "Dockerfile.a\nb", "Dockerfile.\tt", "Dockerfile.\udcff"]
    for name in names:
        write(tmp_path / "patched" / name)
        write(tmp_path / "fixed" / name)
    patch = harden("diff", "--select", "non-root-user", ".", cwd=tmp_path / "patched")
    assert patch.returncode == 1 and b"diff --git a/Dockerfile b/Dockerfile\n" in patch.stdout
    assert b'diff --git "a/Dockerfile.\\033[31mred" "b/Dockerfile.\\033[31mred"\n' in patch.stdout
    applied = subprocess.run([git, "apply", "-"], input=patch.stdout, cwd=tmp_path / "patched", capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert harden("fix", "--select", "non-root-user", ".", cwd=tmp_path / "fixed").returncode == 0
    for name in names:
        assert (tmp_path / "patched" / name).read_bytes() == (tmp_path / "fixed" / name).read_bytes(), name
        assert hardened(tmp_path / "patched" / name)


# --- discovery: deep trees, .gitignore files harden cannot honour, vanished files ----------


def test_a_very_deep_tree_is_walked(tmp_path: Path) -> None:
    levels = [tmp_path / "d"]
    for _ in range(1099):  # deeper than Python's recursion limit (so are mkdir(parents=True) and rmtree)
        levels.append(levels[-1] / "d")
    for level in levels:
        level.mkdir()
    write(levels[-1] / "Dockerfile")
    write(tmp_path / "Dockerfile")
    try:
        sources, skipped = discover([str(tmp_path)])
    finally:
        (levels[-1] / "Dockerfile").unlink()
        for level in reversed(levels):
            level.rmdir()
    assert [len(s.relative) for s in sources] == [len("Dockerfile"), 1100 * 2 + len("Dockerfile")] and not skipped


@pytest.mark.parametrize("kind", ["fifo", "huge"])
def test_a_gitignore_harden_cannot_honour_skips_its_directory(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "repo" / "generated.Dockerfile")
    write(tmp_path / "Dockerfile")
    gitignore = tmp_path / "repo" / ".gitignore"
    if kind == "fifo":
        os.mkfifo(gitignore)
    else:
        gitignore.write_text("generated.*\n" + "# padding\n" * 30_000)
    run = harden("check", str(tmp_path))
    errors = run.stderr.decode()
    assert run.returncode == 2
    assert f"{tmp_path}/repo: cannot honour its .gitignore (" in errors and "the files in it are skipped" in errors
    assert "generated.Dockerfile" not in run.stdout.decode()
    assert f"{tmp_path}/Dockerfile:1:1: non-root-user" in run.stdout.decode()


def test_a_file_that_vanishes_after_discovery_is_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harden.engine import load

    gone, kept = write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "b" / "Dockerfile")
    real_discover = load.discover

    def discover_then_delete(arguments: list[str], exclude: object = None) -> object:
        found = real_discover(arguments, exclude)
        gone.unlink()
        return found

    monkeypatch.setattr(load, "discover", discover_then_delete)
    code, _, err = invoke("fix", "--select", "non-root-user", str(tmp_path))
    assert code == 2 and "a/Dockerfile:1: cannot read: No such file or directory" in err
    assert hardened(kept)


def test_a_directory_that_cannot_be_read_is_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "locked" / "Dockerfile")
    write(tmp_path / "open" / "Dockerfile")
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    sources, skipped = discover([str(tmp_path)])
    assert [s.relative for s in sources] == ["open/Dockerfile"]
    assert [(s.display.endswith("locked"), s.message) for s in skipped] == [(True, "cannot read directory: Permission denied")]


def test_gitignore_patterns_git_skips_are_skipped(tmp_path: Path) -> None:
    """`!` alone, a trailing backslash and `[z-a]` made pathspec raise, which ended the run."""
    write(tmp_path / ".gitignore", "!\n[z-a]\nbuild/\nend\\\n")
    write(tmp_path / "build" / "Dockerfile")
    write(tmp_path / "app" / "Dockerfile")
    sources, skipped = discover([str(tmp_path)])
    assert [s.relative for s in sources] == ["app/Dockerfile"] and skipped == []


def test_a_path_through_a_link_loop_says_so(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    sources, skipped = discover([str(tmp_path / "loop" / "compose.yaml")])
    assert sources == [] and [s.message for s in skipped] == ["cannot read: Too many levels of symbolic links"]


def test_a_removed_current_directory_does_not_end_the_run(tmp_path: Path) -> None:
    write(tmp_path / "app" / "Dockerfile")
    (tmp_path / "gone").mkdir()
    run = subprocess.run(
        [
            "sh",
            "-c",
            f'cd "{tmp_path}/gone" && rmdir "{tmp_path}/gone" && exec "$0" -m harden check --offline "$1"',
            sys.executable,
            str(tmp_path / "app"),
        ],
        capture_output=True,
        timeout=HANG_GUARD_SECONDS,
    )
    assert run.returncode == 1 and f"{tmp_path}/app/Dockerfile:1:1: non-root-user".encode() in run.stdout, run.stderr


# --- names and files given on the command line --------------------------------------------


def test_a_lockfile_that_is_a_fifo_is_refused_not_waited_for(tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", "FROM alpine:3.20\nUSER nobody\n")
    os.mkfifo(tmp_path / "harden.lock")
    run = harden("check", "--lockfile", str(tmp_path / "harden.lock"), str(tmp_path))
    assert run.returncode == 2
    assert b"harden.lock:1: cannot read lockfile: not a regular file (FIFO)" in run.stderr


def test_a_stdin_filename_is_quoted_like_any_name() -> None:
    result = CliRunner().invoke(
        main, ["check", "--offline", "--stdin-filename", "Dockerfile\x1b[31m", "-"], input="FROM debian:bookworm\n"
    )
    assert "\x1b" not in result.stdout + result.stderr
    assert '"Dockerfile\\033[31m"' in result.stdout + result.stderr
