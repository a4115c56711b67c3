"""The Compose document layer: reading (merges, anchors, tags), zero-noise edits, bad input.

Preservation cases live in fixtures/compose-document/<case>/{before,after}.yaml (not
input/expected: those names belong to the pass golden harness). Each case applies edits, and the
output must equal after.yaml byte for byte, change only added lines (or the lines the case
allows), re-parse, validate, and differ semantically only under the paths the case claims.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harden import compose
from harden.compose import ComposeDocument, Style, merge, parse, validate_output
from harden.compose.tree import is_flow
from harden.engine.convergence import encode
from harden.engine.guard import semantic_changes
from harden.engine.load import decode
from harden.model import DocumentError, Edit, FileResult, apply_edits

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "compose-document"
CAP = ["ALL"]
NNP = ["no-new-privileges:true"]

Claims = list[tuple[Any, ...]]
Case = Callable[[ComposeDocument], tuple[list[Edit], Claims]]


# --- helpers ---------------------------------------------------------------------------


def changed_lines(before: str, after: str) -> list[str]:
    """Lines of `before` that the output removed or replaced (additions are fine)."""
    old, new = before.splitlines(), after.splitlines()
    bad = []
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            bad.extend(old[i1:i2])
    return bad


def apply(document: ComposeDocument, edits: list[Edit]) -> str:
    return apply_edits(document.text, edits, document.newline)


def check_output(document: ComposeDocument, output: str, claims: Claims, allowed: int = 0) -> ComposeDocument:
    """Re-parse, validate, additions only (up to `allowed` replaced lines), changes only at claims."""
    after = parse(document.path, output)
    assert validate_output(document, after) == []
    replaced = changed_lines(document.text, output)
    assert len(replaced) <= allowed, replaced
    changes = semantic_changes(document.semantic(), after.semantic())
    for change in changes:
        assert any(tuple(change.path[: len(c)]) == tuple(c) for c in claims), change.describe()
    for claim in claims:
        assert any(tuple(ch.path[: len(claim)]) == tuple(claim) for ch in changes), f"claimed {claim} unchanged"
    return after


# --- preservation cases ----------------------------------------------------------------


def case_anchors_merge(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    web, api, worker = doc.services["web"], doc.services["api"], doc.services["worker"]
    edits = doc.add_key(web, "cap_drop", CAP) + doc.add_key(api, "cap_drop", CAP) + doc.add_key(worker, "read_only", True)
    edits += doc.add_key("default", "security_opt", NNP)
    edits += doc.add_key("env", "tmpfs", ["/tmp"])
    claims: Claims = [("services", s, k) for s, k in [("web", "cap_drop"), ("api", "cap_drop"), ("worker", "read_only")]]
    claims += [("services", "web", "security_opt"), ("services", "worker", "security_opt"), ("x-default", "security_opt")]
    claims += [("x-env", "tmpfs"), ("services", "api", "tmpfs")]
    return edits, claims


def case_comments(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    edits: list[Edit] = []
    claims: Claims = []
    for name, service in doc.services.items():
        edits += doc.add_key(service, "cap_drop", CAP)
        edits += doc.add_key(service, "cap_add", ["SETUID", "SETGID"], comments={"SETUID": "gosu switches to the user"})
        claims += [("services", name, "cap_drop"), ("services", name, "cap_add")]
    return edits, claims


def case_flow_style(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    s = doc.services
    edits = doc.add_key(s["web"], "cap_drop", CAP)
    edits += doc.add_key(s["db"], "cap_drop", CAP)  # the file prefers flow lists: [ALL]
    edits += doc.extend_sequence(s["db"], "cap_add", ["SETUID"], comments={"SETUID": "entrypoint su-exec"})
    edits += doc.add_key(s["api"], "read_only", True)
    edits += doc.add_key(s["empty"], "image", "busybox")
    edits += doc.extend_sequence(s["api"], "command", ["--verbose"])
    claims: Claims = [("services", "web", "cap_drop"), ("services", "db", "cap_drop"), ("services", "db", "cap_add")]
    claims += [("services", "api", "read_only"), ("services", "empty", "image"), ("services", "api", "command")]
    return edits, claims


def case_quoting(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    s = doc.services
    edits = doc.replace_scalar(s["web"], "image", "nginx:1.25@sha256:" + "a" * 64)
    edits += doc.replace_scalar(s["web"], "user", "nginx")
    edits += doc.replace_item(s["web"], "environment", 1, "DEBUG=yes")
    edits += doc.extend_sequence(s["web"], "environment", ["LOG=it's"])
    edits += doc.add_key(s["db"], "user", "999:999")
    edits += doc.add_key(s["db"], "stop_signal", "yes")  # a YAML 1.1 boolean: must be quoted
    edits += doc.replace_scalar(s["db"], "hostname", "db: primary")  # plain -> needs quotes now
    claims: Claims = [("services", "web", "image"), ("services", "web", "user"), ("services", "web", "environment")]
    claims += [("services", "db", "user"), ("services", "db", "stop_signal"), ("services", "db", "hostname")]
    return edits, claims


def case_no_final_newline(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    db = doc.services["db"]
    edits = doc.add_key(db, "cap_drop", CAP) + doc.add_key(db, "security_opt", NNP)
    return edits, [("services", "db", "cap_drop"), ("services", "db", "security_opt")]


def case_interpolation(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    app = doc.services["app"]
    edits = doc.add_key(app, "cap_drop", CAP) + doc.add_key(app, "user", "${UID:-1000}")
    edits += doc.add_key(app.node["environment"], "HOME_LITERAL", "$$HOME")
    return edits, [("services", "app", "cap_drop"), ("services", "app", "user"), ("services", "app", "environment")]


def case_reset_override(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    web, other = doc.services["web"], doc.services["other"]
    edits = doc.add_key(web, "cap_drop", CAP) + doc.add_key(other, "cap_drop", CAP)
    edits += doc.add_key("base", "read_only", True)
    claims: Claims = [("services", "web", "cap_drop"), ("services", "other", "cap_drop"), ("x-base", "read_only")]
    claims += [("services", "web", "read_only"), ("services", "other", "read_only")]
    return edits, claims


def case_extensions(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    web = doc.services["web"]
    edits = doc.add_key(web, "cap_drop", CAP) + doc.add_key(web.node["x-notes"], "hardened", True)
    edits += doc.add_key("logging", "options", {"max-size": "10m", "max-file": 3})
    claims: Claims = [("services", "web", "cap_drop"), ("services", "web", "x-notes", "hardened")]
    claims += [("x-logging", "options"), ("services", "web", "logging", "options")]
    return edits, claims


def case_include_profiles_extends(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    web, debug = doc.services["web"], doc.services["debug"]
    edits = doc.add_key(web, "cap_drop", CAP) + doc.add_key(debug, "cap_drop", CAP)
    edits += doc.extend_sequence(web, "profiles", ["all"]) + doc.extend_sequence(debug, "profiles", ["all"])
    claims: Claims = [("services", n, k) for n in ("web", "debug") for k in ("cap_drop", "profiles")]
    return edits, claims


def case_block_scalar(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    init, nxt = doc.services["init"], doc.services["next"]
    edits = doc.add_key(init, "cap_drop", CAP) + doc.add_key(nxt, "cap_drop", CAP)
    edits += doc.extend_sequence(init, "entrypoint", ["--"])
    edits += doc.add_key(nxt.node["healthcheck"], "retries", 3)
    claims: Claims = [("services", n, "cap_drop") for n in ("init", "next")]
    claims += [("services", "init", "entrypoint"), ("services", "next", "healthcheck", "retries")]
    return edits, claims


def case_indent_4_dash_0(doc: ComposeDocument) -> tuple[list[Edit], Claims]:
    web, db = doc.services["web"], doc.services["db"]
    edits = doc.add_key(web, "cap_drop", CAP) + doc.add_key(db, "cap_drop", CAP)
    edits += doc.add_key(db, "deploy", {"replicas": 1})
    edits += doc.extend_sequence(web, "depends_on", ["cache"])
    claims: Claims = [("services", n, "cap_drop") for n in ("web", "db")]
    claims += [("services", "db", "deploy"), ("services", "web", "depends_on")]
    return edits, claims


CASES: dict[str, tuple[Case, int]] = {  # case -> (edits, lines the edits may replace)
    "anchors-merge": (case_anchors_merge, 0),
    "comments": (case_comments, 0),
    "flow-style": (case_flow_style, 5),
    "quoting": (case_quoting, 4),
    "no-final-newline": (case_no_final_newline, 0),
    "interpolation": (case_interpolation, 0),
    "reset-override": (case_reset_override, 0),
    "extensions": (case_extensions, 0),
    "include-profiles-extends": (case_include_profiles_extends, 1),
    "block-scalar": (case_block_scalar, 0),
    "indent-4-dash-0": (case_indent_4_dash_0, 0),
}


def run_case(name: str, text: str) -> tuple[ComposeDocument, str, Claims]:
    document = parse(f"{name}.yaml", text)
    edits, claims = CASES[name][0](document)
    return document, apply(document, edits), claims


@pytest.mark.parametrize("name", sorted(CASES))
def test_preservation_case(name: str) -> None:
    text, _ = decode((FIXTURES / name / "before.yaml").read_bytes())
    document, output, claims = run_case(name, text)
    assert output == (FIXTURES / name / "after.yaml").read_text(encoding="utf-8")
    check_output(document, output, claims, allowed=CASES[name][1])
    assert apply(document, []) == text  # a no-op returns the input


@pytest.mark.parametrize("name", sorted(CASES))
def test_preservation_case_with_crlf(name: str) -> None:
    text, _ = decode((FIXTURES / name / "before.yaml").read_bytes())
    crlf = text.replace("\n", "\r\n")
    document, output, claims = run_case(name, crlf)
    assert document.newline == "\r\n"
    expected = (FIXTURES / name / "after.yaml").read_text(encoding="utf-8").replace("\n", "\r\n")
    assert output == expected
    assert "\n" not in output.replace("\r\n", "")
    check_output(document, output, claims, allowed=CASES[name][1])


def test_bom_is_kept_by_the_engine_and_refused_raw() -> None:
    raw = "\ufeffservices:\n  web:\n    image: nginx\n".encode()
    text, bom = decode(raw)
    assert bom and not text.startswith("\ufeff")
    document = parse("c.yaml", text)
    output = apply(document, document.add_key(document.services["web"], "read_only", True))
    result = FileResult(path="c.yaml", kind="compose", bom=bom)
    assert encode(result, output) == "\ufeffservices:\n  web:\n    image: nginx\n    read_only: true\n".encode()
    with pytest.raises(ValueError):
        parse("c.yaml", "\ufeff" + text)


def test_interpolation_is_kept_verbatim() -> None:
    text, _ = decode((FIXTURES / "interpolation" / "before.yaml").read_bytes())
    document = parse("c.yaml", text)
    app = document.services["app"]
    assert app.image == "${REGISTRY:-docker.io}/acme/app:${TAG:?set TAG}"
    assert app.get("command") == "sh -c 'echo $$HOME && exec app'"
    assert app.get("environment")["LITERAL"] == "$$NOT_EXPANDED"
    edits = document.add_key(app, "user", "${UID:-1000}:$$x")
    assert edits[0].text == "    user: ${UID:-1000}:$$x\n"
    output = apply(document, edits)
    assert parse("c.yaml", output).services["app"].get("user") == "${UID:-1000}:$$x"


# --- reading ---------------------------------------------------------------------------


ANCHORS = (FIXTURES / "anchors-merge" / "before.yaml").read_text(encoding="utf-8")


def test_service_reading_with_merge_keys() -> None:
    document = parse("c.yaml", ANCHORS)
    web, api, worker = (document.services[n] for n in ("web", "api", "worker"))
    assert list(document.services) == ["web", "api", "worker"]
    assert (web.line, web.column, api.line) == (16, 3, 20)
    assert web.image == "nginx:1.25" and worker.image is None and not worker.has_build
    assert web.get("restart") == "unless-stopped" and not web.own("restart") and web.own("image")
    assert web.merged_from("restart") == "default" and web.merged_from("image") is None
    assert api.merge_anchors == ["env", "labels"] and api.merged_from("labels") == "labels"
    assert api.get("environment") == {"TZ": "UTC"} and api.get("missing") is None
    assert worker.get("logging") == {"driver": "json-file", "options": {"max-size": "10m"}}
    anchors = document.anchors()
    assert set(anchors) == {"default", "env", "labels"}
    assert anchors["default"].merged_by == ["web", "worker"] and anchors["default"].line == 2
    assert anchors["default"].path == ("x-default",) and anchors["env"].merged_by == ["api"]


def test_semantic_resolves_merges_and_reset() -> None:
    text = (FIXTURES / "reset-override" / "before.yaml").read_text(encoding="utf-8")
    document = parse("c.yaml", text)
    web = document.semantic()["services"]["web"]
    assert web == {"image": "nginx", "environment": {"MODE": "prod"}}  # !reset drops the merged keys
    assert document.services["web"].get("ports") is None and document.services["web"].own("ports")
    other = document.semantic()["services"]["other"]
    assert other["command"] == ["nginx", "-g", "daemon off;"] and other["ports"] == ["80:80"]
    assert type(document.semantic()["services"]["other"]["ports"][0]) is str


def test_semantic_is_plain_python() -> None:
    document = parse("c.yaml", "services:\n  a:\n    image: x\n    read_only: yes\n    init: true\n    scale: 0x10\n")
    semantic = document.semantic()
    assert semantic == {"services": {"a": {"image": "x", "read_only": "yes", "init": True, "scale": 16}}}
    assert type(semantic["services"]["a"]["init"]) is bool and type(semantic["services"]["a"]["scale"]) is int


def test_style_detection() -> None:
    assert parse("c.yaml", ANCHORS).style == Style(indent=2, seq_offset=2, seq_gap=2, flow_sequences=False, quote='"')
    four = (FIXTURES / "indent-4-dash-0" / "before.yaml").read_text(encoding="utf-8")
    assert parse("c.yaml", four).style == Style(indent=4, seq_offset=0, seq_gap=2, flow_sequences=False, quote='"')
    flow = (FIXTURES / "flow-style" / "before.yaml").read_text(encoding="utf-8")
    assert parse("c.yaml", flow).style.flow_sequences
    quoting = (FIXTURES / "quoting" / "before.yaml").read_text(encoding="utf-8")
    assert parse("c.yaml", quoting).style.quote == "'"


def test_scalar_spans() -> None:
    text = (FIXTURES / "quoting" / "before.yaml").read_text(encoding="utf-8")
    document = parse("c.yaml", text)
    web = document.services["web"].node
    start, end = document.scalar_span(web, "image")
    assert text[start:end] == "'nginx:1.25'"
    start, end = document.scalar_span(web, "command")
    assert text[start:end] == "'nginx -g \"daemon off;\"'"
    start, end = document.scalar_span(web["environment"], 0)
    assert text[start:end] == "'MODE=prod'"
    assert document.scalar_style(web, "user") == '"'
    with pytest.raises(ValueError):
        document.scalar_span(web, "environment")


def test_scalar_span_of_empty_alias_and_comment_values() -> None:
    text = "x: &img nginx\nservices:\n  a:\n    image: *img\n    user:   # later\n    init: true # yes\n"
    document = parse("c.yaml", text)
    node = document.services["a"].node
    start, end = document.scalar_span(node, "image")
    assert text[start:end] == "*img"
    start, end = document.scalar_span(node, "user")
    assert start == end and text[start:].startswith("   # later")
    start, end = document.scalar_span(node, "init")
    assert text[start:end] == "true"
    with pytest.raises(ValueError):
        document.replace_scalar(document.services["a"], "image", "redis")  # an alias: edit the anchor
    output = apply(document, document.replace_scalar(document.services["a"], "user", "1000"))
    assert "    user: '1000'   # later\n" in output or '    user: "1000"   # later\n' in output


def test_add_key_refuses_an_own_key_but_overrides_a_merged_one() -> None:
    document = parse("c.yaml", ANCHORS)
    with pytest.raises(ValueError):
        document.add_key(document.services["web"], "image", "x")
    output = apply(document, document.add_key(document.services["web"], "restart", "no"))
    after = parse("c.yaml", output)
    assert after.services["web"].get("restart") == "no" and after.services["web"].own("restart")
    assert after.services["worker"].get("restart") == "unless-stopped"


def test_add_key_renders_values() -> None:
    document = parse("c.yaml", "services:\n  a:\n    image: x\n")
    a = document.services["a"]
    assert document.add_key(a, "read_only", False)[0].text == "    read_only: false\n"
    assert document.add_key(a, "pids_limit", 100)[0].text == "    pids_limit: 100\n"
    assert document.add_key(a, "tmpfs", [])[0].text == "    tmpfs: []\n"
    assert document.add_key(a, "sysctls", {"net.core.somaxconn": 1024})[0].text == (
        "    sysctls:\n      net.core.somaxconn: 1024\n"
    )
    assert document.add_key(a, "user", "1000:1000")[0].text == "    user: 1000:1000\n"
    assert document.add_key(a, "stop_grace_period", "1:20")[0].text == '    stop_grace_period: "1:20"\n'
    assert document.add_key(a, "stop_signal", "SIGTERM", comments={"stop_signal": "why"})[0].text == (
        "    stop_signal: SIGTERM  # why\n"
    )
    assert document.add_key(a, "labels", ["a: b", "#x", "null", "1.5", "~/x", "-x"])[0].text == (
        '    labels:\n      - "a: b"\n      - "#x"\n      - "null"\n      - "1.5"\n      - ~/x\n      - -x\n'
    )


def test_edits_on_a_service_ending_the_file_without_newline() -> None:
    document = parse("c.yaml", "services:\n  a:\n    image: x")
    edits = document.add_key(document.services["a"], "read_only", True)
    edits += document.add_key(document.services["a"], "cap_drop", ["ALL"])
    assert apply(document, edits) == "services:\n  a:\n    image: x\n    read_only: true\n    cap_drop:\n      - ALL"


def test_extend_sequence_refuses_what_is_not_a_written_sequence() -> None:
    document = parse("c.yaml", "x: &l [a]\nservices:\n  s:\n    image: x\n    dns: *l\n")
    service = document.services["s"]
    with pytest.raises(ValueError):
        document.extend_sequence(service, "dns", ["b"])
    with pytest.raises(ValueError):
        document.extend_sequence(service, "image", ["b"])
    with pytest.raises(ValueError):
        document.extend_sequence(service, "missing", ["b"])


def test_anchor_on_a_service_mapping() -> None:
    text = "services:\n  a: &svc\n    image: x\n    restart: always\n  b:\n    <<: *svc\n    image: y\n"
    document = parse("c.yaml", text)
    assert document.anchors()["svc"].merged_by == ["b"] and document.anchors()["svc"].line == 3
    output = apply(document, document.add_key("svc", "read_only", True))
    assert output == text.replace("    restart: always\n", "    restart: always\n    read_only: true\n")
    assert parse("c.yaml", output).services["b"].get("read_only") is True


def test_merge_key_last_and_block_merge_list() -> None:
    text = (
        "x-a: &a {init: true}\nx-b: &b {tty: true}\nservices:\n"
        "  s:\n    image: x\n    <<:\n      - *a\n      - *b\n\n  t:\n    <<: *a\n"
    )
    document = parse("c.yaml", text)
    s, t = document.services["s"], document.services["t"]
    assert s.merge_anchors == ["a", "b"] and s.get("tty") is True
    output = apply(document, document.add_key(s, "read_only", True) + document.add_key(t, "read_only", True))
    assert output == text.replace("      - *b\n", "      - *b\n    read_only: true\n") + "    read_only: true\n"
    check_output(document, output, [("services", "s", "read_only"), ("services", "t", "read_only")])


# --- validation and override files ----------------------------------------------------


def test_validate_output_checks_the_schema() -> None:
    document = parse("c.yaml", "services:\n  a:\n    image: x\n")
    bad = parse("c.yaml", apply(document, document.add_key(document.services["a"], "cap_drop", "ALL")))
    problems = validate_output(document, bad)
    assert problems == ["compose schema: services.a.cap_drop must be a list, not 'ALL'"]
    assert document.fixable and not bad.fixable


EXTENSIONS = "(the names of extension keys start with x-)"


def test_schema_errors_are_problems_at_their_own_positions() -> None:
    text = (
        "x-d: &d\n  netwrks: [a]\nx-free: {anything: [1]}\nservices:\n  a:\n    <<: *d\n    image: x\n"
        "    cap_drop: ALL\n    environment: [1, B=2]\n    healthcheck: {test: 5}\n"
    )
    document = parse("c.yaml", text)
    assert [(p.line, p.column, p.message) for p in document.problems] == [
        (2, 3, "services.a.netwrks: the Compose Specification has no key 'netwrks' here " + EXTENSIONS),
        (8, 5, "services.a.cap_drop must be a list, not 'ALL'"),
        (9, 19, "services.a.environment.0 must be a string, not 1"),
        (10, 19, "services.a.healthcheck.test must be a string or a list, not 5"),
    ]
    assert not document.fixable and all(p.schema for p in document.problems)
    assert parse("c.yaml", "version: 3\nservices: {}\n").problems[0].message == "version must be a string, not 3"


def effective(documents: list[ComposeDocument]) -> dict[str, Any]:
    """Every service merged across files in order, as `docker compose -f a -f b` does."""
    names = dict.fromkeys(name for document in documents for name in document.services)
    return {name: merge([d.services[name].node for d in documents if name in d.services]) for name in names}


def test_merge_across_override_files() -> None:
    base = parse(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    environment: {A: '1', B: '2'}\n"
        "    command: [a]\n    cap_add: [CHOWN]\n",
    )
    override = parse(
        "compose.override.yaml",
        "services:\n  web:\n    image: nginx:1.25\n    ports: ['443:443']\n    environment: {B: '3'}\n"
        "    command: [b]\n    cap_add: !reset []\n  db:\n    image: postgres\n",
    )
    merged = effective([base, override])
    assert merged["web"] == {
        "image": "nginx:1.25",
        "ports": ["80:80", "443:443"],
        "environment": {"A": "1", "B": "3"},
        "command": ["b"],
    }
    assert merged["db"] == {"image": "postgres"}
    third = parse("c3.yaml", "services:\n  web:\n    ports: !override ['8080:80']\n")
    assert effective([base, override, third])["web"]["ports"] == ["8080:80"]


# --- bad input -------------------------------------------------------------------------


BAD = {
    "invalid-yaml": ("services:\n  web:\n    image: [nginx\n", 4),
    "duplicate-key": ("services:\n  web:\n    image: a\n    image: b\n", 4),
    "duplicate-service": ("services:\n  web:\n    image: a\n  web:\n    image: b\n", 4),
    "not-a-mapping": ("- a\n- b\n", 1),
    "scalar": ("hello\n", 1),
    "no-services": ("name: x\nvolumes:\n  data:\n", 1),
    "services-not-mapping": ("name: x\nservices: [a]\n", 2),
    "service-not-mapping": ("services:\n  web: nginx\n", 2),
    "tab-indented": ("services:\n\tweb:\n\t\timage: x\n", 2),
    "tab-in-nested": ("services:\n  web:\n\timage: x\n", 3),
    "multiple-documents": ("services:\n  a:\n    image: x\n---\nservices:\n  b:\n    image: y\n", 4),
    "anchor-bomb": (
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "services:\n  web:\n    image: x\n    command: *i\n",
        6,  # the line where the expansion first passes the limit
    ),
    "merge-bomb-lists": (
        "x-a: &a {k: [" + ", ".join(["v"] * 100) + "]}\n"
        "x-b: &b {l: [" + ", ".join(["*a"] * 100) + "]}\n"
        "x-c: &c {m: [" + ", ".join(["*b"] * 100) + "]}\n"
        "services:\n  web:\n    <<: *c\n",
        3,  # x-c: 10**6 nodes
    ),
    "lone-cr": ("services:\r  web:\r    image: x\r", 1),
    "deep-nesting": ("services:\n  a:\n    x: " + "[" * 5000 + "]" * 5000 + "\n", 1),
    "merge-of-null": ("a: &a\nb:\n  <<: *a\nservices:\n  web:\n    image: x\n", 1),  # ruamel.yaml crashes here
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_document_error_with_a_line(name: str) -> None:
    text, line = BAD[name]
    with pytest.raises(DocumentError) as caught:
        parse("bad.yaml", text)
    assert caught.value.line == line, caught.value.message
    assert caught.value.message


def test_bad_input_messages() -> None:
    def message(text: str) -> str:
        with pytest.raises(DocumentError) as caught:
            parse("bad.yaml", text)
        return caught.value.message

    assert "duplicate key 'image'" in message(BAD["duplicate-key"][0])
    assert "tab" in message(BAD["tab-indented"][0])
    assert "anchor bomb" in message(BAD["anchor-bomb"][0])
    assert "more than one YAML document" in message(BAD["multiple-documents"][0])
    assert "not a Compose file" in message(BAD["not-a-mapping"][0])


def test_accepted_edge_input() -> None:
    assert parse("c.yaml", "include:\n  - other.yaml\n").services == {}
    assert parse("c.yaml", "---\nservices: {}\n...\n").services == {}
    assert parse("c.yaml", "services:\n  web:\n    command: |\n      \tindented with a tab inside a block\n")
    assert parse("c.yaml", 'services:\n  web:\n    image: "a\tb"\n').services["web"].image == "a\tb"
    big = "x-env: &env\n" + "".join(f"  K{i}: v\n" for i in range(200)) + "services:\n"
    big += "".join(f"  s{i}:\n    image: x\n    environment: *env\n" for i in range(60))
    assert len(parse("c.yaml", big).services) == 60  # 24,000 expanded nodes from ~700: fine


# --- the property test -----------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
VALUES = st.one_of(
    st.from_regex(r"[a-z][a-z0-9:./-]{0,12}", fullmatch=True),
    st.sampled_from(["${TAG:-latest}", "$$HOME", "yes", "80:80", "a # b", "it's", 'say "hi"', "10", "~", ""]),
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from([2, 4]))
    dash = draw(st.sampled_from([0, 2])) if indent == 2 else draw(st.sampled_from([0, 2, 4]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    blank = draw(st.booleans())

    def q(value: str, flow: bool = False) -> str:
        if quote == "'" or (not quote and not compose.plain_ok(value, flow)):
            return "'" + value.replace("'", "''") + "'"
        if quote == '"':
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return value

    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    pad, inner = " " * indent, " " * (2 * indent)
    lines = ["# generated"]
    anchored = draw(st.booleans())
    if anchored:
        lines += ["x-defaults: &defaults", f"{pad}restart: always"]
        if draw(st.booleans()):
            lines += [f"{pad}logging:", f"{pad}{pad}driver: json-file"]
        lines += [""] if blank else []
    lines.append("services:")
    for name in names:
        if draw(st.booleans()) and draw(st.booleans()):
            items = draw(st.lists(VALUES, max_size=3, unique=True))
            lines.append(f"{pad}{name}: {{image: {q(draw(VALUES), True)}, dns: [{', '.join(q(v, True) for v in items)}]}}")
        else:
            lines.append(f"{pad}{name}:  # service {name}")
            merge = anchored and draw(st.booleans())
            if merge and draw(st.booleans()):
                lines.append(f"{inner}<<: *defaults")
                merge = False
            lines.append(f"{inner}image: {q(draw(VALUES))}")
            keys = ["dns", "expose", "environment", "command", "healthcheck", "entrypoint", "labels", "tmpfs", "ports"]
            for key in draw(st.lists(st.sampled_from(keys), unique=True)):
                items = draw(st.lists(VALUES, min_size=1, max_size=3, unique=True))
                if key == "healthcheck":
                    lines += [f"{inner}healthcheck:", f"{inner}{pad}test: [CMD, 'true']", f"{inner}{pad}interval: 10s"]
                elif key == "entrypoint":  # a block scalar with comment-like and blank lines inside
                    lines += [f"{inner}entrypoint: |", f"{inner}{pad}sh -c", f"{inner}{pad}# not a comment", ""]
                    lines.append(f"{inner}{pad}exec app")
                elif key == "labels":  # a tagged mapping
                    lines += [f"{inner}labels: !override", f"{inner}{pad}a: b"]
                elif key == "ports":
                    lines.append(f"{inner}ports: !reset []")
                elif key == "tmpfs":  # a flow sequence over several lines
                    lines += [f"{inner}tmpfs: [", f"{inner}{pad}/run,", f"{inner}{pad}/var/run", f"{inner}]"]
                elif key == "command" or draw(st.booleans()):
                    lines.append(f"{inner}{key}: [{', '.join(q(v, True) for v in items)}]")
                elif key == "environment":
                    lines.append(f"{inner}{key}:")
                    lines.extend(f"{inner}{pad}K{i}: {q(v)}" for i, v in enumerate(items))
                else:
                    lines.append(f"{inner}{key}:")
                    lines.extend(f"{inner}{' ' * dash}- {q(v)}" for v in items)
                if draw(st.booleans()):
                    lines.append(f"{inner}# a comment after {key}")
                if draw(st.booleans()) and key not in ("command", "entrypoint"):
                    lines.append(f"{inner}{' ' * dash}# {key}: an indented comment")
            if merge:
                lines.append(f"{inner}<<: *defaults")
        if blank:
            lines.append("")
    text = "\n".join(lines) + ("\n" if draw(st.booleans()) else "")
    return text.replace("\n", "\r\n") if draw(st.booleans()) else text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([["ALL"], ["NET_RAW", "SYS_ADMIN"]]), VALUES)
def test_property_add_key_is_zero_noise_and_idempotent(text: str, caps: list[str], value: str) -> None:
    document = parse("gen.yaml", text)
    edits: list[Edit] = []
    claims: Claims = []
    allowed = 0
    if "defaults" in document.anchors():
        edits += document.add_key("defaults", "security_opt", ["no-new-privileges:true"])
        claims += [("x-defaults", "security_opt")]
        claims += [("services", n, "security_opt") for n in document.anchors()["defaults"].merged_by]
    for name, service in document.services.items():
        edits += document.add_key(service, "cap_drop", caps, comments={caps[0]: "why"})
        edits += document.add_key(service, "hostname", value)
        claims += [("services", name, "cap_drop"), ("services", name, "hostname")]
        allowed += is_flow(service.node)
        if service.own("dns") and value not in service.get("dns"):
            edits += document.extend_sequence(service, "dns", [value])
            claims.append(("services", name, "dns"))
            allowed += is_flow(service.node["dns"])
        if service.own("tmpfs"):
            edits += document.extend_sequence(service, "tmpfs", ["/tmp"])
            claims.append(("services", name, "tmpfs"))
            allowed += 1  # `/var/run` becomes `/var/run, /tmp`: no trailing comma to add a line after
        if service.own("healthcheck"):
            edits += document.add_key(service.node["healthcheck"], "retries", 3)
            claims.append(("services", name, "healthcheck", "retries"))
    for i, a in enumerate(edits):  # the builders never give overlapping edits here
        assert not any(a.overlaps(b) for b in edits[i + 1 :])
    output = apply(document, edits)
    after = check_output(document, output, claims, allowed=allowed)
    for name in document.services:
        assert after.services[name].get("cap_drop") == caps
        assert after.services[name].get("hostname") == value
    assert after.newline == document.newline
    assert output.endswith(("\n", "\r\n")) == text.endswith("\n") or not text.endswith("\n")
    # idempotency of the semantic change: doing it again on the output changes nothing more
    again = parse("gen.yaml", output)
    for service in again.services.values():
        assert service.own("cap_drop") and service.get("cap_drop") == caps
        with pytest.raises(ValueError):
            again.add_key(service, "cap_drop", caps)
    assert semantic_changes(after.semantic(), again.semantic()) == []


# --- documents of many shapes ------------------------------------------------------------


SNIPPETS = [  # block and flow collections, anchors, merges, quoting, comments, CRLF
    "services:\n  a:\n    image: x\n",
    "---\nservices:\n  a: {image: x, ports: ['80:80', \"443:443\"], dns: []}\n  b: {}\n",
    "# c\n\nservices:   # c\n\n  a:    # c\n    image: x   # c\n    # c\n\n    ports:\n    - 80:80\n    -   81:81 # c\n",
    "x: &a\n  k: v\n  l: [1, true, null, ~, -5, +3, 10]\nservices:\n  s:\n    <<: *a\n    m: *a\n",
    "x-a: &a {k: 1}\nx-b: &b {l: 2}\nservices:\n  s:\n    <<: [*a, *b]\n    z: 1\n"
    "  t:\n    z: 2\n    <<:\n      - *b\n      - *a\n",
    "services:\n  s:\n    volumes:\n      - type: bind\n        source: ./a\n        target: /a\n      - b:/b\n"
    "    environment:\n      - A=1\n",
    "services:\n  s:\n    command: \"a \\\"b\\\" \\\\ c\\n\"\n    entrypoint: 'it''s'\n    \"quoted key\": 1\n    'sq': 2\n",
    "services:\n  s:\n    healthcheck:\n      test: [CMD, curl, -f, http://localhost:80/x?a=b#c]\n      retries: 3\n",
    "services:\n  s:\n    environment:\n      - PIHOLE_DNS_=1.1.1.1 # note: not a key\n    labels:\n      a.b/c: d e f\n",
    "services:\n  s:\n    command: --flag -x\n    x: [--a, -b]\n    y: {k: {n: [a, {m: b}]}}\n",
    "services:\n  s:\n    image: x\nnetworks:\n  public:\n  private:\nvolumes:\n  data:\n",
    "services:\n  s:\n    image: x\n    key with spaces: a b\n    url: http://a:b@c/d\n    port: 8080\n    neg: -1\n",
    "services:\r\n  s:\r\n    image: x\r\n    list:\r\n      - a\r\n",
    "services:\n  s:\n    image: x",
    "services:\n  s:\n    image: nginx:1.25 \n    empty_list: []\n    empty_map: {}\n",
    "x-p: &p acme\nx-q: &q 'quoted'\nservices:\n  s:\n    image: *p\n    l: [*q, *p]\n    m: {a: *p}\n",
]


def test_merged_from_names_the_anchor_that_writes_the_key() -> None:
    text = (
        "x-b: &b\n  restart: always\nx-a: &a\n  <<: *b\n  init: true\nservices:\n  s:\n    <<: [*a, {tty: true}]\n    image: x\n"
    )
    service = parse("c.yaml", text).services["s"]
    assert service.merged_from("init") == "a"
    assert service.merged_from("restart") == "b"  # via a, written in b
    assert service.merged_from("tty") is None and service.get("tty") is True  # an inline mapping: no anchor
    assert service.merged_from("image") is None and service.merged_from("missing") is None


def test_merge_merges_environment_by_name_and_replaces_nested_lists() -> None:
    base = parse(
        "a.yaml",
        "services:\n  s:\n    image: x\n    environment: [A=1, B=2]\n    healthcheck: {test: [CMD, a]}\n    labels: {x: '1'}\n",
    )
    override = parse(
        "b.yaml",
        "services:\n  s:\n    environment: {B: '3', C: '4'}\n    healthcheck: {test: [CMD, b]}\n    labels: [y=2]\n",
    )
    merged = effective([base, override])["s"]
    assert merged["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert merged["healthcheck"] == {"test": ["CMD", "b"]}
    assert merged["labels"] == {"x": "1", "y": "2"}


def test_edits_after_multi_line_quoted_scalars_and_flow_collections() -> None:
    text = (
        "services:\n  web:\n    command: 'nginx -g \"daemon o\n\n      ff;\"'\n  db:\n    ports:\n      - '  # x\n"
        '8000:8000\'\n    dns: [a,\n  b]\n  last:\n    environment: {A: "x\n# y"}\n'
    )
    document = parse("c.yaml", text)
    edits: list[Edit] = []
    claims: Claims = []
    for name, service in document.services.items():
        edits += document.add_key(service, "read_only", True)
        claims.append(("services", name, "read_only"))
    output = apply(document, edits)
    check_output(document, output, claims)
    assert output.count("    read_only: true\n") == 3


def test_two_edits_filling_one_empty_flow_collection_overlap() -> None:
    document = parse("c.yaml", "services:\n  a: {}\n  b:\n    image: x\n    dns: []\n")
    first = document.add_key(document.services["a"], "image", "x")
    second = document.add_key(document.services["a"], "read_only", True)
    assert first[0].overlaps(second[0])  # the engine applies one per round
    assert apply(document, first) == "services:\n  a: {image: x}\n  b:\n    image: x\n    dns: []\n"
    extended = document.extend_sequence(document.services["b"], "dns", ["1.1.1.1"], comments={"1.1.1.1": "why"})
    assert apply(document, extended).endswith("    dns: [1.1.1.1]  # 1.1.1.1: why\n")


def test_services_merged_into_services_and_names_that_are_not_strings() -> None:
    text = "x-more: &more\n  extra:\n    image: x\nservices:\n  <<: *more\n  web:\n    image: y\n"
    document = parse("c.yaml", text)
    assert list(document.services) == ["web", "extra"] and document.services["extra"].line == 2
    with pytest.raises(DocumentError) as caught:
        parse("c.yaml", "services:\n  :\n    image: x\n")
    assert caught.value.line == 2 and "not a string" in caught.value.message


def test_reused_anchors_warn_nobody(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = parse("c.yaml", "x: &a {k: 1}\ny: &a {k: 2}\nservices:\n  s:\n    <<: *a\n    image: |\n      x\n")
    assert document.services["s"].get("k") == 2


def test_tagged_sequences_have_item_positions() -> None:
    text = "services:\n  s:\n    image: x\n    dns: !override\n      - 1.1.1.1\n    command: !override [a, b]\n"
    document = parse("c.yaml", text)
    s = document.services["s"]
    edits = document.extend_sequence(s, "dns", ["8.8.8.8"]) + document.replace_item(s, "command", 1, "c")
    output = apply(document, edits)
    assert output == text.replace("      - 1.1.1.1\n", "      - 1.1.1.1\n      - 8.8.8.8\n").replace("[a, b]", "[a, c]")
    check_output(document, output, [("services", "s", "dns"), ("services", "s", "command")], allowed=1)


def test_replacing_a_multi_line_plain_scalar_replaces_all_its_lines() -> None:
    text = "services:\n  s:\n    image: x\n    command: echo one\n      - two three\n    user: root\n"
    document = parse("c.yaml", text)
    assert document.services["s"].get("command") == "echo one - two three"
    output = apply(document, document.replace_scalar(document.services["s"], "command", "sleep 1"))
    assert output == "services:\n  s:\n    image: x\n    command: sleep 1\n    user: root\n"


def test_flow_collections_with_a_trailing_comma_keep_it() -> None:
    document = parse("c.yaml", "services:\n  a: {image: x, dns: [a,],}\n")
    a = document.services["a"]
    edits = document.add_key(a, "read_only", True) + document.add_key(a, "init", True)
    output = apply(document, edits)
    assert output == "services:\n  a: {image: x, dns: [a,], read_only: true, init: true,}\n"
    assert apply(document, document.extend_sequence(a, "dns", ["b"])) == "services:\n  a: {image: x, dns: [a, b,],}\n"


def test_replacing_a_multi_line_plain_item() -> None:
    text = "services:\n  s:\n    entrypoint:\n      - sh\n        || exit 1\n      - -c\n"
    document = parse("c.yaml", text)
    assert document.services["s"].get("entrypoint") == ["sh || exit 1", "-c"]
    output = apply(document, document.replace_item(document.services["s"], "entrypoint", 0, "bash"))
    assert output == "services:\n  s:\n    entrypoint:\n      - bash\n      - -c\n"


EDIT_MUTATIONS = st.sampled_from(["#", " #", "# c", "\n", "\n\n", "  # x\n", "\n# y\n", " ", "  ", "[", "]", ",", '"', "'", "- "])


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.sampled_from(SNIPPETS + [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*/before.yaml"))]), st.data())
def test_edits_on_mutated_documents_are_zero_noise(text: str, data: st.DataObject) -> None:
    """Whatever odd (but valid) shape a document takes, adding keys to every service adds lines
    only, or is refused (ValueError) where the service's mapping is shared with another place
    (`b: *a`: harden.compose's "Shared mappings"). Derandomized, no database: CI sees the same
    examples on every run."""
    for _ in range(data.draw(st.integers(0, 3))):
        position = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:position] + data.draw(EDIT_MUTATIONS) + text[position:]
        else:
            text = text[:position] + text[position + data.draw(st.integers(1, 3)) :]
    try:
        document = parse("m.yaml", text)
    except DocumentError:
        return
    if document.schema_errors:
        return
    edits: list[Edit] = []
    claims: Claims = []
    for name, service in document.services.items():
        for key, value in (("cap_drop", ["ALL"]), ("read_only", True)):
            if service.own(key):
                continue
            try:
                new = document.add_key(service, key, value, comments={"ALL": "why"})
            except ValueError as refused:
                assert "also used at" in str(refused) or "merges without setting" in str(refused), refused
                continue
            if any(a.overlaps(b) for a in new for b in edits):
                continue  # the engine would apply it in its next round
            edits += new
            claims.append(("services", name, key))
    flow = sum(is_flow(s.node) for s in document.services.values())
    check_output(document, apply(document, edits), claims, allowed=flow)


def test_an_empty_flow_collection_over_two_lines_keeps_its_closing_line() -> None:
    """Found by test_edits_on_mutated_documents_are_zero_noise: the entry went after `{` and its
    comment after `}`, so both lines changed; it is now a line of its own (a comment inside a
    flow collection, which ruamel.yaml and Docker Compose both read), and two such edits still
    overlap (the engine applies one per round: two lines without a comma between would be wrong)."""
    text = "services:\n  a: {image: x}\n  b: {  # x\n  }\n"
    document = parse("c.yaml", text)
    b = document.services["b"]
    first = document.add_key(b, "cap_drop", ["ALL"], comments={"ALL": "why"})
    output = apply(document, first)
    assert output == "services:\n  a: {image: x}\n  b: {  # x\n    cap_drop: [ALL]  # ALL: why\n  }\n"
    check_output(document, output, [("services", "b", "cap_drop")])
    assert first[0].overlaps(document.add_key(b, "read_only", True)[0])
