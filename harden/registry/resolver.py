"""Resolve many references at once: each unique one once, from lockfile, cache or network.

The engine collects every `FROM` and `image:` of every file and calls `resolve_many` once.
References are parsed and keyed by `Reference.canonical` (plus the platform), so
`python:3.12`, `docker.io/library/python:3.12` and `index.docker.io/library/python:3.12`
cost one lookup between them. In order, a key is answered by:

1. the lockfile (unless `refresh`): the reproducible input, whatever its age;
2. the disk cache (unless `refresh`), if younger than its TTL;
3. the network, concurrently on a bounded thread pool (`jobs`), unless `offline`, in which
   case the reference fails with kind `offline`.

Time is bounded twice: each HTTP attempt by `timeout` (connect, headers and body together),
and all of `resolve_many` by `run_timeout`. When the run's time is up, every reference
without an answer fails with kind `timed_out` and `resolve_many` returns at once: it does not
wait for worker threads still busy. Their sockets give up at the same deadline; a thread stuck
elsewhere (a credential helper, up to its own timeout; DNS) ends on its own, and its result
is dropped. Python waits for such threads when the process exits.

So a cold run makes one manifest request per unique reference, and a warm run none.
New resolutions go to the cache; `updated_lockfile()` gives the lockfile to write.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden import clock
from harden.images import Failure, FailureKind, Reference, ReferenceError, Resolution, parse
from harden.registry.cache import DEFAULT_TTL, DigestCache
from harden.registry.lockfile import Lockfile

if TYPE_CHECKING:
    from harden.registry.auth import CredentialStore
    from harden.registry.client import RegistryClient, RetryPolicy

__all__ = ["ProgressCallback", "Resolver"]

ProgressCallback = Callable[[int, int, int], None]
"""Called as `progress(resolved, total, from_cache)` after the cache pass and each lookup."""


class Resolver:
    """Resolve image references to digests for one harden run.

    `cache=True` uses the default disk cache (`$XDG_CACHE_HOME/harden`), `False` none, or
    pass a `DigestCache`. `lockfile` may be a loaded `Lockfile` or a path: an existing file
    is read (a malformed one raises `LockfileError`), a missing one starts empty there.
    `platform="linux/arm64"` pins that platform's manifest instead of the index (a malformed
    platform raises ValueError here, as a usage error).
    `timeout` is the deadline in seconds of each HTTP attempt as a whole (connect, headers
    and body), retries being separate attempts; `run_timeout` is the deadline in seconds of
    each `resolve_many` call as a whole (None: none), after which unanswered references fail
    with kind `timed_out`.
    `sleep` and `retry` exist so tests can make backoff instant.
    """

    def __init__(
        self,
        *,
        mirrors: Mapping[str, str] | None = None,
        insecure: Collection[str] = (),
        jobs: int = 8,
        cache: DigestCache | bool = True,
        ttl: dt.timedelta = DEFAULT_TTL,
        lockfile: Lockfile | Path | None = None,
        offline: bool = False,
        refresh: bool = False,
        platform: str | None = None,
        credentials: CredentialStore | None = None,
        timeout: float = 10.0,
        run_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: ProgressCallback | None = None,
    ) -> None:
        if platform:
            from harden.registry.client import parse_platform

            self.platform: str | None = str(parse_platform(platform))
        else:
            self.platform = None
        self.jobs = max(1, jobs)
        self.offline = offline
        self.refresh = refresh
        self.lockfile = _load_lockfile(lockfile) if isinstance(lockfile, Path) else lockfile
        self.progress = progress
        self.run_timeout = run_timeout
        if isinstance(cache, DigestCache):
            self.cache: DigestCache | None = cache
        else:
            self.cache = DigestCache(ttl=ttl) if cache else None
        # The client (and httpx with it) is imported when the first network lookup needs it.
        self._make_client: Callable[[], RegistryClient] = functools.partial(
            _new_client,
            mirrors=dict(mirrors or {}),
            insecure=tuple(insecure),
            credentials=credentials,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
        )
        self._client: RegistryClient | None = None
        self._client_lock = threading.Lock()
        self._resolved: dict[tuple[str, str], Resolution] = {}

    @property
    def requests_made(self) -> int:
        """HTTP requests sent by this resolver so far (0 if it never needed the network)."""
        return self._client.requests_made if self._client is not None else 0

    def resolve(self, text: str) -> Resolution | Failure:
        """Resolve one reference (see `resolve_many`)."""
        return self.resolve_many([text])[text]

    def resolve_many(self, refs: Iterable[str]) -> dict[str, Resolution | Failure]:
        """Map each distinct input text, in input order, to its `Resolution` or `Failure`.

        Never raises for a bad reference or a registry problem: those are `Failure`s.
        Returns by `run_timeout` seconds after the call (see the module docstring).
        """
        deadline = None if self.run_timeout is None else clock.monotonic() + self.run_timeout
        invalid: dict[str, Failure] = {}
        keys: dict[str, str] = {}  # input text -> canonical key
        unique: dict[str, Reference] = {}
        order: list[str] = []
        for text in refs:
            if text in invalid or text in keys:
                continue
            order.append(text)
            try:
                ref = parse(text)
            except ReferenceError as error:
                invalid[text] = Failure(text, FailureKind.INVALID_REFERENCE, str(error))
                continue
            keys[text] = ref.canonical
            unique.setdefault(ref.canonical, ref)

        answers: dict[str, Resolution | Failure] = {}
        pending: list[Reference] = []
        cached = 0
        for key, ref in unique.items():
            known = self._known(key)
            if known is not None:
                answers[key] = known
                cached += 1
            elif self.offline:
                answers[key] = Failure(
                    key,
                    FailureKind.OFFLINE,
                    "offline: not in the lockfile or the cache; run without --offline to resolve it",
                )
            else:
                pending.append(ref)
        total = len(unique)
        if self.progress is not None and total:
            self.progress(len(answers), total, cached)
        if pending:
            answers.update(self._resolve_network(pending, total, len(answers), cached, deadline))
        if self.cache is not None:
            self.cache.save()
        return {text: invalid[text] if text in invalid else answers[keys[text]] for text in order}

    def updated_lockfile(self, prune: bool = False) -> Lockfile:
        """The lockfile to write: the loaded one updated with this run's resolutions.

        With `prune`, only the entries this run used are kept.
        """
        base = Lockfile(path=self.lockfile.path if self.lockfile is not None else None)
        if self.lockfile is not None and not prune:
            base = base.merge(self.lockfile)
        return base.merge(self._resolved.values())

    def close(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _known(self, key: str) -> Resolution | None:
        """The lockfile's or the cache's answer for `key`, unless refreshing."""
        if self.refresh:
            return None
        found: Resolution | None = None
        if self.lockfile is not None:
            entry = self.lockfile.get(key, self.platform)
            found = entry.to_resolution() if entry is not None else None
        if found is None and self.cache is not None:
            found = self.cache.get(key, self.platform)
        if found is not None:
            self._resolved[(key, self.platform or "")] = found
        return found

    def _resolve_network(
        self, pending: list[Reference], total: int, done: int, cached: int, deadline: float | None
    ) -> dict[str, Resolution | Failure]:
        client = self._get_client()
        answers: dict[str, Resolution | Failure] = {}

        def record(ref: Reference, result: Resolution | Failure) -> None:
            nonlocal done
            answers[ref.canonical] = result
            if isinstance(result, Resolution):
                self._resolved[(ref.canonical, self.platform or "")] = result
                if self.cache is not None:
                    self.cache.put(result)
            done += 1
            if self.progress is not None:
                self.progress(done, total, cached)

        from concurrent.futures import ThreadPoolExecutor, as_completed  # here: an offline run never needs it

        pool = ThreadPoolExecutor(max_workers=min(self.jobs, len(pending)))
        futures = {pool.submit(self._lookup, client, ref, deadline): ref for ref in pending}
        left = None if deadline is None else max(0.0, deadline - clock.monotonic())
        try:
            for future in as_completed(futures, timeout=left):
                record(futures[future], future.result())
        except TimeoutError:  # the run's time is up: what has no answer now has timed out
            for ref in futures.values():
                if ref.canonical not in answers:
                    record(ref, self._timed_out(ref))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # never wait for a busy worker
        return answers

    def _lookup(self, client: RegistryClient, ref: Reference, deadline: float | None) -> Resolution | Failure:
        """One network resolution; an unexpected error becomes a Failure, not a crash."""
        try:
            result = client.resolve(ref, self.platform, deadline=deadline)
        except Exception as error:  # one image must never stop the others
            return Failure(
                ref.canonical,
                FailureKind.SERVER_ERROR,
                f"unexpected error while resolving: {type(error).__name__}",
            )
        if isinstance(result, Failure) and result.kind is FailureKind.TIMED_OUT:
            return self._timed_out(ref)
        return result

    def _timed_out(self, ref: Reference) -> Failure:
        return Failure(
            ref.canonical,
            FailureKind.TIMED_OUT,
            f"timed out: no answer from {ref.registry} within the run's {self.run_timeout:g} s (--timeout)",
        )

    def _get_client(self) -> RegistryClient:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client


def _new_client(**options: Any) -> RegistryClient:
    from harden.registry.client import RegistryClient

    return RegistryClient(**options)


def _load_lockfile(path: Path) -> Lockfile:
    """The lockfile at `path`, or an empty one that will be saved there."""
    return Lockfile.load(path) if path.exists() else Lockfile(path=path)
