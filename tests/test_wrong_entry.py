"""A deliberately wrong knowledge entry is caught by `harden verify`, bisected to the fix it
misled, and repaired (issue 11): nginx without its /var/cache/nginx tmpfs, postgres without
CHOWN, on the stand-ins (tests/standins/build) under Docker's semantics.

verify runs in this process (harden.verify.main), so that the knowledge base it reads can be
made wrong here (monkeypatch over harden.knowledge.lookup); everything it runs is real.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require

from harden import knowledge
from harden.config import Settings
from harden.engine import select
from harden.knowledge import ImageFacts
from harden.verify import main

IMAGES = ("localhost/nginx:latest", "localhost/postgres:16")
PROJECT = """services:
  web:
    image: nginx:latest
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
    volumes: ["data:/var/lib/postgresql/data"]
volumes:
  data: {}
"""
LABEL = "com.docker.compose.project"


def wrong(facts: ImageFacts | None) -> ImageFacts | None:
    if facts is not None and facts.name == "nginx":
        return replace(facts, writable_paths=tuple(p for p in facts.writable_paths if p != "/var/cache/nginx"))
    if facts is not None and facts.name == "postgres":
        return replace(facts, cap_add={k: v for k, v in facts.cap_add.items() if k != "CHOWN"})
    return facts


@pytest.fixture
def podman() -> str:
    found = require("podman")
    for image in IMAGES:
        if subprocess.run([found, "image", "exists", image], check=False).returncode != 0:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{image} is missing, and CI=true: tests/standins/build builds it")
            pytest.skip(f"{image} is missing (tests/standins/build builds it)")
    return found


def test_wrong_entries_are_caught_bisected_to_their_fix_and_repaired(
    podman: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = knowledge.lookup
    monkeypatch.setattr(knowledge, "lookup", lambda reference: wrong(real(reference)))
    (tmp_path / "compose.yaml").write_text(PROJECT)
    rules = frozenset({"cap-drop-all", "read-only-rootfs"})  # fewer fixes: fewer bisecting runs
    settings = Settings(offline=True, select=rules, search_from=(tmp_path,))
    out, err = io.StringIO(), io.StringIO()
    status = main((str(tmp_path),), (), settings, select.from_settings(settings), 900.0, "text", out, err)
    report = out.getvalue()
    assert status == 1, report + err.getvalue()
    web, db = report.split("BROKE  web:")[1], report.split("BROKE  db:")[1].split("BROKE  web:")[0]
    assert "Read-only file system" in web and "broken by: read-only-rootfs\n" in web
    assert "repair: tmpfs /var/cache/nginx" in web and 'writable_paths = ["/var/cache/nginx"]' in web
    # without CHOWN, postgres cannot give itself the fresh /var/run/postgresql tmpfs: both fixes break it together
    assert "Operation not permitted" in db and "broken by: cap-drop-all, read-only-rootfs\n" in db
    assert "repair: cap_add CHOWN" in db and 'cap_add = ["CHOWN"]' in db
    monkeypatch.setattr(knowledge, "lookup", real)
    again = main((str(tmp_path),), (), settings, select.from_settings(settings), 900.0, "text", out, io.StringIO())
    assert again == 0, out.getvalue()  # the true entries: nothing breaks
    for name in set(re.findall(r"starting \((harden-verify-[0-9a-f]+-\w+)\)", err.getvalue())):
        listing = subprocess.run([podman, "ps", "-a", "-q", "--filter", f"label={LABEL}={name}"], capture_output=True, text=True)
        assert listing.stdout.split() == [], name
