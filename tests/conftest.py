from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Tests never read or write the user's digest cache: one private cache for the whole session.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="harden-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "tests"))
pytest_plugins = [
    "forges.plugin",  # the fake GitHub and Gitea APIs (github_fake, gitea_fake fixtures)
    "gitserver",  # a git server on 127.0.0.1 (git_server, git_env, git_token fixtures)
]


def corpus_files(kind: str) -> list[Path]:
    from harden.discover import kind_of

    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and kind_of(p.name) == kind)


def require(tool: str) -> str:
    """The path of a real component the test needs; skipped locally, a failure when CI=true."""
    found = shutil.which(tool)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is not installed, and CI=true: .ci/run must install it")
    pytest.skip(f"{tool} is not installed")


def require_file(path: Path, what: str) -> Path:
    """A file the test needs (a spec, a schema) that .ci/run provides; skipped locally, a failure when CI=true."""
    if path.is_file():
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing at {path}, and CI=true: .ci/run must provide it")
    pytest.skip(f"{what} is missing at {path}")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared corpus is missing at {CORPUS}")
        pytest.skip("the shared corpus is not beside this checkout")
    return CORPUS
