"""No made-up digests: every sha256 digest in the repository is a real one, cited where it is
used, or an obvious pattern that cannot be mistaken for a real image (RECIPES: tests compute
the digests of the images they push at run time, so those are not in any file)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
# digest -> (tag, the docker-library/repo-info commit whose repos/<image>/remote/<tag>.md shows it)
CITED = {
    "a3b7f434b2dc57ce85a67e171163eb8ab1a1ebcb39d27484661f26b1dfbe30d6": (
        "postgres:16",
        "0b63eeca29bdd695a0db3d3249137b9929da650d",
    ),
    "229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36": (
        "python:3.12-slim",
        "2986dca3a80cb11b70fc4599941096374ea9e509",
    ),
    "c6eabf748fc7a61dbb5a705c78bcf3d6377b1127a97d0ce965c11c44ba46896f": ("redis:7", "0ae7309187d6256f5549f0408473cfa4a23383ea"),
    "abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241": (
        "debian:bookworm-slim",
        "05f354f0a08a211fdfed2f21845d1fccd389921d",
    ),
    "5b02b42e375f7426f8d65c3af331ca05d9878f9989230354504e0b9dfd431f60": (
        "alpine:latest",
        "1746b58749182f00f5d2c26a53fff697cfce2c81",
    ),
    "721873c34ceb9f8d8fc265984940dc982404c105f19ad51be9fdc5970a6080ea": (
        "postgres:16-alpine",
        "14ad5cc17dd0e9a01079feefc7a59c24536f5291",
    ),
}


def obvious(hexdigits: str) -> bool:
    """A short unit repeated (`aaaa…`, `abab…`, `0123…f0123…`): plainly not a real digest."""
    return re.fullmatch(r"(.{1,16})\1+", hexdigits) is not None


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_every_digest_in_the_repository_is_cited_or_obviously_arbitrary() -> None:
    offenders = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in (".png", ".whl"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DIGEST.finditer(text):
            if match.group(1) not in CITED and not obvious(match.group(1)):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group()}")
    assert offenders == []


def test_each_real_digest_is_cited_in_the_lockfile_that_holds_it() -> None:
    lockfiles = [p for p in tracked_files() if p.name == "harden.lock"]
    for digest, (tag, commit) in CITED.items():
        holders = [p for p in lockfiles if digest in p.read_text()]
        assert holders, f"{tag} {digest} is in no lockfile"
        for lockfile in holders:
            entry = lockfile.read_text().split(f'digest = "sha256:{digest}"')[0].rsplit("[[image]]", 1)[0]
            assert f"docker-library/repo-info {commit}" in entry.rsplit("\n\n", 1)[-1], lockfile


@pytest.mark.parametrize(
    ("hexdigits", "expected"), [("a" * 64, True), ("0123456789abcdef" * 4, True), (next(iter(CITED)), False)]
)
def test_obvious_tells_a_pattern_from_a_real_digest(hexdigits: str, expected: bool) -> None:
    assert obvious(hexdigits) is expected
