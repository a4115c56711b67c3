"""Build linkage: which Dockerfile and stage a Compose service builds (harden.dockerfile.build)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harden.dockerfile import DockerfileDocument
from harden.dockerfile.build import BuildError, BuildLink, build_link, built_stage

P = Path("/p/app")


@pytest.mark.parametrize(
    ("build", "dockerfile", "target"),
    [
        ("./web", "/p/app/web/Dockerfile", None),
        ("backend/", "/p/app/backend/Dockerfile", None),
        (".", "/p/app/Dockerfile", None),
        ({}, "/p/app/Dockerfile", None),
        ({"context": "backend", "target": "builder"}, "/p/app/backend/Dockerfile", "builder"),
        ({"context": "app", "dockerfile": "docker/Dockerfile.prod"}, "/p/app/app/docker/Dockerfile.prod", None),
        ({"context": "app", "dockerfile": "../Dockerfile"}, "/p/app/Dockerfile", None),
        ({"context": "../shared", "dockerfile": ""}, "/p/shared/Dockerfile", None),
        ({"context": "/srv/app"}, "/srv/app/Dockerfile", None),
        ({"context": "app", "dockerfile": "/etc/build/Dockerfile"}, "/etc/build/Dockerfile", None),
        ({"dockerfile": "Containerfile", "args": ["A=1"], "target": "dev"}, "/p/app/Containerfile", "dev"),
    ],
)
def test_local_builds_name_their_dockerfile(build: Any, dockerfile: str, target: str | None) -> None:
    link = build_link(build, P)
    assert link.dockerfile == Path(dockerfile) and link.target == target and link.not_local == ""


@pytest.mark.parametrize(
    ("build", "why"),
    [
        ("https://github.com/docker/rootfs.git#main:docker", "remote"),
        ("git@github.com:owner/repo.git", "remote"),
        ("github.com/owner/repo", "remote"),
        ({"context": "git://example.com/repo.git", "dockerfile": "Dockerfile"}, "remote"),
        ({"context": "https://example.com/context.tar.gz", "target": "x"}, "remote"),
        ({"dockerfile_inline": "FROM alpine\nUSER app\n"}, "build.dockerfile_inline"),
        ({"context": "${APP_DIR:-.}"}, "variable"),
        ({"context": ".", "dockerfile": "$DOCKERFILE"}, "variable"),
        ("~/src/app", "home directory"),
    ],
)
def test_builds_without_a_local_dockerfile_say_why(build: Any, why: str) -> None:
    link = build_link(build, P)
    assert link.dockerfile is None and why in link.not_local


def test_an_inline_dockerfile_carries_its_text_and_target() -> None:
    link = build_link({"dockerfile_inline": "FROM alpine AS a\nFROM a\n", "target": "a"}, P)
    assert link == BuildLink(".", None, "a", "FROM alpine AS a\nFROM a\n", link.not_local)


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (None, "a string (the build context) or a mapping"),
        (["."], "a string (the build context) or a mapping"),
        ({"context": 1}, "build.context must be a string"),
        ({"target": ["a"]}, "build.target must be a string"),
        ({"dockerfile": "D", "dockerfile_inline": "FROM a\n"}, "mutually exclusive"),
    ],
)
def test_values_compose_refuses_are_errors(build: Any, words: str) -> None:
    with pytest.raises(BuildError, match=re.escape(words)):
        build_link(build, P)


def test_built_stage_is_the_target_else_the_last() -> None:
    document = DockerfileDocument.parse("Dockerfile", "FROM a AS Builder\nFROM builder AS dev\nFROM b\n")
    builder, dev, last = document.stages
    assert built_stage(document, None) is last
    assert built_stage(document, "builder") is builder
    assert built_stage(document, "BUILDER") is builder  # BuildKit compares stage names case-insensitively
    assert built_stage(document, "dev") is dev
    assert built_stage(document, "missing") is None
    assert built_stage(document, "2") is None  # an unnamed stage cannot be a target
    assert built_stage(document, "${TARGET}") is None


def corpus_builds(corpus: Path) -> list[tuple[Path, str, Any]]:
    """(compose file, service, build value) for every service in the corpus that builds."""
    yaml = YAML(typ="safe")
    found = []
    for path in sorted(corpus.rglob("*.y*ml")):
        data = yaml.load(path.read_text(encoding="utf-8"))
        services = data.get("services") if isinstance(data, dict) else None
        for name, service in (services or {}).items():
            if isinstance(service, dict) and "build" in service:
                found.append((path, name, service["build"]))
    return found


def test_awesome_compose_builds_link_to_their_dockerfiles_and_stages(corpus: Path) -> None:
    """Every build in the corpus names a Dockerfile that exists, and every target a stage in it."""
    builds = corpus_builds(corpus)
    targeted = 0
    for path, name, build in builds:
        link = build_link(build, path.parent)
        assert link.dockerfile is not None and link.dockerfile.is_file(), (path, name, link)
        document = DockerfileDocument.parse(str(link.dockerfile), link.dockerfile.read_text(encoding="utf-8-sig"))
        stage = built_stage(document, link.target)
        assert stage is not None, (path, name, link)
        if link.target is not None:
            targeted += 1
            assert stage.name == link.target.lower()
    assert len(builds) >= 36 and targeted >= 19  # 36 services build, 19 of them a target (the corpus today)


@pytest.mark.parametrize(
    ("project", "service", "dockerfile", "stage", "stages"),
    [
        ("flask", "web", "app/Dockerfile", "builder", ["builder", "dev-envs"]),
        ("react-express-mysql", "backend", "backend/Dockerfile", "development", ["development", "dev-envs"]),
        ("nginx-nodejs-redis", "web1", "web/Dockerfile", None, None),
        ("wasmedge-mysql-nginx", "backend", "backend/Dockerfile", None, None),
    ],
)
def test_awesome_compose_cases(
    corpus: Path, project: str, service: str, dockerfile: str, stage: str | None, stages: list[str] | None
) -> None:
    """A targeted stage is not the last one: the stage a service runs is not the one a
    Dockerfile-only reading would check."""
    directory = corpus / "awesome-compose" / project
    compose = next(p for p in directory.iterdir() if p.name in ("compose.yaml", "compose.yml"))
    build = YAML(typ="safe").load(compose.read_text(encoding="utf-8"))["services"][service]["build"]
    link = build_link(build, directory)
    assert link.dockerfile == directory / dockerfile and link.target == stage
    document = DockerfileDocument.parse(dockerfile, (directory / dockerfile).read_text(encoding="utf-8"))
    built = built_stage(document, link.target)
    assert built is not None
    if stages is not None:
        assert [s.name for s in document.stages] == stages and built is not document.stages[-1]
    else:
        assert built is document.stages[-1]
