"""Verified records (harden/verified.py): a recorded run of an image harden does not know is
evidence, read from the project's `.harden/verified.toml`; a file harden cannot read stops the
run with `path:line: message` (exit 2) and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from runs import process

from harden import verified
from harden.cli import main
from harden.config import Settings
from harden.model import Applicability, EvidenceKind

COMPOSE = "services:\n  app:\n    image: example.org/app:1\n"
RECORD = """# written by harden verify --learn
[[image]]
reference = "example.org/app:1"
engine = "podman 4.3.1"
date = "2026-11-27"
ran = "cap_drop ALL + cap_add CHOWN, read_only, tmpfs /run/app"
cap_add = ["CHOWN"]
writable_paths = ["/run/app"]
"""


def project(tmp_path: Path, record: str | None = RECORD, compose: str = COMPOSE) -> Path:
    (tmp_path / "compose.yaml").write_text(compose)
    if record is not None:
        (tmp_path / ".harden").mkdir()
        (tmp_path / ".harden" / "verified.toml").write_text(record)
    return tmp_path


def fixed(directory: Path) -> dict[str, object]:
    run = process([str(directory)], Settings(offline=True, search_from=(directory,)))
    [result] = run.results
    return {"output": result.output, "applied": {f.rule.id: f for f in result.applied}, "findings": result.findings}


def test_a_record_makes_an_unknown_images_fixes_review_with_verified_evidence(tmp_path: Path) -> None:
    result = fixed(project(tmp_path))
    applied = result["applied"]
    assert isinstance(applied, dict) and {"cap-drop-all", "read-only-rootfs"} <= set(applied)
    for rule in ("cap-drop-all", "read-only-rootfs"):
        fix = applied[rule].fix
        assert fix.applicability is Applicability.REVIEW
        assert fix.evidence[0].kind is EvidenceKind.VERIFIED and fix.evidence[0].source.endswith("verified.toml:2")
    output = str(result["output"])
    assert "- CHOWN" in output and "/run/app" in output and "read_only: true" in output


def test_without_a_record_or_for_another_tag_the_fixes_stay_unsafe(tmp_path: Path) -> None:
    for directory, record in ((tmp_path / "none", None), (tmp_path / "other-tag", RECORD.replace("app:1", "app:2"))):
        directory.mkdir()
        result = fixed(project(directory, record))
        assert "cap-drop-all" not in result["applied"]  # type: ignore[operator]
        [caps] = [f for f in result["findings"] if f.rule.id == "cap-drop-all"]  # type: ignore[attr-defined]
        assert caps.fix.applicability is Applicability.UNSAFE


def test_the_nearest_records_file_is_found_from_a_path_below_it(tmp_path: Path) -> None:
    project(tmp_path)
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    assert verified.find((below,)) == tmp_path / ".harden" / "verified.toml"
    assert verified.key("docker.io/example/app:1@sha256:" + "ab" * 32) == verified.key("example/app:1")
    assert verified.key("app") == verified.key("app:latest") != verified.key("app:2")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (RECORD + 'colour = "red"\n', 2, "unknown key 'colour'"),
        (RECORD.replace('["/run/app"]', '["run/app"]'), 2, "is not an absolute path"),
        (RECORD.replace('["CHOWN"]', '"CHOWN"'), 2, "cap_add must be a list of strings"),
        ("[[image]]\nreference = \n", 2, "Invalid value"),
        ('[[image]]\nengine = "x"\n', 1, "reference is missing"),
    ],
)
def test_a_records_file_harden_cannot_read_stops_the_run_with_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    directory = project(tmp_path, text)
    before = (directory / "compose.yaml").read_text()
    result = CliRunner().invoke(main, ["fix", "--offline", str(directory)])
    assert result.exit_code == 2
    assert f"verified.toml:{line}: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert (directory / "compose.yaml").read_text() == before


def test_records_written_read_back_the_same(tmp_path: Path) -> None:
    records = verified.parse(RECORD + '\n[[image]]\nreference = "b:2"\nnote = "quote \\" and \\\\ back"\n', "v.toml")
    again = verified.parse(verified.render(records), "v.toml")
    assert {k: r._replace(source="") for k, r in again.items()} == {k: r._replace(source="") for k, r in records.items()}
    assert again[verified.key("b:2")].note == 'quote " and \\ back'


def test_a_record_whose_run_did_not_show_read_only_works_keeps_read_only_off(tmp_path: Path) -> None:
    note = f'note = "{verified.READ_ONLY_NOT_VERIFIED}: the service writes /srv/state (not a runtime directory)"\n'
    result = fixed(project(tmp_path, RECORD.replace('writable_paths = ["/run/app"]\n', "") + note))
    assert "cap-drop-all" in result["applied"]  # type: ignore[operator]
    assert "read-only-rootfs" not in result["applied"]  # type: ignore[operator]
    [finding] = [f for f in result["findings"] if f.rule.id == "read-only-rootfs"]  # type: ignore[attr-defined]
    assert finding.fix is None and "/srv/state" in finding.message


def test_a_record_with_services_is_evidence_only_for_those_services(tmp_path: Path) -> None:
    """Another service of the image may start it with a command the recorded run did not cover."""
    two = COMPOSE + "  worker:\n    image: example.org/app:1\n    command: [worker]\n"
    directory = project(tmp_path, RECORD + 'services = ["app"]\n', two)
    run = process([str(directory)], Settings(offline=True, search_from=(directory,)))
    [result] = run.results
    caps = {f.subject: f.fix for f in result.findings if f.rule.id == "cap-drop-all" and f.fix is not None}
    assert caps["app"].applicability is Applicability.REVIEW
    assert caps["worker"].applicability is Applicability.UNSAFE
    assert verified.Record("x", "", "", "", "", (), (), (), "", "").covers("anything")  # no services: every one


def test_merged_records_add_back_what_either_needed_for_both_services() -> None:
    old = verified.Record("a:1", "", "podman", "2026-01-01", "one", ("CHOWN",), ("/run",), (), "", "", ("web",))
    new = verified.Record("a:1", "", "podman", "2026-02-01", "two", ("SETUID",), (), (), "", "", ("worker",))
    merged = verified.merge(old, new)
    assert (merged.cap_add, merged.writable_paths, merged.services) == (("CHOWN", "SETUID"), ("/run",), ("web", "worker"))
    assert (merged.date, merged.ran) == ("2026-02-01", "one; two")
    blocked = new._replace(note=f"{verified.READ_ONLY_NOT_VERIFIED}: it writes /srv")
    assert verified.merge(old, blocked).note.startswith(verified.READ_ONLY_NOT_VERIFIED)  # read_only stays off
    assert verified.merge(old, new._replace(services=())).services == ()  # one covers every service: so does the merge
    rendered = verified.render({verified.key("a:1"): merged})
    assert 'services = ["web", "worker"]' in rendered
    assert verified.parse(rendered, "f")[verified.key("a:1")].services == ("web", "worker")


def test_a_build_record_is_evidence_for_the_service_that_builds_its_image_and_names_none(tmp_path: Path) -> None:
    """A `build:` service with no `image:` has no image name to key a record by (Compose names
    it after the project): its record is `build:<service>`."""
    (tmp_path / "app").mkdir()
    dockerfile = 'FROM example.org/base:1\nUSER root\nCMD ["sh", "-c", "eval \\"$RUN\\""]\n'
    (tmp_path / "app" / "Dockerfile").write_text(dockerfile)
    compose = "services:\n  app:\n    build: app\n  other:\n    build: app\n"
    record = '[[image]]\nreference = "build:app"\ncap_add = ["CHOWN"]\nwritable_paths = []\nservices = ["app"]\n'
    directory = project(tmp_path, record, compose)
    run = process([str(directory)], Settings(offline=True, search_from=(directory,), select=frozenset({"cap-drop-all"})))
    caps = {f.subject: f.fix for r in run.results for f in r.findings if f.rule.id == "cap-drop-all" and f.fix is not None}
    assert caps["app"].applicability is Applicability.REVIEW and caps["app"].evidence[0].kind is EvidenceKind.VERIFIED
    assert caps["other"].applicability is Applicability.UNSAFE  # the record names only app
    assert verified.key("build:app") == "build:app"
