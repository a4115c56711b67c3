"""harden's pre-commit hooks (.pre-commit-hooks.yaml), run by the real pre-commit.

`pre-commit try-repo` installs harden from a git commit into a virtualenv of its own, as a user's
pre-commit does, and runs the hooks on a sample repository with a Dockerfile and a compose.yaml.
The commit is made here from this checkout's files as they are now (committed or not): the
hooks, pyproject.toml, README.md, harden/ and templates/, what the install reads, so the test
tests the current code. Each try-repo builds its virtualenv anew (about 15 s here), so there are
two, each running both hooks: once on files with findings (both hooks fail, harden-fix changes
the Compose file) and once on clean files (both pass).

Offline: pip in pre-commit's virtualenv reads no configuration file and no index, only the
wheelhouse `.ci/run` fills with harden's dependencies and its build backend
($HARDEN_WHEELHOUSE, by default ~/.cache/harden-wheelhouse; tests/conftest.py points
XDG_CACHE_HOME elsewhere).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from harden import discover
from harden.cli import main

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "harden", "templates")
DIGEST = "sha256:" + "ab" * 32
DIRTY = {
    "Dockerfile": f'FROM python:3.12-slim@{DIGEST}\nCMD ["python"]\n',
    "compose.yaml": f"services:\n  app:\n    image: python:3.12-slim@{DIGEST}\n",
}
CLEAN = {
    "Dockerfile": f'FROM python:3.12-slim@{DIGEST}\nUSER 10001\nCMD ["python"]\n',
    "compose.yaml": f"""services:
  app:
    image: python:3.12-slim@{DIGEST}
    user: "10001:10001"
    read_only: true
    tmpfs: [/tmp]
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    pids_limit: 1024
    mem_limit: 512m
    cpus: 1
""",
}
GIT = ("git", "-c", "user.name=harden tests", "-c", "user.email=tests@harden.invalid", "-c", "commit.gpgsign=false")


def manifest() -> list[dict[str, object]]:
    hooks: list[dict[str, object]] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return hooks


NAMES = [
    "Dockerfile",
    "dockerfile",
    "Dockerfile.dev",
    "Dockerfile-prod",
    "Dockerfile.",
    "api.Dockerfile",
    "api.dockerfile",
    ".Dockerfile",
    "Containerfile",
    "Containerfile.arm64",
    "compose.yaml",
    "compose.yml",
    "compose.override.yaml",
    "compose.prod.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "docker-compose-ci.yaml",
    "docker-compose.test.yml",
    # not harden's: templates, leftovers, other names
    "Dockerfile.j2",
    "Dockerfile.template",
    "api.Dockerfile.in",
    "Dockerfile.orig",
    "Dockerfile.dockerignore",
    "Dockerfile.md",
    "dockerfile.dev",
    "compose.json",
    "compose.yaml.bak",
    "my-compose.yaml",
    "docker-compose.yml.orig",
    "mkdocs.yml",
    "Dockerfiles",
    "README.md",
]


def test_the_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert [(h["id"], h["entry"], h["language"], h["require_serial"]) for h in hooks] == [
        ("harden-check", "harden check", "python", True),
        ("harden-fix", "harden fix", "python", True),
    ]


@pytest.mark.parametrize("directory", ["", "deploy/", "a/b.Dockerfile/"])
def test_the_hooks_take_the_files_harden_discovers(directory: str) -> None:
    """The hooks' `files` pattern and harden's discovery agree on every name (pre-commit matches
    the path from the repository's root with re.search)."""
    for hook in manifest():
        pattern = re.compile(str(hook["files"]))
        taken = [name for name in NAMES if pattern.search(directory + name)]
        assert taken == [name for name in NAMES if discover.kind_of(name)], hook["id"]
        assert len(taken) == 18


def wheelhouse() -> Path:
    """The wheels of harden's dependencies and build backend (.ci/run makes it); a missing one
    skips the test, and fails it with CI=true."""
    found = Path(os.environ.get("HARDEN_WHEELHOUSE") or Path.home() / ".cache" / "harden-wheelhouse")
    if not any(found.glob("hatchling-*.whl")):
        message = f"no wheelhouse at {found} (.ci/run makes it: pip wheel -w {found} . hatchling)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with one commit: this checkout's hooks and package as they are now."""
    repo = tmp_path_factory.mktemp("harden-hooks")
    for name in PACKAGE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, repo / name)
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "the checkout under test"], cwd=repo, check=True)
    return repo


def sample(path: Path, files: dict[str, str]) -> Path:
    """A git repository with `files` staged (pre-commit --all-files runs on git's files)."""
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=path, check=True)
    return path


def try_repo(hooks: Path, repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOKS --all-files` in `repo` (every hook of the manifest), offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # no index from the machine's pip configuration: the wheelhouse only
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse()),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        VIRTUALENV_OVERRIDE_APP_DATA=str(home / "virtualenv"),
        XDG_CACHE_HOME=str(home / "cache"),  # harden's digest cache and pip's, both empty
        PRE_COMMIT_HOME=str(home / "pre-commit"),
        PRE_COMMIT_COLOR="never",
    )
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "--all-files", "--verbose"]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def hook_output(output: str, hook: str) -> str:
    """pre-commit's block for one hook: from its status line to the next hook's."""
    start = output.index(f"{hook}...")
    following = [output.find(f"harden {h}...", start + 1) for h in ("check", "fix")]
    return output[start : min([f for f in following if f > start], default=len(output))]


def test_hooks_fail_on_findings_and_fix_changes_the_file(hooks_repo: Path, tmp_path: Path) -> None:
    repo = sample(tmp_path / "sample", DIRTY)
    expected = tmp_path / "expected"
    shutil.copytree(repo, expected, ignore=shutil.ignore_patterns(".git"))
    assert CliRunner().invoke(main, ["fix", "--offline", str(expected)]).exit_code == 1  # what harden-fix must write

    ran = try_repo(hooks_repo, repo, tmp_path / "home")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    check = hook_output(ran.stdout, "harden check")
    assert check.startswith("harden check") and "Failed" in check.splitlines()[0]
    assert "- hook id: harden-check" in check and "- exit code: 1" in check
    assert "compose.yaml:2:3: no-new-privileges app" in check and "Dockerfile:1:1: non-root-user" in check
    fix = hook_output(ran.stdout, "harden fix")
    assert "Failed" in fix.splitlines()[0] and "- hook id: harden-fix" in fix
    assert "- files were modified by this hook" in fix and "hardened compose.yaml" in fix
    assert (repo / "compose.yaml").read_text() == (expected / "compose.yaml").read_text() != DIRTY["compose.yaml"]
    assert "no-new-privileges:true" in (repo / "compose.yaml").read_text()
    assert (repo / "Dockerfile").read_text() == DIRTY["Dockerfile"]  # its only fix (a new user) is unsafe


def test_hooks_pass_on_clean_files(hooks_repo: Path, tmp_path: Path) -> None:
    repo = sample(tmp_path / "sample", CLEAN)
    ran = try_repo(hooks_repo, repo, tmp_path / "home")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for hook in ("harden check", "harden fix"):
        assert "Passed" in hook_output(ran.stdout, hook).splitlines()[0]  # not "Skipped": the files matched
    assert "No findings in 2 files." in ran.stdout
    assert {name: (repo / name).read_text() for name in CLEAN} == CLEAN
