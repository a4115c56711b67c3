"""Which corpus Compose projects can run here, on the stand-ins, and a complete copy of one to run.

Shared by tests/test_standin_apps.py and any runtime benchmark over the corpus.

- `runnable_projects()`: the names of the corpus' awesome-compose projects (directories of
  ../shared/corpus/awesome-compose with a Compose file) that can be built here;
- `missing(name)`: why one cannot (empty when it can);
- `images(name)`: the local images its services pull or build FROM (what a test requires);
- `materialize(name, into)`: the project copied from the corpus, the vendored app sources
  (tests/standins/apps/<name>/, see its README) copied over it, files writable as in a checkout;
  returns the project's directory, `into/<name>`.

"Can be built here" (no registry, no network): every service either
- pulls an image (`image:` without `build:`) that is a local image, the stand-in: an image named
  without a registry (`mariadb:10-focal`) is looked up as `localhost/mariadb:10-focal`, the name
  tests/standins/build tags; one named with a registry host, a digest or a `$variable` cannot be;
- or builds (`build:`) from a local Dockerfile whose stages the build needs (the target's, and the
  stages it is built FROM or copies --from) are built only FROM local images (as above), and whose
  context, once the overlay is copied in, holds every source their COPY and ADD name (an ADD of a
  URL needs the network: no). The corpus keeps only Dockerfiles and Compose files, so a context
  holding nothing else is missing its app, whatever its COPY lines say (`COPY . .`);
and every file the Compose file names for a secret, a config or an env_file exists.

What this does not see: a RUN that needs the network (`apk add`, `apt-get install`, a `pip
install` of something not in the python stand-in's wheelhouse) fails the build; such a project
passes here and fails when built. The Compose files are read as plain YAML: `extends:`, `include:`
and `${VAR}` interpolation are not followed (none of the projects here use them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from harden.dockerfile import Stage, parse
from harden.dockerfile.build import BuildError, build_link, built_stage

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "awesome-compose"
OVERLAY = ROOT / "tests" / "standins" / "apps"
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
CORPUS_KEEPS = {"Dockerfile", *COMPOSE_NAMES}  # a context holding only these lacks its app


def projects() -> list[str]:
    """Every corpus project: a directory of the corpus with a Compose file."""
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and _compose_file(p) is not None)


def materialize(name: str, into: Path) -> Path:
    """Copy the corpus project `name`, then its vendored app sources over it, to `into/name`
    (which must not exist); every file made writable by its owner (the corpus is read-only, a
    checkout is not: `harden fix` in place must be able to write). Returns `into/name`."""
    target = into / name
    shutil.copytree(CORPUS / name, target, symlinks=True)
    if (OVERLAY / name).is_dir():
        shutil.copytree(OVERLAY / name, target, symlinks=True, dirs_exist_ok=True)
    for directory, _, files in os.walk(target):
        for entry in [directory, *(os.path.join(directory, f) for f in files)]:
            os.chmod(entry, os.stat(entry).st_mode | 0o200)
    return target


def podman_image_exists(reference: str) -> bool:
    """Whether podman has the image (False without podman)."""
    podman = shutil.which("podman")
    if podman is None:
        return False
    return subprocess.run([podman, "image", "exists", reference], capture_output=True, check=False).returncode == 0


def local_name(reference: str) -> str | None:
    """The local image that serves `reference` here: `mariadb:10-focal` -> `localhost/mariadb:10-focal`,
    `nginx` -> `localhost/nginx:latest`; None when no stand-in can (a registry host, a digest, a variable)."""
    if "$" in reference or "@" in reference:
        return None
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return None
    last = reference.rsplit("/", 1)[-1]
    return "localhost/" + (reference if ":" in last else reference + ":latest")


def images(name: str) -> list[str]:
    """The local images project `name`'s services pull or build FROM (those a stand-in serves)."""
    with _materialized(name) as directory:
        return sorted({image for _, image in _needs(directory)[1] if image is not None})


def missing(name: str, exists: Callable[[str], bool] = podman_image_exists) -> list[str]:
    """Why project `name` cannot be built here (see the module docstring); empty when it can."""
    with _materialized(name) as directory:
        problems, wanted = _needs(directory)
    for reference, image in dict.fromkeys(wanted):
        if image is None:
            problems.append(f"{reference}: no stand-in can serve it (registry host, digest or variable)")
        elif not exists(image):
            problems.append(f"{reference}: no local image {image} (tests/standins/build makes the stand-ins)")
    return problems


def runnable_projects(exists: Callable[[str], bool] = podman_image_exists) -> list[str]:
    """The corpus projects that can be built here (see the module docstring), sorted."""
    found: dict[str, bool] = {}

    def cached(image: str) -> bool:
        if image not in found:
            found[image] = exists(image)
        return found[image]

    return [name for name in projects() if not missing(name, cached)]


class _materialized:
    """`materialize` into a temporary directory, removed on exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.temporary = tempfile.TemporaryDirectory(prefix="harden-standin-app-")

    def __enter__(self) -> Path:
        return materialize(self.name, Path(self.temporary.name))

    def __exit__(self, *_: object) -> None:
        self.temporary.cleanup()


def _compose_file(directory: Path) -> Path | None:
    return next((directory / n for n in COMPOSE_NAMES if (directory / n).is_file()), None)


def _needs(directory: Path) -> tuple[list[str], list[tuple[str, str | None]]]:
    """What the project in `directory` lacks (problems), and the images it needs: (as written, local name)."""
    compose = _compose_file(directory)
    assert compose is not None, directory
    document: dict[str, Any] = YAML(typ="safe").load(compose.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    wanted: list[tuple[str, str | None]] = []
    for service_name, service in (document.get("services") or {}).items():
        if "build" in service:
            problems += _build(service_name, service["build"], directory, wanted)
        elif isinstance(service.get("image"), str):
            wanted.append((service["image"], local_name(service["image"])))
        problems += [
            f"{service_name}: env_file {f} is missing" for f in _listed(service.get("env_file")) if not (directory / f).exists()
        ]
    for kind in ("secrets", "configs"):
        for entry_name, entry in (document.get(kind) or {}).items():
            path = (entry or {}).get("file")
            if isinstance(path, str) and not (directory / path).exists():
                problems.append(f"{kind[:-1]} {entry_name}: file {path} is missing")
    return problems, wanted


def _listed(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [i if isinstance(i, str) else str(i.get("path", "")) for i in items]


def _build(service: str, build: object, directory: Path, wanted: list[tuple[str, str | None]]) -> list[str]:
    """The problems of one service's build; the images its stages need are appended to `wanted`."""
    try:
        link = build_link(build, directory)
    except BuildError as error:
        return [f"{service}: {error}"]
    if link.dockerfile is None:
        return [f"{service}: {link.not_local}"]
    if not link.dockerfile.is_file():
        return [f"{service}: {link.dockerfile.relative_to(directory)} is missing"]
    context = (directory / link.context).resolve()
    document = parse(str(link.dockerfile), link.dockerfile.read_text(encoding="utf-8"))
    stage = built_stage(document, link.target)
    if stage is None:
        return [f"{service}: the build target {link.target} names no stage"]
    problems = []
    if not any(p.name not in CORPUS_KEEPS for p in context.iterdir()):
        problems.append(f"{service}: the build context {link.context} holds only what the corpus keeps (its app is not vendored)")
    for needed in _stages(document.stages, stage):
        problems += _stage_problems(service, needed, document.stages, context, wanted)
    return problems


def _stage_by_name(stages: list[Stage], name: str, before: int) -> Stage | None:
    lowered = name.lower()
    return next((s for s in stages[:before] if s.name == lowered or str(s.index) == name), None)


def _stages(stages: list[Stage], built: Stage) -> Iterator[Stage]:
    """The built stage and every stage it is built FROM or copies from, each once."""
    seen: set[int] = set()
    pending = [built]
    while pending:
        stage = pending.pop()
        if stage.index in seen:
            continue
        seen.add(stage.index)
        yield stage
        references = [stage.base, *(i.flag("from") or "" for i in stage.instructions if i.keyword in ("COPY", "ADD"))]
        pending += [s for r in references if r and (s := _stage_by_name(stages, r, stage.index)) is not None]


def _present(context: Path, source: str) -> bool:
    """Whether a COPY/ADD source (a path, or a pattern with * ? [) matches something in `context`."""
    relative = source.lstrip("/") or "."
    if any(c in relative for c in "*?["):
        return any(context.glob(relative))
    return (context / relative).exists()


def _stage_problems(
    service: str, stage: Stage, stages: list[Stage], context: Path, wanted: list[tuple[str, str | None]]
) -> list[str]:
    """One stage's problems: its base and `--from` images go to `wanted`; its COPY/ADD sources must be in `context`."""
    problems = []
    for reference in [stage.base, *(i.flag("from") or "" for i in stage.instructions if i.keyword in ("COPY", "ADD"))]:
        if reference and reference != "scratch" and _stage_by_name(stages, reference, stage.index) is None:
            wanted.append((reference, local_name(reference)))
    for instruction in stage.instructions:
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") or instruction.heredocs:
            continue
        words = instruction.exec_form or instruction.args.split()
        for source in words[:-1]:
            if "://" in source:
                problems.append(f"{service}: {instruction.keyword} {source} needs the network")
            elif not _present(context, source):
                problems.append(f"{service}: {instruction.keyword} {source}: not in the build context")
    return problems
