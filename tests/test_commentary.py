"""The reviewed diff's commentary scales to big projects, and `check`'s summary counts agree.

A text that applies to many services is printed once, headed by them; every commentary line fits
in `diff.WIDTH` columns and starts with `#` (what `git apply` skips before `diff --git`); the
parts of the summary line add up to its total.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import main
from harden.output import diff

SERVICES = 30
NO_NEW_PRIVILEGES = "a setuid binary (sudo, su) run by a non-root user no longer gains privileges"
PIDS = "more than 1024 processes and threads fail with 'Resource temporarily unavailable'"
UNKNOWN_CAPABILITIES = "an entrypoint that switches user (gosu, su-exec, s6-overlay) needs CHOWN, SETUID and SETGID"


def invoke(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [arguments[0], "--offline", "--color", "never", *arguments[1:]], catch_exceptions=False)
    return result.exit_code, result.stdout


def harden(corpus: Path, *arguments: str) -> str:
    """harden over the whole corpus with an empty digest cache (only what the corpus says)."""
    environment = {**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="harden-cache-")}
    command = [sys.executable, "-m", "harden", *arguments, "--offline", "--color", "never", "."]
    run = subprocess.run(command, capture_output=True, text=True, cwd=corpus, env=environment)
    assert run.returncode in (0, 1), run.stderr
    return run.stdout


def commentaries(output: str) -> list[list[str]]:
    """Each file's lines before its `diff --git` (git splits lines at "\\n" only)."""
    parts = re.split(r"(?m)^(?=# harden: )", output)
    return [part.split("\ndiff --git ", 1)[0].removesuffix("\n").split("\n") for part in parts if part]


def logical(lines: list[str]) -> list[str]:
    """Commentary lines with their wrapped continuations (indented four more) joined back."""
    out: list[str] = []
    indent = -1
    for line in lines:
        depth = len(line) - len(line.lstrip("# "))
        if out and depth == indent + 4:
            out[-1] += " " + line.lstrip("# ")
        else:
            out.append(line)
            indent = depth
    return out


@pytest.fixture
def big_project(tmp_path: Path) -> Path:
    """30 services built from Dockerfiles (unknown images) and two of a known image."""
    services = "".join(f"  svc{n:02}:\n    build: ./svc{n:02}\n" for n in range(SERVICES))
    services += "  cache:\n    image: redis:7\n  db:\n    image: postgres:16\n"
    (tmp_path / "compose.yaml").write_text(f"services:\n{services}")
    return tmp_path


@pytest.mark.parametrize("unsafe", [False, True])
def test_a_text_shared_by_thirty_services_is_printed_once_headed_by_them(big_project: Path, unsafe: bool) -> None:
    _, out = invoke("diff", *(["--unsafe-fixes"] if unsafe else []), str(big_project / "compose.yaml"))
    [lines] = commentaries(out)
    text = " ".join(line.lstrip("# ") for line in logical(lines))
    assert text.count(NO_NEW_PRIVILEGES) == 1 and text.count(PIDS) == 1
    assert text.count(UNKNOWN_CAPABILITIES) == 2  # in the cap-drop-all message and its caveat, once each
    every = ", ".join([*(f"svc{n:02}" for n in range(SERVICES))])
    headings = [line for line in logical(lines) if re.match(r"#\s+\S.*: \d+ changes?( each)?$", line)]
    assert any(every in heading for heading in headings)
    described = lines[: lines.index("#   semantic summary:")]
    assert len(described) < 70  # a few paragraphs (the networks one included), not one per service (over 250 before)


def test_every_change_is_still_listed_with_its_services(big_project: Path) -> None:
    """Completeness: the changes under the headings that name a service add up to the
    findings harden applies or holds back for it (JSON)."""
    _, out = invoke("diff", "--unsafe-fixes", str(big_project / "compose.yaml"))
    _, data = invoke("diff", "--unsafe-fixes", "--format", "json", str(big_project / "compose.yaml"))
    findings = [f for f in json.loads(data)["files"][0]["findings"] if f["applied"]]
    per_service: dict[str, int] = {}
    for line in logical(commentaries(out)[0]):
        heading = re.fullmatch(r"#\s+(\S.*): (\d+) changes?( each)?", line)
        if heading and not line.startswith("#   semantic"):
            for subject in heading[1].split(", "):
                per_service[subject] = per_service.get(subject, 0) + int(heading[2])
    expected: dict[str, int] = {}
    for finding in findings:  # a finding about several services (networks for all of them) counts for each
        for subject in finding["subject"].split(", "):
            expected[subject] = expected.get(subject, 0) + 1
    assert per_service == expected and len(expected) == SERVICES + 2


def test_wrapped_lines_keep_the_width_start_with_a_hash_and_lose_nothing() -> None:
    line = "#     might break: " + "word " * 80 + "x" * 300 + "\nsecond line\n\nthird"
    pieces = diff.wrap(line)
    assert all(len(piece) <= diff.WIDTH and piece.startswith("#") for piece in pieces)
    assert pieces[0].startswith("#     might break: word") and pieces[1].startswith("#         word")
    assert pieces[-3:] == ["#         second line", "#", "#         third"]
    assert re.sub(r"\s", "", "".join(p.lstrip("# ") for p in pieces)) == re.sub(r"\s", "", line.lstrip("# "))


def test_a_heredoc_in_the_semantic_summary_is_commentary_on_every_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in fixtures/add-instead-of-copy/variants: the heredoc body went out without `#`."""
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nADD <<EOF /etc/motd\nhello\nEOF\nUSER nobody\n")
    monkeypatch.chdir(tmp_path)
    _, out = invoke("diff", "--select", "add-instead-of-copy", "Dockerfile")
    [lines] = commentaries(out)
    assert "#         hello" in lines and all(line.startswith("#") for line in lines)
    applied = subprocess.run(["git", "apply", "-"], input=out, text=True, cwd=tmp_path, capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert "COPY <<EOF /etc/motd" in (tmp_path / "Dockerfile").read_text()


def test_a_hostile_service_name_keeps_every_line_in_the_width(tmp_path: Path) -> None:
    name = "s" + "x" * 400
    (tmp_path / "compose.yaml").write_text(f"services:\n  {name}:\n    image: redis:7\n  other:\n    image: redis:7\n")
    _, out = invoke("diff", str(tmp_path / "compose.yaml"))
    [lines] = commentaries(out)
    assert all(len(line) <= diff.WIDTH and line.startswith("#") for line in lines)
    assert name in "".join(line.lstrip("# ") for line in lines)  # cut, not lost


@pytest.mark.parametrize("unsafe", [False, True])
def test_no_commentary_line_over_the_width_over_the_corpus(corpus: Path, unsafe: bool) -> None:
    out = harden(corpus, "diff", *(["--unsafe-fixes"] if unsafe else []))
    files = commentaries(out)
    assert len(files) > 100
    lines = [line for lines in files for line in lines]
    assert [line for line in lines if not line.startswith("#")] == []
    assert [line for line in lines if len(line) > diff.WIDTH] == []
    assert max(len(line) for line in lines) > diff.WIDTH - 10  # the corpus does reach the width


def test_the_summary_parts_add_up_to_the_total_over_the_corpus(corpus: Path) -> None:
    out = harden(corpus, "check")
    first = next(line for line in out.splitlines() if line.startswith("Found "))
    total = int(re.match(r"Found (\d+) findings", first)[1])  # type: ignore[index]
    parts = re.sub(r"\(\d+ safe\)", "", first.split(": ", 1)[1])
    numbers = [int(n) for n in re.findall(r"(\d+) ", parts)]
    assert len(numbers) == 4 and sum(numbers) == total, first
    data = json.loads(harden(corpus, "check", "--format", "json"))
    tiers = [f["applicability"] for entry in data["files"] for f in entry["findings"]]
    fixable = tiers.count("safe") + tiers.count("review")
    assert f"{fixable} fixable by `harden fix` ({tiers.count('safe')} safe)" in first
    assert f"{tiers.count('unsafe')} with an unsafe fix" in first


def test_a_finding_without_a_fix_is_not_counted_as_one_to_fix(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\nRUN curl -fsSL https://example.com/install.sh | sh\nUSER nobody\n")
    code, out = invoke("check", "--select", "curl-pipe-shell", str(dockerfile))
    assert code == 1
    assert out.splitlines()[-1] == "Found 1 finding in 1 file: 1 without a fix."
