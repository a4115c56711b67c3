"""Inline suppressions (harden/suppressions.py): `# harden: ignore=...`, `ignore-file`, hadolint's
comments for the equivalent rule, `--show-unused-ignores`, and `harden explain` of a peer's id."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import plain_invoke

SUDO = "FROM debian:bookworm\n{above}RUN sudo apt-get update\nRUN sudo true\nUSER nobody\n"


def rules_at(tmp_path: Path, name: str, text: str, *options: str) -> list[tuple[str, int]]:
    (tmp_path / name).write_text(text)
    code, out, err = plain_invoke("check", "--offline", "--format", "json", *options, str(tmp_path / name))
    assert code in (0, 1), err
    return sorted(
        (f["rule"], f["line"]) for e in json.loads(out)["files"] for f in e["findings"] if f["rule"] != "pin-base-image"
    )


def test_a_dockerfile_comment_silences_its_rule_for_the_instruction_below_only(tmp_path: Path) -> None:
    assert rules_at(tmp_path, "Dockerfile", SUDO.format(above="")) == [("sudo", 2), ("sudo", 3)]
    for above in ("# harden: ignore=sudo\n", "# why: the build needs it\n# harden: ignore\n", "# hadolint ignore=DL3004\n"):
        assert rules_at(tmp_path, "Dockerfile", SUDO.format(above=above)) == [("sudo", 3 + above.count("\n"))], above
    # a blank line detaches the comment; another rule's id silences nothing
    assert len(rules_at(tmp_path, "Dockerfile", SUDO.format(above="# harden: ignore=sudo\n\n"))) == 2
    assert len(rules_at(tmp_path, "Dockerfile", SUDO.format(above="# harden: ignore=chmod-777\n"))) == 2


def test_file_wide_comments(tmp_path: Path) -> None:
    for line in ("# harden: ignore-file=sudo\n", "# hadolint global ignore=DL3004\n", "# harden: ignore-file\n"):
        assert rules_at(tmp_path, "Dockerfile", SUDO.format(above="") + line) == [], line


COMPOSE = """services:
  web:{web}
    image: nginx:1.27
  db:
    image: postgres:16
{above}    environment:
      POSTGRES_PASSWORD: example
"""


def test_a_compose_comment_silences_the_key_it_is_on_or_above_and_what_is_nested_under_it(tmp_path: Path) -> None:
    plain = rules_at(tmp_path, "compose.yaml", COMPOSE.format(web="", above=""))
    assert ("cap-drop-all", 2) in plain and ("cap-drop-all", 4) in plain and ("env-secrets", 7) in plain
    silenced = rules_at(tmp_path, "compose.yaml", COMPOSE.format(web="  # harden: ignore=cap-drop-all", above=""))
    assert ("cap-drop-all", 2) not in silenced and ("cap-drop-all", 4) in silenced  # db's is its own
    above = rules_at(tmp_path, "compose.yaml", COMPOSE.format(web="", above="    # harden: ignore=env-secrets\n"))
    assert not any(rule == "env-secrets" for rule, _ in above) and len(above) == len(plain) - 1


def test_a_silenced_fix_is_not_applied(tmp_path: Path) -> None:
    text = COMPOSE.format(web="  # harden: ignore=no-new-privileges", above="")
    (tmp_path / "compose.yaml").write_text(text)
    code, _, err = plain_invoke("fix", "--offline", "--select", "no-new-privileges", str(tmp_path / "compose.yaml"))
    assert code == 0, err
    web, db = (tmp_path / "compose.yaml").read_text().split("  db:")
    assert "no-new-privileges" not in web.replace("# harden: ignore=no-new-privileges", "") and "no-new-privileges:true" in db


def test_unused_and_unknown_ignores_are_reported_when_asked(tmp_path: Path) -> None:
    text = SUDO.format(above="# harden: ignore=sudo\n").replace(
        "USER nobody\n", "# harden: ignore=chmod-777,no-such-rule\nUSER nobody\n"
    )
    assert ("unused-ignore", 5) not in rules_at(tmp_path, "Dockerfile", text)
    found = rules_at(tmp_path, "Dockerfile", text, "--show-unused-ignores")
    assert found == [("sudo", 4), ("unused-ignore", 5)]
    (tmp_path / "Dockerfile").write_text(text.replace(",no-such-rule", ""))
    code, out, _ = plain_invoke("check", "--offline", "--show-unused-ignores", str(tmp_path / "Dockerfile"))
    assert code == 1 and "Dockerfile:5:1: unused-ignore # harden: ignore=chmod-777 silences nothing here: remove it" in out


def test_explain_finds_harden_s_rule_for_a_peer_id() -> None:
    code, out, _ = plain_invoke("explain", "DL3002")
    assert code == 0 and out.startswith("DL3002 (hadolint DL3002) is harden's non-root-user:")
    assert plain_invoke("explain", "CKV_DOCKER_3")[1].startswith("CKV_DOCKER_3 (Checkov CKV_DOCKER_3) is harden's non-root-user")
    assert plain_invoke("explain", "DL3007")[1].startswith("DL3007 (hadolint DL3006/DL3007) is harden's pin-base-image")
    code, _, err = plain_invoke("explain", "DL9999")
    assert code == 2 and "unknown rule 'DL9999'" in err
