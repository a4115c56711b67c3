def test_a_host_name_that_does_not_resolve_fails_at_once_without_retries() -> None:
    """DNS failure is final for the run: no backoff, and no second lookup of that host."""
    import time as _time

    from harden.registry import Resolver

    sleeps: list[float] = []
    with Resolver(cache=False, sleep=sleeps.append) as resolver:
        start = _time.monotonic()
        results = resolver.resolve_many(["no-such-host.invalid/a/b:1", "no-such-host.invalid/a/c:2"])
        elapsed = _time.monotonic() - start
    assert all(r.kind.value == "unreachable" for r in results.values())  # type: ignore[union-attr]
    assert all("does not resolve" in r.message for r in results.values())  # type: ignore[union-attr]
    assert sleeps == [] and elapsed < 5
