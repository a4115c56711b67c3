"""Discovery: names, .gitignore, .git, symbolic links, deterministic order."""

from __future__ import annotations

import json
from pathlib import Path

from harden.discover import Skipped, discover, kind_of


def test_names() -> None:
    names = ("Dockerfile", "Dockerfile.prod", "api.Dockerfile", "Containerfile", "dockerfile", "api.dockerfile", "Dockerfile-dev")
    for name in (*names, "Containerfile.arm64", "Containerfile-dev"):
        assert kind_of(name) == "dockerfile", name
    for name in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.prod.yaml", "compose.override.yaml"):
        assert kind_of(name) == "compose", name
    for name in (
        "Dockerfile.j2",
        "README.md",
        "values.yaml",
        "Dockerfile.template",
        "Dockerfile.dockerignore",
        "a.dockerfile.bak",
    ):
        assert kind_of(name) is None, name


def write(root: Path, relative: str, text: str = "FROM a\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_walk_is_sorted_skips_git_and_honours_gitignore(tmp_path: Path) -> None:
    write(tmp_path, "b/Dockerfile")
    write(tmp_path, "a/Dockerfile")
    write(tmp_path, "a/sub/Dockerfile.dev")
    write(tmp_path, ".git/Dockerfile")
    write(tmp_path, "build/Dockerfile")
    write(tmp_path, "a/sub/ignored.Dockerfile")
    write(tmp_path, ".gitignore", "build/\n")
    write(tmp_path, "a/sub/.gitignore", "ignored.*\n")
    write(tmp_path, "compose.yaml", "services: {}\n")
    sources, skipped = discover([str(tmp_path)])
    assert [s.relative for s in sources] == ["a/Dockerfile", "a/sub/Dockerfile.dev", "b/Dockerfile", "compose.yaml"]
    assert skipped == []


def test_symbolic_links(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = write(tmp_path, "outside/Dockerfile")
    write(root, "real/Dockerfile")
    (root / "linked-dir").symlink_to(tmp_path / "outside")
    (root / "escape.Dockerfile").symlink_to(outside)
    (root / "inside.Dockerfile").symlink_to(root / "real" / "Dockerfile")
    sources, skipped = discover([str(root)])
    assert [s.relative for s in sources] == ["real/Dockerfile"]  # the inside link is the same file
    assert len(skipped) == 1 and "outside" in skipped[0].message


def test_explicit_yaml_with_services_is_compose(tmp_path: Path) -> None:
    stack = write(tmp_path, "stack.yaml", "services:\n  web:\n    image: nginx\n")
    other = write(tmp_path, "values.yaml", "replicas: 2\n")
    sources, skipped = discover([str(stack), str(other)])
    assert [(s.kind, s.relative) for s in sources] == [("compose", "stack.yaml")]
    assert "not a Dockerfile or Compose file" in skipped[0].message


def test_a_yaml_file_with_services_where_no_compose_file_is_named_is_a_note(tmp_path: Path) -> None:
    write(tmp_path, "deploy/stack.yml", "services:\n  web:\n    image: nginx\n")
    write(tmp_path, "deploy/values.yaml", "replicas: 2\n")
    write(tmp_path, "app/compose.yaml", "services:\n  web:\n    image: nginx\n")
    write(tmp_path, "app/compose.tools.yml", "services:\n  tool:\n    image: busybox\n")  # a Compose file's name
    write(tmp_path, "app/extra.yml", "services:\n  other:\n    image: busybox\n")  # beside a Compose file: not reported
    sources, skipped = discover([str(tmp_path)])
    assert [s.relative for s in sources] == ["app/compose.tools.yml", "app/compose.yaml"]
    shown = f"{tmp_path.as_posix()}/deploy/stack.yml"
    assert skipped == [
        Skipped(
            shown,
            f"has top-level services: but not a Compose file's name: not hardened (harden -f {shown} includes it)",
            note=True,
        )
    ]


def test_the_note_leaves_the_exit_status_alone(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from harden.cli import main

    write(tmp_path, "Dockerfile", "FROM scratch\nUSER 1000\n")
    write(tmp_path, "ops/stack.yaml", "services:\n  web:\n    image: nginx\n")
    outcome = CliRunner().invoke(main, ["check", "--offline", "--select", "non-root-user", "--format", "json", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.stdout)
    assert report["errors"] == [] and report["skipped"][0].endswith("ops/stack.yaml includes it)")
    assert "ops/stack.yaml: has top-level services:" in outcome.stderr
