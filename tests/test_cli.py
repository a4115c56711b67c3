"""The command line: exit codes, every option, help texts, stdin, --output, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import main

DIGEST = "sha256:" + "ab" * 32
ROOT_DOCKERFILE = 'FROM python:3.12-slim\nCOPY app.py /app/\nEXPOSE 80\nCMD ["python", "/app/app.py"]\n'
GOOD_DOCKERFILE = f'FROM python:3.12-slim@{DIGEST}\nUSER nobody\nCMD ["python"]\n'
LOCKFILE = f"""version = 1

[[image]]
reference = "docker.io/library/python:3.12-slim"
digest = "{DIGEST}"
media_type = "application/vnd.oci.image.index.v1+json"
resolved_at = 2001-01-01T00:00:00Z
"""
PIPELINE_COMMANDS = {"check", "diff", "fix", "pin"}


def invoke(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process; pipeline commands run --offline (tests never reach a registry) and
    with --unsafe-fixes (the Dockerfiles here get a new user, a fix without evidence: these tests
    are about the commands, not the tiers; `plain_invoke` runs without it)."""
    arguments = list(args)
    if arguments and arguments[0] in PIPELINE_COMMANDS and "--help" not in arguments:
        arguments[1:1] = ["--offline", "--unsafe-fixes"]
    return plain_invoke(*arguments, input=input)


def plain_invoke(*arguments: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, arguments, input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "harden.lock").write_text(LOCKFILE)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(ROOT_DOCKERFILE)
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "Dockerfile").write_text(GOOD_DOCKERFILE)
    return tmp_path


def test_check_exit_codes(project: Path) -> None:
    assert invoke("check", str(project / "ok"))[0] == 0
    code, out, _ = invoke("check", str(project))
    assert code == 1
    assert "app/Dockerfile:1:1: non-root-user" in out and "NET_BIND_SERVICE" in out
    code, _, err = invoke("check", str(project / "missing"))
    assert code == 2 and "no such file or directory" in err


def test_check_reports_bad_files_and_still_processes_the_others(project: Path) -> None:
    (project / "bad").mkdir()
    (project / "bad" / "Dockerfile").write_bytes(b"\xff\xfe\x00garbage")
    code, out, err = invoke("check", str(project))
    assert code == 2
    assert "bad/Dockerfile:1: binary file" in err
    assert "app/Dockerfile:1:1: non-root-user" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\xc3\x28 FROM x\n", "not UTF-8"),
        (b"# only a comment\nLABEL a=b\n", "before the first FROM"),
        (b"# only a comment\n", "no FROM instruction"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(content)
    code, _, err = invoke("fix", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert any(line.startswith(f"{path}:") and message in line for line in lines), err
    assert path.read_bytes() == content


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(ROOT_DOCKERFILE + "# padding\n" * 200)
    code, _, err = invoke("check", "--max-file-size", "100", str(path))
    assert code == 2 and "over the 100-byte limit" in err


def test_directory_with_nothing_to_harden(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("hi")
    code, _, err = invoke("check", str(tmp_path))
    assert code == 2 and "no Dockerfile or Compose file found" in err


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    link = tmp_path / "Dockerfile"
    link.symlink_to(tmp_path / "gone")
    code, _, err = invoke("check", str(link))
    assert code == 2 and "cannot read" in err


def test_diff_writes_nothing_and_exits_like_check(project: Path) -> None:
    before = (project / "app" / "Dockerfile").read_text()
    code, out, _ = invoke("diff", "--color", "never", str(project / "app"))
    assert code == 1
    assert "# harden:" in out and "+USER app" in out and "might break" in out
    assert (project / "app" / "Dockerfile").read_text() == before
    assert invoke("diff", str(project / "ok"))[0] == 0


def test_diff_color(project: Path) -> None:
    _, out, _ = invoke("diff", "--color", "always", str(project / "app"))
    assert "\x1b[32m+USER app" in out
    _, out, _ = invoke("diff", "--color", "never", str(project / "app"))
    assert "\x1b[" not in out


def test_fix_in_place_then_nothing_left(project: Path) -> None:
    code, _, err = invoke("fix", str(project))
    assert code == 0, err
    assert "USER app" in (project / "app" / "Dockerfile").read_text()
    assert invoke("check", str(project))[0] == 0
    code, _, _ = invoke("fix", str(project))
    assert code == 0


def test_fix_safe_only_applies_no_review_fix(project: Path) -> None:
    code, _, _ = invoke("fix", "--safe-only", str(project))
    assert code == 1  # the review fix is left, so findings remain
    text = (project / "app" / "Dockerfile").read_text()
    assert f"FROM python:3.12-slim@{DIGEST}\n" in text  # the safe pin is applied
    assert "USER" not in text


def test_select_and_ignore(project: Path) -> None:
    assert invoke("check", "--ignore", "non-root-user,pin-base-image", str(project))[0] == 0
    assert invoke("check", "--select", "non-root-user", str(project))[0] == 1
    code, _, err = invoke("check", "--select", "no-such-rule", str(project))
    assert code == 2 and "unknown rule" in err


def test_fix_output_writes_a_complete_copy_and_leaves_input(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    code, _, _ = invoke("fix", "--output", str(out), str(project))
    assert code == 0
    assert (out / "app" / "Dockerfile").read_text() != ROOT_DOCKERFILE
    assert (out / "ok" / "Dockerfile").read_text() == GOOD_DOCKERFILE  # unchanged files are copied too
    assert (project / "app" / "Dockerfile").read_text() == ROOT_DOCKERFILE
    single = tmp_path / "SINGLE"
    invoke("fix", "--output", str(single), str(project / "app" / "Dockerfile"))
    assert (single / "Dockerfile").exists()  # a file argument: its base name


def test_stdin_to_stdout(project: Path) -> None:
    lock = str(project / "harden.lock")
    code, out, _ = invoke("fix", "--lockfile", lock, "-", input=ROOT_DOCKERFILE)
    assert code == 0 and "USER app" in out and out.startswith(f"FROM python:3.12-slim@{DIGEST}\n")
    code, out, _ = invoke("check", "-", input=GOOD_DOCKERFILE)
    assert code == 0
    code, out, _ = invoke("diff", "--lockfile", lock, "--stdin-filename", "Dockerfile", "-", input=ROOT_DOCKERFILE)
    assert code == 1 and "a/Dockerfile" in out


def test_json_format(project: Path) -> None:
    code, out, _ = invoke("check", "--format", "json", str(project))
    data = json.loads(out)
    assert code == 1
    finding = next(f for entry in data["files"] for f in entry["findings"] if f["rule"] == "non-root-user")
    assert finding["rule"] == "non-root-user" and finding["control"] == "CIS 4.1"
    assert finding["fix"]["applicability"] == "unsafe" and finding["line"] == 1
    assert finding["fix"]["evidence"] == [{"kind": "none", "source": "", "detail": finding["fix"]["evidence"][0]["detail"]}]
    code, out, _ = invoke("diff", "--format", "json", str(project))
    assert "+USER app" in json.loads(out)["files"][0]["diff"]


def test_unsafe_fixes_are_shown_with_what_to_verify_and_applied_only_when_asked(project: Path) -> None:
    dockerfile = project / "app" / "Dockerfile"
    before = dockerfile.read_text()
    code, out, _ = plain_invoke("check", "--offline", str(project))
    assert code == 1 and "[unsafe fix]" in out and "1 unsafe fix applied only with --unsafe-fixes" in out
    code, out, _ = plain_invoke("diff", "--offline", "--color", "never", str(project))
    assert "#   not applied: no evidence that the service still works" in out
    assert "verify: new system user app" in out and "+USER app" not in out
    code, _, _ = plain_invoke("fix", "--offline", str(project))
    assert "USER app" not in dockerfile.read_text() and "@sha256:" in dockerfile.read_text()  # the safe pin only
    dockerfile.write_text(before)
    code, _, _ = plain_invoke("fix", "--offline", "--unsafe-fixes", str(project))
    assert "USER app" in dockerfile.read_text()


def test_quiet(project: Path) -> None:
    code, out, _ = invoke("check", "--quiet", str(project))
    assert code == 1 and out == ""


def test_debug_shows_tracebacks_only_when_asked(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harden import engine

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(engine, "run", boom)
    code, _, err = invoke("check", str(project))
    assert code == 2 and "internal error: RuntimeError: kaput" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        CliRunner().invoke(main, ["check", "--debug", str(project)], catch_exceptions=False)


def test_rules_and_explain() -> None:
    code, out, _ = invoke("rules")
    assert code == 0 and "non-root-user" in out and "review" in out and "CIS 4.1" in out
    rows = json.loads(invoke("rules", "--format", "json")[1])
    assert {"id", "applicability", "control", "kinds"} <= set(rows[0])
    code, out, _ = invoke("explain", "non-root-user")
    assert code == 0 and "What might break" in out and "DL3002" in out
    code, _, err = invoke("explain", "nope")
    assert code == 2


@pytest.mark.parametrize("command", ["check", "diff", "fix", "pin", "rules", "explain"])
def test_every_command_has_plain_help(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0 and len(out.splitlines()[2]) > 20
    code, out, _ = invoke("--help")
    assert command in out


def test_usage_error_is_exit_2() -> None:
    assert invoke("check")[0] == 2
    assert invoke("check", "--format", "xml", ".")[0] == 2


def test_python_dash_m_and_console_script(project: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "harden", "check", str(project)], capture_output=True, text=True)
    assert run.returncode == 1 and "non-root-user" in run.stdout
    script = Path(sys.executable).parent / "harden"
    if script.exists():
        run = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert run.returncode == 0 and "harden" in run.stdout


def test_fix_preserves_mode_crlf_bom_and_missing_newline(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"\xef\xbb\xbfFROM debian:bookworm\r\nCOPY a /a\r\nRUN true")
    os.chmod(path, 0o640)
    assert invoke("fix", "--select", "non-root-user", str(path))[0] == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfFROM debian:bookworm\r\nCOPY a /a\r\nRUN true\r\n")
    assert data.endswith(b"USER app") and b"\nUSER" in data and data.count(b"\r\n") == 4
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert not list(tmp_path.glob(".*harden"))  # no temporary file left behind


def test_fix_never_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "Dockerfile").write_text(ROOT_DOCKERFILE)
    link = tmp_path / "Dockerfile"
    link.symlink_to(real / "Dockerfile")
    code, _, err = invoke("fix", str(link))
    assert code == 2 and "symbolic link" in err
    assert (real / "Dockerfile").read_text() == ROOT_DOCKERFILE and link.is_symlink()


def test_output_dir_never_written_through_a_planted_link(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "app").symlink_to(elsewhere)
    code, _, err = invoke("fix", "--output", str(out), str(project))
    assert code == 2 and "symbolic link" in err
    assert list(elsewhere.iterdir()) == []


def test_compose_files_given_with_f_are_one_project(tmp_path: Path) -> None:
    """`-f a -f b`: b overrides a, as with `docker compose -f`; without -f they are separate."""
    base = tmp_path / "compose.yaml"
    base.write_text(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - data:/var/lib/postgresql/data\nvolumes:\n  data:\n"
    )
    prod = tmp_path / "compose.prod.yaml"
    prod.write_text("services:\n  db:\n    read_only: false\n")
    code, out, _ = invoke("check", "--select", "read-only-rootfs", "-f", str(base), "-f", str(prod))
    assert code == 0 and "compose.prod.yaml:3:5: read-only-rootfs" in out and "compose.yaml:" not in out
    code, out, _ = invoke("check", "--select", "read-only-rootfs", str(base))
    assert code == 1 and "harden adds read_only: true" in out
    assert invoke("check")[0] == 2


def test_pin_lock_never_writes_through_a_linked_lockfile(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.lock"
    elsewhere.write_text(LOCKFILE)
    (project / "harden.lock").unlink()
    (project / "harden.lock").symlink_to(elsewhere)
    code, _, err = invoke("pin", "--lock", str(project / "app"))
    assert code == 2 and "symbolic link" in err
    assert elsewhere.read_text() == LOCKFILE


def test_an_unreadable_lockfile_is_an_input_error(project: Path) -> None:
    (project / "harden.lock").write_text("version = [\n")
    code, _, err = invoke("check", str(project))
    assert code == 2 and "harden.lock:1: cannot read lockfile" in err


def test_a_reader_that_stops_early_is_not_an_error(project: Path) -> None:
    """`harden diff | head -1`: no internal error, no traceback, when the pipe closes early."""
    for _ in range(20):  # a larger diff than the pipe holds
        (project / f"app{_}").mkdir()
        (project / f"app{_}" / "Dockerfile").write_text(ROOT_DOCKERFILE * 50)
    command = f"{sys.executable} -m harden diff --offline {project} | head -1"
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    assert run.stdout.startswith("# harden:")
    assert "error" not in run.stderr and "Traceback" not in run.stderr
    assert run.returncode == 1


def test_diff_on_a_terminal_is_coloured_unless_no_color_is_set(project: Path) -> None:
    """--color auto: colour on a terminal (a real pseudo-terminal here), none when NO_COLOR is
    set to anything but the empty string (no-color.org), as `harden review` does."""
    import pexpect

    command = f"{sys.executable} -m harden diff {project / 'app'}"
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = pexpect.run(command, env=env, timeout=60).decode()
    assert "\x1b[32m+FROM python:3.12-slim@sha256:" in coloured
    plain = pexpect.run(command, env={**env, "NO_COLOR": "1"}, timeout=60).decode()
    assert "\n+FROM python:3.12-slim@sha256:" in plain and "\x1b[" not in plain
    empty = pexpect.run(command, env={**env, "NO_COLOR": ""}, timeout=60).decode()
    assert "\x1b[32m+FROM python:3.12-slim@sha256:" in empty
