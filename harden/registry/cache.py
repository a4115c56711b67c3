"""An on-disk cache of resolved digests, so that a second run makes no request.

One JSON file, `<user cache dir>/registry/digests.json` (platformdirs, so
`$XDG_CACHE_HOME/harden/...` on Linux and tests can isolate it), maps
`"<canonical reference>|<platform>"` to digest, media type, platform and `resolved_at`.
Entries older than the TTL (default 24 h) are ignored, so moved tags are picked up daily.
A TTL of zero (or less) means the cache is never trusted; entries are still written, for
later runs. An entry dated more than `MAX_CLOCK_SKEW` (5 minutes) in the future was written
by a clock that was wrong, or by hand: it is ignored, and dropped when the file is next saved,
so it cannot outlive any TTL.

Only public facts are stored: no credential or token is ever written. Writes are atomic
and merge with what another process may have saved meanwhile (the newest entry wins).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

from harden import clock
from harden.images import MANIFEST_TYPES, Resolution
from harden.registry.lockfile import atomic_write

__all__ = ["DEFAULT_TTL", "MAX_CLOCK_SKEW", "DigestCache", "default_cache_path"]

DEFAULT_TTL = dt.timedelta(hours=24)
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
_VERSION = 1


def default_cache_path() -> Path:
    """`<user cache dir>/registry/digests.json`; computed when called, never at import."""
    import platformdirs  # imported here: only a run that uses the cache needs it

    return Path(platformdirs.user_cache_dir("harden")) / "registry" / "digests.json"


class DigestCache:
    """Resolutions on disk, valid for `ttl`; loaded lazily, saved explicitly with `save`."""

    def __init__(self, path: Path | None = None, ttl: dt.timedelta = DEFAULT_TTL) -> None:
        self.path = path or default_cache_path()
        self.ttl = ttl
        self._entries: dict[str, Resolution] | None = None
        self._dirty: dict[str, Resolution] = {}
        self._lock = threading.Lock()

    def get(self, reference: str, platform: str | None = None, now: dt.datetime | None = None) -> Resolution | None:
        """A resolution younger than the TTL and not from the future (marked `from_cache`), or None."""
        if self.ttl <= dt.timedelta(0):
            return None
        with self._lock:
            entry = self._load().get(_key(reference, platform))
        now = now or clock.now()
        if entry is None or not now - self.ttl <= entry.resolved_at <= now + MAX_CLOCK_SKEW:
            return None
        return entry

    def put(self, resolution: Resolution) -> None:
        """Remember a resolution (in memory until `save`)."""
        entry = Resolution(
            resolution.reference,
            resolution.digest,
            resolution.media_type,
            resolution.platform,
            resolution.resolved_at,
            from_cache=True,
        )
        key = _key(entry.reference, entry.platform)
        with self._lock:
            self._load()[key] = entry
            self._dirty[key] = entry

    def save(self) -> None:
        """Write new entries, merged with the file as it is now; errors are ignored (a cache)."""
        with self._lock:
            if not self._dirty:
                return
            latest = clock.now() + MAX_CLOCK_SKEW
            merged = {key: entry for key, entry in _read(self.path).items() if entry.resolved_at <= latest}
            for key, entry in self._dirty.items():
                old = merged.get(key)
                if old is None or old.resolved_at <= entry.resolved_at:
                    merged[key] = entry
            document = {"version": _VERSION, "entries": {k: _dump(v) for k, v in sorted(merged.items())}}
            try:
                atomic_write(self.path, json.dumps(document, indent=1) + "\n", mode=0o600)
            except OSError:
                return
            self._entries = merged
            self._dirty.clear()

    def _load(self) -> dict[str, Resolution]:
        if self._entries is None:
            self._entries = _read(self.path)
        return self._entries


def _key(reference: str, platform: str | None) -> str:
    return f"{reference}|{platform or ''}"


def _dump(entry: Resolution) -> dict[str, str | None]:
    return {
        "digest": entry.digest,
        "media_type": entry.media_type,
        "platform": entry.platform,
        "resolved_at": entry.resolved_at.isoformat(),
    }


def _read(path: Path) -> dict[str, Resolution]:
    """The valid entries of a cache file; a missing or corrupt file is an empty cache."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("version") != _VERSION:
        return {}
    raw = document.get("entries")
    if not isinstance(raw, dict):
        return {}
    entries: dict[str, Resolution] = {}
    for key, value in raw.items():
        entry = _parse(key, value)
        if entry is not None:
            entries[key] = entry
    return entries


def _parse(key: str, value: object) -> Resolution | None:
    if not isinstance(value, dict):
        return None
    reference, _, platform = key.rpartition("|")
    digest, media_type = value.get("digest"), value.get("media_type")
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
        return None
    if not isinstance(media_type, str) or media_type not in MANIFEST_TYPES or (value.get("platform") or "") != platform:
        return None
    try:
        resolved_at = dt.datetime.fromisoformat(str(value.get("resolved_at")))
    except ValueError:
        return None
    if resolved_at.tzinfo is None:
        return None
    return Resolution(reference, digest, str(media_type), platform or None, resolved_at, True)
