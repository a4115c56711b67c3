"""Fixtures: real `docker-registry` processes on 127.0.0.1 with images the tests push.

Without /usr/bin/docker-registry the tests skip, or fail when CI=true.
Every test gets its own cache directory (`XDG_CACHE_HOME`) and an empty Docker config
(`DOCKER_CONFIG`), so nothing on the machine leaks in and no test sees another's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from .oci_helpers import (
    PASSWORD,
    REGISTRY_BIN,
    USER,
    BearerAuth,
    BearerSetup,
    Images,
    Proxy,
    TokenIssuer,
    push_image,
    push_index,
    start_registry,
)


def registry_binary() -> str:
    if os.path.exists(REGISTRY_BIN):
        return REGISTRY_BIN
    if found := shutil.which("docker-registry"):
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("docker-registry is not installed, and CI=true: install it (apt-get install docker-registry)")
    pytest.skip("docker-registry is not installed")


def push_standard_images(c: httpx.Client, base: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The images most tests resolve: every manifest kind, Docker Hub names, nested paths."""
    digests: dict[str, str] = {}
    platforms: dict[str, dict[str, str]] = {}
    idx, children = push_index(c, base, "library/python", "3.12")
    digests["library/python:3.12"], platforms["library/python:3.12"] = idx["digest"], children
    lst, children = push_index(c, base, "library/alpine", "3.20", docker=True)
    digests["library/alpine:3.20"], platforms["library/alpine:3.20"] = lst["digest"], children
    digests["library/busybox:1.36"] = push_image(c, base, "library/busybox", "1.36")["digest"]
    digests["library/busybox:latest"] = push_image(c, base, "library/busybox", "latest", salt="latest")["digest"]
    digests["team/app:1.0"] = push_image(c, base, "team/app", "1.0", docker=True)["digest"]
    digests["deep/nested/path/img:2"] = push_image(c, base, "deep/nested/path/img", "2", arch="arm64")["digest"]
    return digests, platforms


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path_factory.mktemp("docker-config")))


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    """One anonymous registry for the session, holding the standard images."""
    binary = registry_binary()
    reg = start_registry(tmp_path_factory.mktemp("registry"), binary=binary)
    try:
        with httpx.Client(timeout=10) as c:
            digests, platforms = push_standard_images(c, reg.base)
        yield Images(reg, digests, platforms)
    finally:
        reg.stop()


@pytest.fixture
def proxy(images: Images) -> Iterator[Proxy]:
    """A counting, fault-injecting proxy in front of the session registry."""
    p = Proxy(images.base).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    """A registry behind htpasswd basic auth (bcrypt), user alice."""
    binary = registry_binary()
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        if os.environ.get("CI") == "true":
            pytest.fail("htpasswd is not installed, and CI=true (apt-get install apache2-utils)")
        pytest.skip("htpasswd is not installed")
    work = tmp_path_factory.mktemp("basic-registry")
    subprocess.run([htpasswd, "-Bbc", str(work / "htpasswd"), USER, PASSWORD], check=True, capture_output=True)
    reg = start_registry(work, f"auth:\n  htpasswd:\n    realm: test\n    path: {work / 'htpasswd'}\n", binary=binary)
    try:
        with httpx.Client(timeout=10, auth=(USER, PASSWORD)) as c:
            digests = {"private/app:1.0": push_image(c, reg.base, "private/app", "1.0")["digest"]}
        yield Images(reg, digests)
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def bearer_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BearerSetup]:
    """A registry with `auth: token`, its tokens issued by a TokenIssuer on 127.0.0.1."""
    binary = registry_binary()
    work = tmp_path_factory.mktemp("bearer-registry")
    with TokenIssuer(users={USER: PASSWORD}) as issuer:
        reg = start_registry(work, issuer.registry_yaml(work / "token-ca.pem"), binary=binary)
        try:
            with httpx.Client(timeout=10, auth=BearerAuth((USER, PASSWORD))) as c:
                digests = {
                    "library/python:3.12": push_index(c, reg.base, "library/python", "3.12")[0]["digest"],
                    "team/app:1.0": push_image(c, reg.base, "team/app", "1.0")["digest"],
                    "team/other:2.0": push_image(c, reg.base, "team/other", "2.0", salt="o")["digest"],
                }
            yield BearerSetup(Images(reg, digests), issuer)
        finally:
            reg.stop()


@pytest.fixture
def no_sleep() -> list[float]:
    """Pass `sleep=no_sleep.append` to record backoff waits instead of sleeping."""
    return []
