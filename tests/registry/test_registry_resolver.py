"""Resolver: one request per unique reference cold, zero warm and offline, counted at the registry."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from harden.images.resolution import OCI_INDEX, OCI_MANIFEST
from harden.registry import (
    DigestCache,
    Failure,
    FailureKind,
    LockEntry,
    Lockfile,
    LockfileError,
    Resolution,
    Resolver,
)
from harden.registry.auth import CredentialStore

from .oci_helpers import Images, Proxy, free_port, running_proxy


def corpus(local: str) -> list[str]:
    """Many mentions of five images, spelled in every way Docker allows."""
    return [
        "python:3.12",
        "docker.io/library/python:3.12",
        "index.docker.io/library/python:3.12",
        "library/python:3.12",
        "alpine:3.20",
        "alpine:3.20",
        "busybox",
        "busybox:latest",
        "docker.io/busybox",
        "team/app:1.0",
        f"{local}/deep/nested/path/img:2",
        f"{local}/deep/nested/path/img:2",
    ] * 3


def expected(images: Images, local: str) -> dict[str, str]:
    d = images.digests
    return {
        "python:3.12": d["library/python:3.12"],
        "index.docker.io/library/python:3.12": d["library/python:3.12"],
        "alpine:3.20": d["library/alpine:3.20"],
        "busybox": d["library/busybox:latest"],
        "busybox:latest": d["library/busybox:latest"],
        "team/app:1.0": d["team/app:1.0"],
        f"{local}/deep/nested/path/img:2": d["deep/nested/path/img:2"],
    }


def resolver(proxy: Proxy, **kw: object) -> Resolver:
    kw.setdefault("credentials", CredentialStore())
    return Resolver(mirrors={"docker.io": proxy.base}, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def test_cold_one_request_per_unique_reference_warm_zero(images: Images, proxy: Proxy) -> None:
    refs = corpus(proxy.hostport)
    with resolver(proxy) as r:
        results = r.resolve_many(refs)
        assert r.requests_made == 5
    assert set(results) == set(refs)
    for text, digest in expected(images, proxy.hostport).items():
        res = results[text]
        assert isinstance(res, Resolution) and res.digest == digest and not res.from_cache
    assert len(proxy.log) == 5 and proxy.manifest_requests() == 5  # counted at the registry side
    assert all(method == "HEAD" for method, _ in proxy.log)

    proxy.reset()
    with resolver(proxy) as warm:
        again = warm.resolve_many(refs)
        assert warm.requests_made == 0
    assert proxy.log == []
    assert all(isinstance(v, Resolution) and v.from_cache for v in again.values())
    assert {k: v.digest for k, v in again.items() if isinstance(v, Resolution)} == {
        k: v.digest for k, v in results.items() if isinstance(v, Resolution)
    }


def test_cache_lives_under_xdg_cache_home_and_expires(images: Images, proxy: Proxy) -> None:
    with resolver(proxy) as r:
        r.resolve_many(["python:3.12"])
    path = Path(os.environ["XDG_CACHE_HOME"]) / "harden" / "registry" / "digests.json"
    document = json.loads(path.read_text())
    assert list(document["entries"]) == ["docker.io/library/python:3.12|"]
    assert path.stat().st_mode & 0o777 == 0o600
    proxy.reset()
    with resolver(proxy, ttl=dt.timedelta(seconds=0)) as expired:
        assert isinstance(expired.resolve("python:3.12"), Resolution)
    assert proxy.manifest_requests() == 1
    proxy.reset()
    with resolver(proxy, cache=False) as uncached:
        uncached.resolve("python:3.12")
    assert proxy.manifest_requests() == 1


def test_corrupt_cache_is_ignored(images: Images, proxy: Proxy, tmp_path: Path) -> None:
    path = tmp_path / "digests.json"
    path.write_text("{not json")
    with resolver(proxy, cache=DigestCache(path)) as r:
        res = r.resolve("alpine:3.20")
    assert isinstance(res, Resolution) and res.digest == images.digests["library/alpine:3.20"]
    assert json.loads(path.read_text())["version"] == 1


def test_offline_with_lockfile_makes_zero_requests(images: Images, proxy: Proxy, tmp_path: Path) -> None:
    refs = corpus(proxy.hostport)
    with resolver(proxy, cache=False) as online:
        first = online.resolve_many(refs)
        lock_path = online.updated_lockfile().save(tmp_path / "harden.lock")
    proxy.reset()
    lock = Lockfile.load(lock_path)
    assert len(lock) == 5
    with resolver(proxy, cache=False, lockfile=lock, offline=True) as offline:
        results = offline.resolve_many([*refs, "nginx:1.27"])
        assert offline.requests_made == 0
    assert proxy.log == []
    for text in refs:
        res = results[text]
        assert isinstance(res, Resolution) and res.from_cache
        assert res.digest == first[text].digest  # type: ignore[union-attr]
    missing = results["nginx:1.27"]
    assert isinstance(missing, Failure) and missing.kind == FailureKind.OFFLINE
    assert missing.reference == "docker.io/library/nginx:1.27"


def test_offline_uses_the_cache_too(images: Images, proxy: Proxy) -> None:
    with resolver(proxy) as online:
        online.resolve("python:3.12")
    proxy.reset()
    with resolver(proxy, offline=True) as offline:
        assert isinstance(offline.resolve("python:3.12"), Resolution)
        failure = offline.resolve("alpine:3.20")
        assert isinstance(failure, Failure) and failure.kind == "offline"
    assert proxy.log == []


def test_lockfile_wins_online_and_refresh_ignores_it(images: Images, proxy: Proxy) -> None:
    old = "sha256:" + "0" * 64
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    lock = Lockfile([LockEntry("docker.io/library/python:3.12", old, OCI_INDEX, None, t0)])
    with resolver(proxy, lockfile=lock) as r:
        res = r.resolve("python:3.12")
    assert isinstance(res, Resolution) and res.digest == old and proxy.log == []
    with resolver(proxy, lockfile=lock, refresh=True) as r:
        res = r.resolve("python:3.12@" + old)
        updated = r.updated_lockfile()
    assert isinstance(res, Resolution) and res.digest == images.digests["library/python:3.12"]
    assert proxy.manifest_requests() == 1
    entry = updated.get("docker.io/library/python:3.12")
    assert entry is not None and entry.digest == res.digest and entry.resolved_at > t0


def test_updated_lockfile_prune_keeps_only_what_was_used(images: Images, proxy: Proxy) -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    unused = LockEntry("docker.io/library/gone:1", "sha256:" + "1" * 64, OCI_INDEX, None, t0)
    with resolver(proxy, lockfile=Lockfile([unused])) as r:
        r.resolve_many(["python:3.12", "alpine:3.20"])
        assert len(r.updated_lockfile()) == 3
        pruned = r.updated_lockfile(prune=True)
    assert [e.reference for e in pruned] == ["docker.io/library/alpine:3.20", "docker.io/library/python:3.12"]


def test_failures_do_not_stop_the_others(images: Images, proxy: Proxy) -> None:
    down = f"127.0.0.1:{free_port()}/app:1"
    refs = ["python:3.12", down, "Not/Valid Ref", "python:9.99", "team/app:1.0", f"python@sha512:{'a' * 128}"]
    with resolver(proxy) as r:
        results = r.resolve_many(refs)
    kinds = {k: (v.kind if isinstance(v, Failure) else "ok") for k, v in results.items()}
    assert kinds == {
        "python:3.12": "ok",
        down: FailureKind.UNREACHABLE,
        "Not/Valid Ref": FailureKind.INVALID_REFERENCE,
        "python:9.99": FailureKind.NOT_FOUND,
        "team/app:1.0": "ok",
        f"python@sha512:{'a' * 128}": FailureKind.UNSUPPORTED_DIGEST,
    }
    # failures are not cached: a second run asks again
    proxy.reset()
    with resolver(proxy) as r:
        r.resolve_many(refs)
    assert proxy.manifest_requests() == 1  # python:9.99 again; the successes came from the cache


def test_platform(images: Images, proxy: Proxy) -> None:
    with resolver(proxy, platform="linux/arm64") as r:
        res = r.resolve("python:3.12")
        lock = r.updated_lockfile()
    assert isinstance(res, Resolution)
    assert (res.digest, res.platform, res.media_type) == (
        images.platforms["library/python:3.12"]["linux/arm64"],
        "linux/arm64",
        OCI_MANIFEST,
    )
    assert lock.get("docker.io/library/python:3.12", "linux/arm64") is not None
    assert lock.get("docker.io/library/python:3.12") is None
    proxy.reset()
    with resolver(proxy) as r:  # the index is a different cache entry
        index = r.resolve("python:3.12")
    assert isinstance(index, Resolution) and index.digest == images.digests["library/python:3.12"]
    assert proxy.manifest_requests() == 1


def test_invalid_platform_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="os/arch"):
        Resolver(platform="arm64")


def test_progress_callback(images: Images, proxy: Proxy) -> None:
    with resolver(proxy) as r:
        r.resolve("python:3.12")
    calls: list[tuple[int, int, int]] = []
    with resolver(proxy, progress=lambda *a: calls.append(a)) as r:
        r.resolve_many(["python:3.12", "alpine:3.20", "team/app:1.0", "python:3.12"])
    assert calls[0] == (1, 3, 1)  # after the cache pass: 1 of 3 known
    assert calls[-1] == (3, 3, 1)
    assert [c[0] for c in calls] == [1, 2, 3]


def test_concurrent_resolution_is_bounded_and_parallel(images: Images) -> None:
    refs = ["python:3.12", "alpine:3.20", "busybox:1.36", "busybox:latest", "team/app:1.0"]
    with running_proxy(images.base, latency=0.3) as slow:
        start = time.monotonic()
        with resolver(slow, cache=False, jobs=5) as r:
            results = r.resolve_many(refs)
        elapsed = time.monotonic() - start
    assert all(isinstance(v, Resolution) for v in results.values())
    assert elapsed < 1.0, elapsed  # sequentially: at least 1.5 s


def test_lockfile_given_as_a_path(images: Images, proxy: Proxy, tmp_path: Path) -> None:
    path = tmp_path / "harden.lock"
    with resolver(proxy, lockfile=path, cache=False) as r:
        assert r.lockfile is not None and len(r.lockfile) == 0
        r.resolve("python:3.12")
        assert r.updated_lockfile().save() == path
    proxy.reset()
    with resolver(proxy, lockfile=path, cache=False, offline=True) as r:
        res = r.resolve("docker.io/library/python:3.12")
    assert isinstance(res, Resolution) and res.digest == images.digests["library/python:3.12"]
    assert proxy.log == []
    path.write_text("version = 7\n")
    with pytest.raises(LockfileError, match="unsupported version"):
        Resolver(lockfile=path)


def test_results_follow_input_order_and_offline_progress(images: Images, proxy: Proxy) -> None:
    with resolver(proxy) as r:
        r.resolve("alpine:3.20")
    calls: list[tuple[int, int, int]] = []
    refs = ["team/app:1.0", "Bad Ref", "alpine:3.20", "team/app:1.0", "python:3.12"]
    with resolver(proxy, offline=True, progress=lambda *a: calls.append(a)) as r:
        results = r.resolve_many(refs)
    assert list(results) == ["team/app:1.0", "Bad Ref", "alpine:3.20", "python:3.12"]
    assert calls == [(3, 3, 1)]  # all three settled: one from the cache, two offline failures
