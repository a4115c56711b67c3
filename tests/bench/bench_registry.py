"""Benchmark: digest resolution of a corpus with many repeated references, against a real registry.

Run: python tests/bench/bench_registry.py   (prints numbers; exits 1 if a goal is missed)

A `docker-registry` is started on 127.0.0.1 with images pushed by this script; docker.io names
reach it through a mirror. A counting proxy in front of it counts requests at the registry side.

- cold:    requests per unique reference with an empty cache (goal: 1)
- warm:    requests per unique reference with the cache of the cold run (goal: 0)
- offline: requests with the cold run's lockfile and no cache (goal: 0)
- latency: the same references behind a proxy adding latency to every request, resolved with
           jobs=1 and with jobs=8; prints the speedup of concurrent over sequential resolution.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "registry")]

from oci_helpers import REGISTRY_BIN, Proxy, push_image, push_index, running_proxy, start_registry  # noqa: E402

from harden.registry import CredentialStore, DigestCache, Lockfile, Resolution, Resolver  # noqa: E402

UNIQUE_REPOS = 24  # library/img0 ... : a third multi-platform indexes, the rest single manifests
LATENCY = 0.1  # seconds added to every request in the latency run


def corpus(local: str) -> list[str]:
    """Every image mentioned many times, in the spellings Docker allows (10 per image)."""
    refs: list[str] = []
    for n in range(UNIQUE_REPOS):
        name = f"img{n}"
        refs += [
            f"{name}:1.0",
            f"{name}:1.0",
            f"library/{name}:1.0",
            f"docker.io/{name}:1.0",
            f"docker.io/library/{name}:1.0",
            f"index.docker.io/library/{name}:1.0",
            f"registry-1.docker.io/{name}:1.0",
            f"{name}:1.0",
        ]
    refs += [f"{local}/team/app:2", f"{local}/team/app:2"]  # one reference to the registry by address
    return refs


def push_all(base: str) -> None:
    with httpx.Client(timeout=30) as c:
        for n in range(UNIQUE_REPOS):
            if n % 3 == 0:
                push_index(c, base, f"library/img{n}", "1.0")
            else:
                push_image(c, base, f"library/img{n}", "1.0", salt=str(n))
        push_image(c, base, "team/app", "2")


def run(proxy: Proxy, refs: list[str], **kw: object) -> tuple[Resolver, float]:
    proxy.reset()
    start = time.perf_counter()
    with Resolver(
        mirrors={"docker.io": proxy.base},
        credentials=CredentialStore(static={}),
        sleep=lambda s: None,
        **kw,  # type: ignore[arg-type]
    ) as r:
        results = r.resolve_many(refs)
    elapsed = time.perf_counter() - start
    bad = [f"{k}: {v}" for k, v in results.items() if not isinstance(v, Resolution)]
    if bad:
        raise SystemExit("unexpected failures:\n" + "\n".join(bad))
    return r, elapsed


def main() -> int:
    binary = REGISTRY_BIN if Path(REGISTRY_BIN).exists() else shutil.which("docker-registry")
    if binary is None:
        print("docker-registry is not installed (apt-get install docker-registry)", file=sys.stderr)
        return 2
    total_start = time.perf_counter()
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        work = Path(tmp)
        reg = start_registry(work / "registry", binary=binary)
        try:
            push_all(reg.base)
            with running_proxy(reg.base) as proxy:
                refs = corpus(proxy.hostport)
                unique = UNIQUE_REPOS + 1
                print(f"corpus: {len(refs)} references, {unique} unique")

                cache = work / "cache" / "digests.json"
                cold, t_cold = run(proxy, refs, cache=DigestCache(cache))
                per_cold = len(proxy.log) / unique
                lock = cold.updated_lockfile()
                _, t_warm = run(proxy, refs, cache=DigestCache(cache))
                per_warm = len(proxy.log) / unique
                lock_path = lock.save(work / "harden.lock")
                _, t_off = run(proxy, refs, cache=False, lockfile=Lockfile.load(lock_path), offline=True)
                offline_requests = len(proxy.log)

            print(f"cold:    {per_cold:.2f} requests per unique reference (goal 1)   {t_cold * 1000:7.1f} ms")
            print(f"warm:    {per_warm:.2f} requests per unique reference (goal 0)   {t_warm * 1000:7.1f} ms")
            print(f"offline: {offline_requests} requests with the lockfile (goal 0)          {t_off * 1000:7.1f} ms")
            failed |= per_cold != 1 or per_warm != 0 or offline_requests != 0

            with running_proxy(reg.base, latency=LATENCY) as slow:
                refs = corpus(slow.hostport)
                _, t_seq = run(slow, refs, cache=False, jobs=1)
                _, t_par = run(slow, refs, cache=False, jobs=8)
            print(
                f"latency {LATENCY * 1000:.0f} ms/request: sequential (jobs=1) {t_seq:.2f} s, "
                f"concurrent (jobs=8) {t_par:.2f} s, speedup {t_seq / t_par:.1f}x"
            )
            failed |= t_seq / t_par < 2
        finally:
            reg.stop()
    print(f"total {time.perf_counter() - total_start:.1f} s; goals {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
