"""The rules harden's peers have (issue 10, item 8): each reports exactly the findings its
golden fixture's positive cases call for, none for its negative cases, and never edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden import engine
from harden.config import Settings
from harden.model import Applicability, FileResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# fixture -> the findings it must give: (line, column, subject, about), in order
EXPECTED: dict[str, list[tuple[int, int, str, str]]] = {
    "security-profiles/display": [
        (5, 9, "debugger", "security_opt seccomp"),
        (6, 9, "debugger", "security_opt apparmor"),
        (7, 9, "debugger", "security_opt label"),
    ],
    "dangerous-capabilities/display": [(5, 9, "vpn", "cap_add NET_ADMIN"), (6, 9, "vpn", "cap_add SYS_MODULE")],
    "tmpfs-exec/display": [(5, 9, "app", "tmpfs /tmp"), (7, 9, "app", "tmpfs /srv")],
    "mount-propagation/display": [(5, 9, "storage", "/mnt/disks"), (6, 9, "storage", "/srv")],
    "logging-disabled/display": [(4, 5, "quiet", "")],
    "traefik-api-insecure/display": [(9, 9, "proxy", "api.insecure")],
    "sudo/display": [(4, 5, "", "stage 0: RUN sudo make install")],
    "chmod-777/display": [
        (2, 27, "", "stage 0: RUN mkdir -p /app/data && chmod -R 777 /app"),
        (3, 5, "", "stage 0: RUN chmod a+rwx /usr/local/bin/entrypoint.sh"),
    ],
    "curl-pipe-shell/display": [
        (2, 5, "", "stage 0: RUN curl -fsSL https://example.com/install.sh | sh"),
        (3, 5, "", "stage 0: RUN wget -qO- https://example.com/setup | sudo -E bash -"),
        (4, 14, "", 'stage 0: RUN sh -c "$(curl -fsSL https://example.com/install.sh)"'),
    ],
    "add-instead-of-copy/basic": [
        (2, 1, "", "stage 0: ADD --chown=app:app config/ /etc/app/"),
        (3, 1, "", "stage 0: ADD start.sh /usr/local/bin/"),
        (4, 1, "", "stage 0: ADD https://example.com/tool.sh /usr/local/bin/tool"),
    ],
    "add-instead-of-copy/variants": [
        (2, 1, "", 'stage build: ADD ["my file.txt", "/srv/"]'),
        (3, 1, "", "stage build: ADD --link . /src"),
        (4, 1, "", "stage build: ADD --keep-git-dir=true https://github.com/example/repo.git /repo"),
        (5, 1, "", "stage build: ADD git@github.com:example/repo.git /repo2"),
        (7, 1, "", "stage 1: ADD <<EOF /etc/motd\nhello\nEOF"),
    ],
}


def run(text: str, rule: str, kind: str = "compose", name: str = "compose.yaml") -> FileResult:
    return engine.run_text(name, kind, text.encode(), Settings(select=frozenset({rule}), offline=True))


def found(result: FileResult) -> list[tuple[int, int, str, str]]:
    return [(f.line, f.column, f.subject, f.about) for f in result.findings]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_findings(case: str) -> None:
    rule = case.split("/")[0]
    directory = FIXTURES / case
    name, kind = ("input.yaml", "compose") if (directory / "input.yaml").exists() else ("input.Dockerfile", "dockerfile")
    text = (directory / name).read_text(encoding="utf-8")
    result = run(text, rule, kind, name)
    assert result.errors == []
    assert found(result) == EXPECTED[case]
    if rule != "add-instead-of-copy":
        assert result.output == text
    for finding in result.findings:
        assert finding.message and finding.rule.id == rule
        if finding.applicability is Applicability.DISPLAY:
            assert finding.fix is None and "harden" in finding.message


def messages(text: str, rule: str, kind: str = "compose") -> list[str]:
    result = run(text, rule, kind, "compose.yaml" if kind == "compose" else "Dockerfile")
    assert result.errors == []
    return [f.message for f in result.findings]


# --- security-profiles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "reported"),
    [
        ("seccomp=unconfined", True),
        ("apparmor:unconfined", True),
        ("label=disable", True),
        (" seccomp:unconfined ", True),
        ("seccomp:./default.json", False),
        ("apparmor=docker-default", False),
        ("label:level:s0:c100,c200", False),
        ("SECCOMP=unconfined", False),  # Docker refuses it: nothing runs unconfined
        ("no-new-privileges:true", False),
    ],
)
def test_security_profiles_spellings(option: str, reported: bool) -> None:
    text = f"services:\n  a:\n    image: x\n    security_opt:\n      - {option.strip()!r}\n"
    assert bool(messages(text, "security-profiles")) is reported


def test_security_profiles_from_an_anchor_point_at_the_anchor() -> None:
    text = (
        "x-common: &common\n  security_opt: [seccomp:unconfined]\nservices:\n  a:\n    <<: *common\n    image: x\n"
        "  b:\n    <<: *common\n    image: y\n"
    )
    result = run(text, "security-profiles")
    assert [(f.line, f.subject) for f in result.findings] == [(2, "a"), (2, "b")]
    assert "CIS 5.22" in result.findings[0].message


# --- dangerous-capabilities ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("capability", "reported"),
    [("SYS_ADMIN", True), ("CAP_SYS_PTRACE", True), ("all", True), ("net_admin", True), ("NET_RAW", False), ("CHOWN", False)],
)
def test_dangerous_capability_spellings(capability: str, reported: bool) -> None:
    text = f"services:\n  a:\n    image: x\n    cap_add: [{capability}]\n"
    assert bool(messages(text, "dangerous-capabilities")) is reported


def test_dropped_capabilities_are_not_reported() -> None:
    assert messages("services:\n  a:\n    image: x\n    cap_drop: [ALL, SYS_ADMIN]\n", "dangerous-capabilities") == []


def test_a_capability_the_image_needs_says_why() -> None:
    text = "services:\n  vpn:\n    image: lscr.io/linuxserver/wireguard\n    cap_add: [NET_ADMIN]\n"
    [message] = messages(text, "dangerous-capabilities")
    assert "Its image needs it (wg-quick creates the wg interface" in message


# --- tmpfs-exec ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tmpfs", "reported"),
    [
        ("/tmp:exec", True),
        ('["/tmp:rw,exec"]', True),
        ("/tmp:mode=1777,exec,suid", True),
        ("/tmp", False),
        ("/tmp:noexec", False),
        ("/tmp:suid", False),  # still noexec: nothing set-user-id can run
        ("/tmp:size=64m", False),
    ],
)
def test_tmpfs_options(tmpfs: str, reported: bool) -> None:
    text = f"services:\n  a:\n    image: x\n    tmpfs: {tmpfs}\n"
    assert bool(messages(text, "tmpfs-exec")) is reported


def test_long_syntax_tmpfs_has_no_mount_flags_to_report() -> None:
    text = "services:\n  a:\n    image: x\n    volumes:\n      - type: tmpfs\n        target: /tmp\n"
    text += "        tmpfs:\n          mode: 1777\n"
    assert messages(text, "tmpfs-exec") == []


# --- mount-propagation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "reported"),
    [
        ("/a:/a:shared", True),
        ("/a:/a:ro,rshared", True),
        ("./a:/a:z,rshared", True),
        ("/a:/a:rslave", False),
        ("/a:/a:ro", False),
        ("data:/a", False),
        ("/shared:/shared", False),  # a path named shared, not a mode
    ],
)
def test_mount_propagation_short_syntax(volume: str, reported: bool) -> None:
    text = f"services:\n  a:\n    image: x\n    volumes:\n      - {volume}\nvolumes:\n  data:\n"
    assert bool(messages(text, "mount-propagation")) is reported


# --- logging-disabled ----------------------------------------------------------------------


@pytest.mark.parametrize(("driver", "reported"), [("none", True), ('"none"', True), ("json-file", False), ("journald", False)])
def test_logging_drivers(driver: str, reported: bool) -> None:
    text = f"services:\n  a:\n    image: x\n    logging:\n      driver: {driver}\n"
    assert bool(messages(text, "logging-disabled")) is reported


# --- traefik-api-insecure ------------------------------------------------------------------

TRAEFIK = "services:\n  t:\n    image: traefik:v3.1\n    command: {command}\n    ports:\n      - {port}\n"


@pytest.mark.parametrize(
    ("command", "port", "reported"),
    [
        ("--api.insecure", '"8080:8080"', True),
        ("--api.insecure=true --providers.docker", '"9000:8080"', True),
        ("--api.insecure=false", '"8080:8080"', False),
        ("--api.dashboard=true", '"8080:8080"', False),
        ("--api.insecure=true", '"80:80"', False),
        ("--api.insecure=true", '"[::1]:8080:8080"', False),
        ("--api.insecure=true --entrypoints.traefik.address=:9000", '"9000:9000"', True),
        ("--api.insecure=true --entrypoints.traefik.address=:9000", '"8080:8080"', False),
    ],
)
def test_traefik_insecure_api_on_a_published_port(command: str, port: str, reported: bool) -> None:
    assert bool(messages(TRAEFIK.format(command=command, port=port), "traefik-api-insecure")) is reported


def test_traefik_insecure_api_set_in_the_environment() -> None:
    text = "services:\n  t:\n    image: traefik\n    environment:\n      - TRAEFIK_API_INSECURE=true\n    ports: [8080]\n"
    [message] = messages(text, "traefik-api-insecure")
    assert "TRAEFIK_API_INSECURE=true" in message


def test_traefik_without_the_insecure_api_is_not_reported() -> None:
    """The corpus's traefik service (no insecure API) is not reported."""
    text = "services:\n  t:\n    image: traefik:2.6\n    command: --providers.docker --entrypoints.web.address=:80\n"
    text += "    ports:\n      - 80:80\n      - 8080:8080\n"
    assert messages(text, "traefik-api-insecure") == []


# --- Dockerfile rules ----------------------------------------------------------------------

DOCKERFILE = "FROM debian:bookworm\n{}\n"


@pytest.mark.parametrize(
    ("run_line", "reported"),
    [
        ("RUN sudo apt-get update", True),
        ("RUN make && /usr/bin/sudo make install", True),
        ('RUN ["sudo", "make", "install"]', True),
        ("RUN <<EOF\nset -e\nsudo make install\nEOF", True),
        ("RUN apt-get install -y sudo && rm -f /etc/sudoers.d/x", False),
        ('RUN echo "sudo is not needed"', False),
        ("RUN <<EOF\n#!/usr/bin/env python3\nimport sudo\nEOF", False),
        ("RUN echo 'unbalanced", False),
    ],
)
def test_sudo(run_line: str, reported: bool) -> None:
    assert bool(messages(DOCKERFILE.format(run_line), "sudo", "dockerfile")) is reported


@pytest.mark.parametrize(
    ("run_line", "reported"),
    [
        ("RUN curl -sSf https://sh.example.com | bash", True),
        ("RUN curl -fsSL https://x/i.sh | sh -s -- --yes", True),
        ("RUN wget -O - https://x/i.sh | tee /tmp/log | sh", True),
        ("RUN bash <(curl -fsSL https://x/i.sh)", True),
        ("RUN curl -fsSL https://x/k.asc | gpg --dearmor -o /usr/share/keyrings/x.gpg", False),
        ("RUN curl -fsSL https://x/t.tgz | tar -xz", False),
        ("RUN curl -fsSL https://x/a.json | sh -c 'cat > /a.json'", False),
        ("RUN curl -fsSLo i.sh https://x/i.sh && sh i.sh", False),
    ],
)
def test_curl_pipe_shell(run_line: str, reported: bool) -> None:
    assert bool(messages(DOCKERFILE.format(run_line), "curl-pipe-shell", "dockerfile")) is reported


@pytest.mark.parametrize(
    ("run_line", "reported"),
    [
        ("RUN chmod 0777 /data", True),
        ("RUN chmod 4777 /usr/bin/tool", True),
        ("RUN chmod ugo+rwx /data", True),
        ("RUN chmod u+x,a+rwx /data", True),
        ("RUN chmod 1777 /data", False),
        ("RUN chmod 775 /data", False),
        ("RUN chmod o+r /data", False),
        ("RUN d=$(mktemp -d) && chmod 777 $d && rm -rf $d", False),
        ("RUN d=$(mktemp -d) && chmod 777 $d /keep && rm -rf $d", True),
    ],
)
def test_chmod_777(run_line: str, reported: bool) -> None:
    assert bool(messages(DOCKERFILE.format(run_line), "chmod-777", "dockerfile")) is reported


def test_add_to_copy_is_read_by_buildkit_as_the_same_copy() -> None:
    """BuildKit's own parser (the `dockerfile` package) reads each fixed ADD as a COPY with the
    same flags, sources and destination, and every other instruction unchanged."""
    import dockerfile

    for case in ("basic", "variants"):
        directory = FIXTURES / "add-instead-of-copy" / case
        before = dockerfile.parse_string((directory / "input.Dockerfile").read_text(encoding="utf-8"))
        after = dockerfile.parse_string((directory / "expected").read_text(encoding="utf-8"))
        assert len(before) == len(after)
        changed = 0
        for old, new in zip(before, after, strict=True):
            if old.cmd != new.cmd:
                assert (old.cmd.upper(), new.cmd.upper()) == ("ADD", "COPY")
                changed += 1
            assert (old.flags, old.value, old.json, old.heredocs) == (new.flags, new.value, new.json, new.heredocs)
        assert changed == {"basic": 2, "variants": 3}[case]


def test_add_fix_safety_follows_its_sources() -> None:
    text = "FROM alpine\nADD conf/ /etc/conf/\nADD app.py /app/\nADD --unpack=true x /y\n"
    result = run(text, "add-instead-of-copy", "dockerfile", "Dockerfile")
    assert [f.applicability for f in result.findings] == [Applicability.SAFE, Applicability.REVIEW]
    assert "app.py is a tar archive" in result.findings[1].fix.caveats[0].text  # type: ignore[union-attr]
    assert result.output == "FROM alpine\nCOPY conf/ /etc/conf/\nCOPY app.py /app/\nADD --unpack=true x /y\n"


@pytest.mark.parametrize(
    "line",
    [
        "ADD rootfs.tar.xz /",
        "ADD ${SRC} /app/",
        "ADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://x/t /t",
        "ADD https://github.com/example/repo.git#0123456789abcdef0123456789abcdef01234567 /repo",
        "COPY a /b",
    ],
)
def test_add_not_reported(line: str) -> None:
    assert messages(DOCKERFILE.format(line), "add-instead-of-copy", "dockerfile") == []


def test_the_second_opinion_accepts_add_turned_into_copy_and_nothing_else() -> None:
    from harden.dockerfile import parse, validate_output

    before = parse("Dockerfile", "FROM alpine\nADD a /a\nADD b /b\n")
    assert validate_output(before, parse("Dockerfile", "FROM alpine\nCOPY a /a\nADD b /b\n")) == []
    assert validate_output(before, parse("Dockerfile", "FROM alpine\nADD b /b\n")) == ["instructions disappeared: ADD"]
    assert validate_output(before, parse("Dockerfile", "FROM alpine\nCOPY a /a\nRUN b\n")) == ["instructions disappeared: ADD"]
