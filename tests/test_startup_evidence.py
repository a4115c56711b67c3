"""Issue 10's breakage classes around how a service starts, each from a small hand-written
project (not copied from the projects that showed them): `build:` services read through their
Dockerfile to a known base image, scripts that write where the image ships files, `command:` and
`entrypoint:` overrides, setuid binaries, and what harden cannot read."""

from __future__ import annotations

from pathlib import Path

from runs import process

from harden.config import Settings
from harden.model import Applicability, EvidenceKind, Finding

NGINX_DOCKERFILE = """FROM nginx:1.27 AS base
COPY default.conf.template /etc/nginx/templates/
FROM base
COPY start.sh /usr/local/bin/start.sh
ENTRYPOINT ["/usr/local/bin/start.sh"]
CMD ["nginx", "-g", "daemon off;"]
"""
RENDERING_SCRIPT = """#!/bin/sh
set -e
envsubst < /etc/nginx/templates/default.conf.template > /etc/nginx/conf.d/default.conf
exec "$@"
"""


def project(tmp_path: Path, compose: str, files: dict[str, str]) -> dict[str, list[Finding]]:
    """The findings of `check` on a project, by rule, for the Compose file."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "compose.yaml").write_text(compose)
    run = process([str(tmp_path / "compose.yaml")], Settings(offline=True), apply=False)
    [result] = run.results
    found: dict[str, list[Finding]] = {}
    for finding in result.findings:
        found.setdefault(finding.rule.id, []).append(finding)
    return found


def fix_of(findings: list[Finding]) -> tuple[Applicability, set[EvidenceKind]]:
    [finding] = [f for f in findings if f.fix is not None]
    assert finding.fix is not None
    return finding.fix.applicability, {e.kind for e in finding.fix.evidence}


def test_a_build_from_nginx_gets_nginx_capabilities_with_build_and_knowledge_evidence(tmp_path: Path) -> None:
    found = project(
        tmp_path,
        "services:\n  web:\n    build: web\n",
        {"web/Dockerfile": NGINX_DOCKERFILE, "web/start.sh": RENDERING_SCRIPT, "web/default.conf.template": "server {}\n"},
    )
    applicability, kinds = fix_of(found["cap-drop-all"])
    assert applicability is Applicability.REVIEW and kinds == {EvidenceKind.BUILD, EvidenceKind.KNOWLEDGE}
    [caps] = found["cap-drop-all"]
    assert "SETUID" in caps.message and "SETGID" in caps.message  # nginx's master switches its workers' user
    [evidence] = [e for e in caps.fix.evidence if e.kind is EvidenceKind.BUILD]  # type: ignore[union-attr]
    assert "web/Dockerfile:1 FROM nginx:1.27" in evidence.detail


def test_a_script_that_renders_configuration_into_the_image_keeps_read_only_off(tmp_path: Path) -> None:
    found = project(
        tmp_path,
        "services:\n  web:\n    build: web\n",
        {"web/Dockerfile": NGINX_DOCKERFILE, "web/start.sh": RENDERING_SCRIPT, "web/default.conf.template": "server {}\n"},
    )
    [finding] = found["read-only-rootfs"]
    assert finding.fix is None and "start.sh:3" in finding.message and "/etc/nginx/conf.d/default.conf" in finding.message


def test_a_command_that_writes_outside_volumes_keeps_read_only_off(tmp_path: Path) -> None:
    compose = (
        "services:\n  cache:\n    image: memcached:1.6\n    command: sh -c 'mkdir -p /home/memcache/data && exec memcached'\n"
    )
    found = project(tmp_path, compose, {})
    [finding] = found["read-only-rootfs"]
    assert finding.fix is None and "/home/memcache/data" in finding.message
    applicability, kinds = fix_of(found["cap-drop-all"])  # the image's entrypoint still runs: knowledge holds
    assert applicability is Applicability.REVIEW and EvidenceKind.KNOWLEDGE in kinds


def test_an_entrypoint_override_voids_what_the_knowledge_says_of_the_entrypoint(tmp_path: Path) -> None:
    compose = (
        "services:\n  cache:\n    image: redis:7\n    entrypoint: /opt/run-redis.sh\n    volumes: ['d:/data']\nvolumes:\n  d:\n"
    )
    found = project(tmp_path, compose, {})
    assert fix_of(found["cap-drop-all"]) == (Applicability.UNSAFE, {EvidenceKind.NONE})
    plain = project(tmp_path / "plain", compose.replace("    entrypoint: /opt/run-redis.sh\n", ""), {})
    assert fix_of(plain["cap-drop-all"])[0] is Applicability.REVIEW


def test_sudo_at_start_up_keeps_no_new_privileges_off(tmp_path: Path) -> None:
    dockerfile = 'FROM debian:12\nCOPY run.sh /run.sh\nENTRYPOINT ["/run.sh"]\n'
    found = project(
        tmp_path, "services:\n  app:\n    build: .\n", {"Dockerfile": dockerfile, "run.sh": "#!/bin/sh\nsudo -u app /app\n"}
    )
    [finding] = found["no-new-privileges"]
    assert finding.fix is None and "run.sh:2" in finding.message


def test_a_start_up_script_harden_cannot_read_leaves_the_fix_unsafe(tmp_path: Path) -> None:
    dockerfile = 'FROM nginx:1.27\nCOPY start.sh /start.sh\nENTRYPOINT ["/start.sh"]\n'
    found = project(tmp_path, "services:\n  web:\n    build: .\n", {"Dockerfile": dockerfile})  # start.sh is missing
    assert fix_of(found["cap-drop-all"]) == (Applicability.UNSAFE, {EvidenceKind.NONE})
    readable = project(
        tmp_path / "readable",
        "services:\n  web:\n    build: .\n",
        {"Dockerfile": dockerfile, "start.sh": "#!/bin/sh\nexec nginx\n"},
    )
    assert fix_of(readable["cap-drop-all"])[0] is Applicability.REVIEW


def test_a_build_from_an_image_harden_does_not_know_is_unsafe(tmp_path: Path) -> None:
    found = project(tmp_path, "services:\n  app:\n    build: .\n", {"Dockerfile": 'FROM example.org/base:1\nCMD ["app"]\n'})
    assert fix_of(found["cap-drop-all"]) == (Applicability.UNSAFE, {EvidenceKind.NONE})
    assert fix_of(found["read-only-rootfs"]) == (Applicability.UNSAFE, {EvidenceKind.NONE})


def test_a_language_runtime_says_nothing_of_what_the_application_writes(tmp_path: Path) -> None:
    """Django's runserver creates db.sqlite3 in its working directory (awesome-compose's django,
    run on the python stand-in: read_only broke it, tests/test_standin_apps.py); knowledge of
    the python image cannot say so: read_only is unsafe, while cap_drop keeps its evidence."""
    dockerfile = 'FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD ["python3", "manage.py", "runserver", "0.0.0.0:8000"]\n'
    found = project(tmp_path, "services:\n  web:\n    build: .\n", {"Dockerfile": dockerfile, "manage.py": "print()\n"})
    assert fix_of(found["read-only-rootfs"]) == (Applicability.UNSAFE, {EvidenceKind.NONE})
    assert "python is a language runtime: the application decides what it writes" in found["read-only-rootfs"][0].message
    assert fix_of(found["cap-drop-all"])[0] is Applicability.REVIEW
