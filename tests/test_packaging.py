"""The templates reach an installed wheel: build one offline and import harden from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_templates_and_finds_them(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("harden-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "harden/templates/dockerfile/user-debian.j2" in names
    assert "harden/templates/pr/body.md.j2" in names
    assert any(n.startswith("harden/knowledge/images/") and n.endswith(".toml") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from harden.dockerfile.templates import templates_dir, render_lines; print(templates_dir()); "
        "print(render_lines('dockerfile/user-existing.j2', user='x'))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [str(site / "harden" / "templates"), "['USER x']"]
