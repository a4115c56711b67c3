"""The digest cache against dates it should not trust: TTL 0, entries from the future, bad types."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from harden import clock
from harden.images.resolution import OCI_MANIFEST, Resolution
from harden.registry import Resolver
from harden.registry.cache import DigestCache

from .oci_helpers import Images

A_DIGEST = "sha256:" + "a" * 64


def write_cache(path: Path, key: str, digest: str, when: dt.datetime) -> None:
    entry = {"digest": digest, "media_type": OCI_MANIFEST, "platform": None, "resolved_at": when.isoformat()}
    path.write_text(json.dumps({"version": 1, "entries": {f"{key}|": entry}}))


def test_cache_ttl_zero_never_trusts_the_cache(images: Images, tmp_path: Path) -> None:
    """Not even an entry a minute ahead (within the tolerated clock skew) that `resolved_at >=
    now - ttl` used to accept."""
    key = f"{images.hostport}/library/busybox:1.36"
    path = tmp_path / "digests.json"
    write_cache(path, key, A_DIGEST, clock.now() + dt.timedelta(minutes=1))
    with Resolver(cache=DigestCache(path, ttl=dt.timedelta(0)), sleep=lambda s: None) as r:
        res = r.resolve(key)
    assert isinstance(res, Resolution) and not res.from_cache
    assert res.digest == images.digests["library/busybox:1.36"]


def test_a_cache_entry_from_the_future_is_ignored_and_replaced(images: Images, tmp_path: Path) -> None:
    key = f"{images.hostport}/library/busybox:1.36"
    path = tmp_path / "digests.json"
    write_cache(path, key, A_DIGEST, clock.now() + dt.timedelta(days=1))
    with Resolver(cache=DigestCache(path), sleep=lambda s: None) as r:
        res = r.resolve(key)
    assert isinstance(res, Resolution) and not res.from_cache
    assert res.digest == images.digests["library/busybox:1.36"]
    saved = json.loads(path.read_text())["entries"][f"{key}|"]
    assert saved["digest"] == res.digest and dt.datetime.fromisoformat(saved["resolved_at"]) <= clock.now()


def test_small_clock_skew_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "digests.json"
    write_cache(path, "r.example/a:1", A_DIGEST, clock.now() + dt.timedelta(minutes=2))
    hit = DigestCache(path).get("r.example/a:1")
    assert hit is not None and hit.digest == A_DIGEST
    with clock.use(clock.ShiftedClock(-dt.timedelta(minutes=10))):  # the same entry, 12 min ahead
        assert DigestCache(path).get("r.example/a:1") is None


def test_a_cache_entry_with_a_non_string_media_type_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "digests.json"
    entry = {"digest": A_DIGEST, "media_type": [OCI_MANIFEST], "platform": None, "resolved_at": clock.now().isoformat()}
    path.write_text(json.dumps({"version": 1, "entries": {"r.example/a:1|": entry}}))
    assert DigestCache(path).get("r.example/a:1") is None
