"""The compose passes: golden fixtures, placement (anchors), what is never touched, idempotency.

Golden cases live in fixtures/<rule>/<case>/{input.yaml, expected.yaml}; expected.yaml is the
output of `harden fix --select <rule>` on input.yaml (written by the passes, reviewed by hand).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from golden import UNSAFE_MARKER

from harden import compose, engine
from harden.config import Settings
from harden.engine.convergence import encode
from harden.model import Applicability, EvidenceKind, FileResult, Finding
from harden.passes import Context
from harden.passes.compose import published_ports

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIX_RULES = (
    "cap-drop-all",
    "read-only-rootfs",
    "no-new-privileges",
    "published-ports",
    "resource-limits",
    "compose-non-root",
)
DISPLAY_RULES = (
    "privileged",
    "host-namespaces",
    "docker-socket",
    "sensitive-mount",
    "devices",
    "docker-api-tcp",
    "security-profiles",
    "dangerous-capabilities",
    "tmpfs-exec",
    "mount-propagation",
    "logging-disabled",
    "traefik-api-insecure",
)
RULES = FIX_RULES + DISPLAY_RULES
CASES = sorted(d for rule in RULES for d in (FIXTURES / rule).glob("*") if (d / "input.yaml").is_file())


def run(text: str | bytes, *rules: str, **settings: Any) -> FileResult:
    """`fix` with these rules (default: all), and --unsafe-fixes unless told otherwise: most tests
    here are about where edits go, on images harden knows nothing about."""
    settings.setdefault("unsafe_fixes", True)
    raw = text.encode() if isinstance(text, str) else text
    chosen = Settings(select=frozenset(rules or RULES), offline=True, **settings)
    return engine.run_text("compose.yaml", "compose", raw, chosen)


def findings(text: str, rule: str) -> list[Any]:
    return run(text, rule).findings


def semantic(text: str) -> dict[str, Any]:
    return compose.parse("compose.yaml", text).semantic()


# --- golden fixtures -----------------------------------------------------------------------


def test_every_rule_has_fixtures() -> None:
    for rule in RULES:
        assert any(case.parent.name == rule for case in CASES), rule


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path) -> None:
    rule = case.parent.name
    result = run((case / "input.yaml").read_bytes(), rule, unsafe_fixes=(case / UNSAFE_MARKER).is_file())
    assert result.errors == []
    assert encode(result, result.output) == (case / "expected.yaml").read_bytes()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden_is_idempotent(case: Path) -> None:
    rule = case.parent.name
    result = run((case / "expected.yaml").read_bytes(), rule, unsafe_fixes=(case / UNSAFE_MARKER).is_file())
    assert result.errors == []
    assert result.output == result.original
    assert not [f for f in result.findings if f.fix and (f.fix.built is None or f.fix.built.edits)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_all_rules_together_converge(case: Path) -> None:
    """Every compose pass at once on each fixture: valid output, and a second run proposes nothing."""
    first = run((case / "input.yaml").read_bytes())
    assert first.errors == []
    second = run(first.output)
    assert second.errors == []
    assert second.output == second.original, [f.rule.id for f in second.applied]


@pytest.mark.parametrize("rule", DISPLAY_RULES)
def test_display_findings_never_change_text(rule: str) -> None:
    for case in (FIXTURES / rule).glob("*"):
        text = (case / "input.yaml").read_text(encoding="utf-8")
        result = run(text, rule)
        assert result.output == text
        assert result.findings, f"{case}: the display fixture reports nothing"
        assert all(f.fix is None and f.applicability is Applicability.DISPLAY for f in result.findings)


def test_fix_passes_keep_every_value_the_user_wrote() -> None:
    """Whatever the passes do, each value of the input is still there: scalars equal, lists
    extended at the end (published-ports' rebinding is the one replacement, checked apart)."""
    for case in CASES:
        if case.parent.name == "published-ports":
            continue
        text = (case / "input.yaml").read_text(encoding="utf-8")
        result = run(text, *(r for r in FIX_RULES if r != "published-ports"))
        _assert_kept(semantic(text), semantic(result.output), (case.name,))


def _assert_kept(before: Any, after: Any, path: tuple[Any, ...]) -> None:
    if isinstance(before, dict):
        assert isinstance(after, dict), path
        for key, value in before.items():
            assert key in after, (*path, key)
            _assert_kept(value, after[key], (*path, key))
    elif isinstance(before, list):
        assert isinstance(after, list) and after[: len(before)] == before, path
    else:
        assert before == after, path


def test_docstring_examples_are_fixtures() -> None:
    from harden import passes

    for rule in RULES:
        module = passes.rule(rule)
        assert module is not None, rule
        doc = module.__doc__ or ""
        name = doc.split("fixtures/", 1)[1].split(")", 1)[0]
        case = FIXTURES / name
        assert (case / "input.yaml").is_file(), name
        for line in (case / "input.yaml").read_text(encoding="utf-8").splitlines():
            assert line.strip() in doc, (rule, line)
        assert module.RULE.kinds == ("compose",)
        assert module.RULE.control.startswith("CIS ")
        assert "CIS Docker Benchmark v1.6.0" in " ".join(doc.split())


# --- cap-drop-all --------------------------------------------------------------------------


def test_cap_add_is_commented_with_why() -> None:
    result = run("services:\n  db:\n    image: postgres:16\n", "cap-drop-all")
    after = semantic(result.output)["services"]["db"]
    assert after["cap_drop"] == ["ALL"]
    assert after["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]  # no FOWNER: RUNTIME.md §8
    assert "      - SETUID  # gosu" in result.output
    [caveat] = result.applied[0].fix.caveats  # type: ignore[union-attr]
    assert caveat.subject == "db" and caveat.text.startswith("cap_drop ALL + cap_add CHOWN")


def test_unknown_image_gets_an_unsafe_fix_that_says_what_to_verify() -> None:
    [finding] = findings("services:\n  app:\n    build: .\n", "cap-drop-all")
    assert finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE
    assert [e.kind for e in finding.fix.evidence] == [EvidenceKind.NONE]
    assert "unknown image" in finding.message
    for capability in ("CHOWN", "SETUID", "SETGID"):
        assert capability in finding.message and capability in finding.fix.caveats[0].text
    assert finding.subject == "app"


UNKNOWN_AND_KNOWN = (
    'services:\n  app:\n    image: example.org/app:1\n  db:\n    image: redis:7\n    volumes: ["data:/data"]\nvolumes:\n  data:\n'
)


@pytest.mark.parametrize("rule", ["cap-drop-all", "read-only-rootfs"])
def test_fixes_without_evidence_are_applied_only_with_unsafe_fixes(rule: str) -> None:
    default = run(UNKNOWN_AND_KNOWN, rule, unsafe_fixes=False)
    assert [f.subject for f in default.applied] == ["db"]  # redis: knowledge
    [held] = [f for f in default.findings if f.subject == "app"]
    assert held.fix is not None and held.fix.applicability is Applicability.UNSAFE
    assert semantic(default.output)["services"]["app"] == {"image": "example.org/app:1"}
    unsafe = run(UNKNOWN_AND_KNOWN, rule, unsafe_fixes=True)
    assert sorted(f.subject for f in unsafe.applied) == ["app", "db"]


def test_every_applied_compose_fix_names_its_evidence() -> None:
    result = run(UNKNOWN_AND_KNOWN.replace("redis:7", "postgres:16"), unsafe_fixes=False)
    assert result.applied
    for finding in result.applied:
        assert finding.fix is not None
        if finding.fix.applicability is Applicability.REVIEW:
            kinds = {e.kind for e in finding.fix.evidence}
            assert kinds and EvidenceKind.NONE not in kinds, finding.rule.id
    [caps] = [f for f in result.applied if f.rule.id == "cap-drop-all"]
    assert caps.fix is not None and caps.fix.evidence[0].kind is EvidenceKind.KNOWLEDGE
    assert caps.fix.evidence[0].source.startswith("harden/knowledge/images/postgres.toml (https://github.com/docker-library/")


def test_a_non_root_user_set_by_the_project_is_evidence_for_dropping_capabilities() -> None:
    [finding] = findings("services:\n  app:\n    image: example.org/app:1\n    user: '1000'\n", "cap-drop-all")
    assert finding.fix is not None and finding.fix.applicability is Applicability.REVIEW
    assert finding.fix.evidence[0].kind is EvidenceKind.BUILD and finding.fix.evidence[0].source == "compose.yaml:4"


def test_cap_lists_set_by_the_user_are_extended_not_replaced() -> None:
    text = "services:\n  pihole:\n    image: pihole/pihole:latest\n    cap_add:\n      - NET_ADMIN  # DHCP\n"
    result = run(text, "cap-drop-all")
    assert "      - NET_ADMIN  # DHCP\n" in result.output
    assert semantic(result.output)["services"]["pihole"]["cap_add"][0] == "NET_ADMIN"
    assert "your cap_add (NET_ADMIN) is kept" in result.applied[0].message


def test_cap_drop_all_with_missing_cap_add_is_reported_not_changed() -> None:
    text = "services:\n  db:\n    image: postgres:16\n    cap_drop: [ALL]\n"
    result = run(text, "cap-drop-all")
    assert result.output == text
    [finding] = result.findings
    assert finding.fix is None and "CHOWN" in finding.message


def test_privileged_service_is_left_to_privileged() -> None:
    assert findings("services:\n  x:\n    image: redis:7\n    privileged: true\n", "cap-drop-all") == []


# --- placement -----------------------------------------------------------------------------

ANCHORED = """\
x-defaults: &defaults
  restart: unless-stopped

services:
  api:
    <<: *defaults
    image: example/api:1
  worker:
    <<: *defaults
    image: example/worker:1
"""


def test_same_value_for_every_service_goes_into_the_anchor_once() -> None:
    result = run(ANCHORED, "cap-drop-all", "no-new-privileges", "resource-limits")
    assert result.errors == []
    assert result.output.count("cap_drop") == 1 and result.output.count("pids_limit") == 1
    anchored = result.output.split("services:")[0]
    assert "cap_drop" in anchored and "no-new-privileges:true" in anchored and "pids_limit: 1024" in anchored
    data = semantic(result.output)
    for name in ("api", "worker"):
        assert data["services"][name]["cap_drop"] == ["ALL"]
    [finding] = [f for f in result.applied if f.rule.id == "cap-drop-all"]
    assert finding.subject == "api, worker" and "anchor &defaults" in finding.message
    assert ("x-defaults", "cap_drop") in finding.fix.claims  # type: ignore[union-attr]


def test_different_values_go_on_each_service() -> None:
    text = ANCHORED.replace("example/worker:1", "redis:7")
    result = run(text, "cap-drop-all")
    services = semantic(result.output)["services"]
    assert "cap_drop" in result.output.split("services:")[0]  # the same for both
    assert "cap_add" not in services["api"] and services["worker"]["cap_add"] == ["CHOWN", "SETGID", "SETUID"]
    assert "cap_add" not in result.output.split("services:")[0]


def test_a_service_that_set_the_key_keeps_the_anchor_untouched() -> None:
    text = ANCHORED.replace("    image: example/api:1\n", "    image: example/api:1\n    cap_drop: [ALL]\n")
    result = run(text, "cap-drop-all")
    assert "cap_drop" not in result.output.split("services:")[0]
    assert semantic(result.output)["services"]["worker"]["cap_drop"] == ["ALL"]


def test_anchor_used_as_a_plain_alias_elsewhere_is_not_edited() -> None:
    text = ANCHORED + "x-copy: *defaults\n"
    result = run(text, "no-new-privileges")
    assert result.errors == []
    data = semantic(result.output)
    assert "security_opt" not in data["x-defaults"] and "security_opt" not in data["x-copy"]
    assert data["services"]["api"]["security_opt"] == ["no-new-privileges:true"]


def test_nested_merges_and_service_anchors() -> None:
    text = """\
x-base: &base
  restart: always
x-app: &app
  <<: *base
  init: true
services:
  web: &web
    <<: *app
    image: example/web:1
  web2:
    <<: *web
    command: other
"""
    result = run(text)
    assert result.errors == []
    data = semantic(result.output)
    for name in ("web", "web2"):
        assert data["services"][name]["cap_drop"] == ["ALL"]
        assert data["services"][name]["security_opt"] == ["no-new-privileges:true"]
    again = run(result.output)
    assert again.output == again.original


def test_shared_list_is_extended_in_the_anchor_when_all_need_it() -> None:
    text = """\
x-defaults: &defaults
  security_opt:
    - label:disable
services:
  api:
    <<: *defaults
    image: example/api:1
  worker:
    <<: *defaults
    image: example/worker:1
"""
    result = run(text, "no-new-privileges")
    assert "    - label:disable\n    - no-new-privileges:true\n" in result.output
    assert result.output.count("no-new-privileges") == 1


def test_shared_list_is_not_overridden_for_one_service() -> None:
    text = """\
x-defaults: &defaults
  security_opt:
    - label:disable
services:
  dns:
    <<: *defaults
    image: pihole/pihole:latest
  worker:
    <<: *defaults
    image: example/worker:1
"""
    result = run(text, "no-new-privileges")
    assert result.output == text
    blocked = [f for f in result.findings if f.subject == "worker"]
    assert blocked and blocked[0].fix is None and "shared with dns" in blocked[0].message


def test_extended_last_list_and_new_keys_land_in_order() -> None:
    """A list that ends its service gets items while other passes add keys at the same place."""
    text = "services:\n  app:\n    image: example/app:1\n    security_opt:\n      - label:disable\n    tmpfs:\n      - /run\n"
    result = run(text)
    assert result.errors == []
    app = semantic(result.output)["services"]["app"]
    assert app["security_opt"] == ["label:disable", "no-new-privileges:true"]
    assert app["tmpfs"] == ["/run", "/tmp"]
    assert app["cap_drop"] == ["ALL"] and app["read_only"] is True and app["pids_limit"] == 1024


# --- read-only-rootfs ----------------------------------------------------------------------


def test_paths_on_volumes_stay_writable_and_tmpfs_is_merged() -> None:
    text = "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - cache:/var/cache/nginx\n    tmpfs: [/run]\n"
    result = run(text, "read-only-rootfs")
    web = semantic(result.output)["services"]["web"]
    assert web["read_only"] is True
    assert web["tmpfs"] == ["/run", "/tmp"]  # /var/run is /run; /var/cache/nginx is on a volume


def test_data_outside_volumes_is_reported_not_made_read_only() -> None:
    text = "services:\n  db:\n    image: postgres:16\n"
    result = run(text, "read-only-rootfs")
    assert result.output == text
    assert "not on a volume" in result.findings[0].message


# --- published-ports -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("5432:5432", "127.0.0.1:5432:5432"),
        ("0.0.0.0:5432:5432", "127.0.0.1:5432:5432"),
        ("5432-5433:5432-5433", "127.0.0.1:5432-5433:5432-5433"),
        ("53:53/udp", "127.0.0.1:53:53/udp"),
        ("[::]:6379:6379", "[::1]:6379:6379"),
        ("::1:6000:6000", None),
        (":::6000:6000", "[::1]:6000:6000"),
        ("5432", "127.0.0.1::5432"),
        (5432, "127.0.0.1::5432"),
        ("${PORT:-5432}:5432", "127.0.0.1:${PORT:-5432}:5432"),
        ("127.0.0.1:5432:5432", None),
        ("${BIND:-0.0.0.0}:5432:5432", None),
        # a variable's default that holds an address is never prefixed (Compose: invalid IP address)
        ("${SQL_PORT:-127.0.0.1:13306}:3306", None),
        ("${SQL_PORT:-0.0.0.0:13306}:3306", None),
        ("${BIND:-127.0.0.1}:5432:5432", None),
        ("${PORT}:5432", None),
        ("$PORT:5432", None),
        ("${PORT:?set it}:5432", None),
        ("5432:${TARGET}", None),
        # an address written literally decides; defaults that hold ports keep their place
        ("127.0.0.1:${PORT}:5432", None),
        ("0.0.0.0:${PORT:-5432}:5432", "127.0.0.1:${PORT:-5432}:5432"),
        ("[::]:${PORT:-5432}:5432", "[::1]:${PORT:-5432}:5432"),
        ("${PORT:-5432}", "127.0.0.1::${PORT:-5432}"),
        ("${FIRST:-5432}-${LAST:-5433}:5432-5433/tcp", "127.0.0.1:${FIRST:-5432}-${LAST:-5433}:5432-5433/tcp"),
        ("${PORT:-${OTHER:-5432}}:5432", "127.0.0.1:${PORT:-${OTHER:-5432}}:5432"),
    ],
)
def test_short_port_syntax(item: object, expected: str | None) -> None:
    port = compose.parse_port(item, 0)
    assert port is not None
    fixable, _ = published_ports.exposure(port)
    assert (port.loopback() if fixable else None) == expected


@pytest.mark.parametrize(
    ("item", "reported"),
    [
        ("${SQL_PORT:-127.0.0.1:13306}:3306", False),  # loopback already
        ("${BIND:-127.0.0.1}:5432:5432", False),
        ("${SQL_PORT:-0.0.0.0:13306}:3306", True),
        ("${BIND:-0.0.0.0}:5432:5432", True),
        ("${PORT}:5432", True),
        ({"target": 5432, "host_ip": "${HOST:-0.0.0.0}"}, True),
        ({"target": 5432, "host_ip": "${HOST}"}, True),
        ({"target": 5432, "host_ip": "${HOST:-127.0.0.1}"}, False),
    ],
)
def test_port_variables_harden_cannot_know_are_reported_not_rewritten(item: object, reported: bool) -> None:
    port = compose.parse_port(item, 0)
    assert port is not None
    fixable, why = published_ports.exposure(port)
    assert not fixable and bool(why) == reported


def test_a_variable_that_holds_an_address_is_never_prefixed() -> None:
    text = 'services:\n  db:\n    image: mysql:8.0\n    ports:\n      - "${SQL_PORT:-127.0.0.1:13306}:3306"\n'
    result = run(text, "published-ports")
    assert result.output == text and result.findings == []
    other = text.replace("127.0.0.1:13306", "0.0.0.0:13306")
    result = run(other, "published-ports")
    assert result.output == other
    (finding,) = result.findings
    assert finding.fix is None and "harden does not change a variable's default" in finding.message


def test_long_port_syntax() -> None:
    port = compose.parse_port({"target": 5432, "published": "5432", "protocol": "tcp"}, 3)
    assert port is not None and port.long and port.all_interfaces and port.index == 3
    assert compose.parse_port({"target": 5432, "host_ip": "10.0.0.2"}, 0).all_interfaces is False  # type: ignore[union-attr]


def test_public_entry_point_is_never_bound_to_loopback() -> None:
    for image in ("nginx:1.27", "traefik:2.6", "caddy:2", "httpd:2.4", "example/unknown:1"):
        text = f'services:\n  front:\n    image: {image}\n    ports:\n      - "80:80"\n      - 443:443\n'
        assert findings(text, "published-ports") == [], image
        assert '      - "80:80"\n' in run(text).output, image


def test_backing_service_ports_rebound_quoting_kept() -> None:
    text = "services:\n  db:\n    image: mysql:8.0\n    ports:\n      - '3306:3306'\n      - 33060:33060\n"
    result = run(text, "published-ports")
    assert "      - '127.0.0.1:3306:3306'\n      - 127.0.0.1:33060:33060\n" in result.output
    assert result.applied[0].fix.claims == (("services", "db", "ports"),)  # type: ignore[union-attr]


def test_host_network_publishes_nothing() -> None:
    text = "services:\n  db:\n    image: redis:7\n    network_mode: host\n    ports:\n      - 6379:6379\n"
    assert findings(text, "published-ports") == []


# --- no-new-privileges, resource-limits, compose-non-root ------------------------------------


def test_existing_no_new_privileges_in_any_spelling_is_enough() -> None:
    for option in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"):
        text = f"services:\n  app:\n    image: example/app\n    security_opt: [{option}]\n"
        assert findings(text, "no-new-privileges") == [], option


def test_pids_limit_default_can_be_configured() -> None:
    text = "services:\n  app:\n    image: example/app\n"
    result = run(text, "resource-limits", rule_options={"resource-limits": {"pids": 256}})
    assert "    pids_limit: 256\n" in result.output


def test_memory_and_cpu_limits_are_reported_without_fix() -> None:
    result = run("services:\n  app:\n    image: example/app\n    pids_limit: 100\n", "resource-limits")
    [finding] = result.findings
    assert finding.fix is None and "memory" in finding.message and "CPU" in finding.message


def test_user_added_only_where_the_image_works_as_non_root() -> None:
    text = "services:\n  cache:\n    image: redis:7\n  db:\n    image: postgres:16\n  app:\n    build: .\n"
    result = run(text, "compose-non-root")
    services = semantic(result.output)["services"]
    assert services["cache"]["user"] == "redis"
    assert "user" not in services["db"] and "user" not in services["app"]
    from harden.passes.compose import non_root as compose_non_root
    from harden.passes.dockerfile import non_root_user

    assert compose_non_root.RATIONALE is non_root_user.RATIONALE


# --- display rules -------------------------------------------------------------------------


def test_docker_socket_read_only_still_reported() -> None:
    text = "services:\n  t:\n    image: traefik:3\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n"
    [finding] = findings(text, "docker-socket")
    assert ":ro does not help" in finding.message and "socket proxy" in finding.message


def test_docker_api_through_a_socket_proxy_is_not_reported() -> None:
    text = (FIXTURES / "docker-api-tcp" / "socket-proxy" / "input.yaml").read_text(encoding="utf-8")
    assert [f.subject for f in findings(text, "docker-api-tcp")] == ["ci"]


def test_sensitive_mount_ignores_read_only_files_and_named_volumes() -> None:
    text = "services:\n  a:\n    image: x\n    volumes:\n      - /etc/localtime:/etc/localtime:ro\n      - data:/etc\n"
    assert findings(text, "sensitive-mount") == []


def test_host_namespace_from_anchor_points_at_the_anchor() -> None:
    text = (FIXTURES / "host-namespaces" / "all" / "input.yaml").read_text(encoding="utf-8")
    [ipc] = [f for f in findings(text, "host-namespaces") if f.message.startswith("ipc")]
    assert (ipc.line, ipc.subject) == (2, "monitor")


# --- the corpus ----------------------------------------------------------------------------


def test_corpus_compose_files(corpus: Path) -> None:
    """All compose passes on the corpus: no error, converged, every fix says what might break
    for its services, and the only lines changed (not added) are port entries bound to loopback."""
    from conftest import corpus_files

    files = corpus_files("compose")
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        result = run(path.read_bytes())
        assert result.errors == [], path
        again = run(result.output)
        assert again.output == again.original, (path, [f.rule.id for f in again.applied])
        for finding in result.applied:
            assert finding.fix is not None and finding.fix.caveats, (path, finding.rule.id)
            subjects = {caveat.subject for caveat in finding.fix.caveats}
            assert subjects <= set(finding.subject.split(", ")), (path, finding.fix.caveats)
        removed = [
            line[1:].strip()
            for line in difflib.unified_diff(text.splitlines(), result.output.splitlines(), lineterm="", n=0)
            if line.startswith("-") and not line.startswith("---")
        ]
        for line in removed:
            port = compose.parse_port(line.removeprefix("- ").strip("'\""), 0)
            assert port is not None and port.all_interfaces, (path, line)


def test_every_pass_is_pure() -> None:
    """Passes read only the document and the context: the same input, twice, same findings."""
    from harden import passes

    text = (FIXTURES / "cap-drop-all" / "postgres" / "input.yaml").read_text(encoding="utf-8")
    document = compose.parse("compose.yaml", text)
    for rule in RULES:
        module = passes.rule(rule)
        assert module is not None
        context = Context().for_pass(module)
        first, second = module.check(document, context), module.check(document, context)
        assert first == second
        assert [f.fix.edits() for f in first if f.fix] == [f.fix.edits() for f in second if f.fix]
    assert document.text == text


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_check_reports_the_fixes_fix_makes(case: Path) -> None:
    """`check` (no edits rendered) and `fix` see the same findings, subjects and fix safety: a
    fix is built only when applied, and building every fix changes nothing the pass reports."""
    from harden import passes

    document = compose.parse("compose.yaml", (case / "input.yaml").read_text(encoding="utf-8"))
    module = passes.rule(case.parent.name)
    assert module is not None

    def summary(found: list[Finding]) -> list[tuple[Any, ...]]:
        return [(f.line, f.column, f.subject, f.message, f.applicability, f.fix and f.fix.all_claims()) for f in found]

    checked = module.check(document, Context().for_pass(module))
    assert all(f.fix.built is None for f in checked if f.fix)  # nothing rendered while checking
    built = module.check(document, Context().for_pass(module))
    assert all(f.fix.edits() for f in built if f.fix)  # every fix check reports can be made
    assert summary(checked) == summary(built)


def test_keys_reset_or_empty_are_left_alone() -> None:
    text = "services:\n  app:\n    image: example/app\n    cap_drop: !reset []\n    security_opt:\n"
    result = run(text, "cap-drop-all", "no-new-privileges")
    assert result.errors == [] and result.output == text
    assert len(result.findings) == 2
    assert all(f.fix is None and "without a value" in f.message for f in result.findings)


# --- extends: what a rule adds to a base service (the engine's query) --------------------------


def test_additions_are_what_the_rule_applies_to_each_service() -> None:
    from harden.engine.convergence import Additions

    text = (
        "services:\n  base:\n    image: x\n    security_opt: [label:disable]\n"
        "  done:\n    image: y\n    security_opt: [no-new-privileges]\n"
    )
    document = compose.parse("base.yaml", text)
    ask = Additions(Context())
    assert ask("no-new-privileges", document) == {"base": {"security_opt": ["no-new-privileges:true"]}, "done": {}}
    assert ask("resource-limits", document) == {"base": {"pids_limit": 1024}, "done": {"pids_limit": 1024}}
    refusing = Additions(Context(chooses=lambda finding: finding.subject != "done"))
    assert refusing("resource-limits", document) == {"base": {"pids_limit": 1024}, "done": {}}


def test_additions_run_the_rule_once_per_document_without_inheritance(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine answers each question once while a file is analysed, and the rule it runs to
    answer sees no `additions` itself (so the question never recurses)."""
    from harden import passes
    from harden.engine.convergence import Additions

    module = passes.rule("no-new-privileges")
    assert module is not None
    seen: list[Any] = []
    check = module.check
    monkeypatch.setattr(module, "check", lambda document, context: seen.append(context.additions) or check(document, context))
    document = compose.parse("base.yaml", "services:\n  base:\n    image: x\n")
    ask = Additions(Context())
    assert ask("no-new-privileges", document) == ask("no-new-privileges", document)
    assert seen == [None, None]  # two rounds: the fix, then nothing left to do
