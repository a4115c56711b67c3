"""RegistryClient against a real docker-registry on 127.0.0.1, with faults from a proxy."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from harden.images.reference import parse
from harden.images.resolution import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Failure,
    FailureKind,
    Resolution,
)
from harden.registry.auth import Credentials, CredentialStore
from harden.registry.client import RegistryClient, RetryPolicy

from .oci_helpers import PASSWORD, USER, BearerSetup, Images, Proxy, free_port, running_proxy


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(sleeps: list[float], **kw: object) -> RegistryClient:
    kw.setdefault("credentials", CredentialStore())
    return RegistryClient(sleep=sleeps.append, **kw)  # type: ignore[arg-type]


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[RegistryClient]:
    with make_client(sleeps) as c:
        yield c


def ok(result: Resolution | Failure) -> Resolution:
    assert isinstance(result, Resolution), result
    return result


def failed(result: Resolution | Failure, kind: FailureKind) -> Failure:
    assert isinstance(result, Failure), result
    assert result.kind == kind, result
    return result


# -- resolving by tag -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("library/python:3.12", OCI_INDEX),
        ("library/alpine:3.20", DOCKER_MANIFEST_LIST),
        ("library/busybox:1.36", OCI_MANIFEST),
        ("team/app:1.0", DOCKER_MANIFEST),
        ("deep/nested/path/img:2", OCI_MANIFEST),
    ],
)
def test_resolve_by_tag(images: Images, client: RegistryClient, name: str, media_type: str) -> None:
    res = ok(client.resolve(parse(f"{images.hostport}/{name}")))
    assert res.digest == images.digests[name]
    assert res.media_type == media_type
    assert res.platform is None and not res.from_cache
    assert res.reference == f"{images.hostport}/{name}"
    assert res.resolved_at.tzinfo is not None
    assert client.requests_made == 1  # one HEAD


def test_untagged_means_latest(images: Images, client: RegistryClient) -> None:
    res = ok(client.resolve(parse(f"{images.hostport}/library/busybox")))
    assert res.digest == images.digests["library/busybox:latest"]


def test_resolve_by_digest_verifies_it(images: Images, client: RegistryClient) -> None:
    digest = images.digests["library/python:3.12"]
    res = ok(client.resolve(parse(f"{images.hostport}/library/python@{digest}")))
    assert (res.digest, res.media_type) == (digest, OCI_INDEX)
    unknown = "sha256:" + "f" * 64
    failed(client.resolve(parse(f"{images.hostport}/library/python@{unknown}")), FailureKind.NOT_FOUND)


def test_tag_and_digest_resolves_the_tag(images: Images, client: RegistryClient) -> None:
    old = "sha256:" + "0" * 64
    res = ok(client.resolve(parse(f"{images.hostport}/library/python:3.12@{old}")))
    assert res.digest == images.digests["library/python:3.12"]


def test_other_digest_algorithms_are_reported_not_pinned(images: Images, client: RegistryClient) -> None:
    f = failed(client.resolve(parse(f"{images.hostport}/library/python@sha512:{'a' * 128}")), FailureKind.UNSUPPORTED_DIGEST)
    assert "sha512" in f.message
    assert client.requests_made == 0


# -- platforms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "child_type"), [("library/python:3.12", OCI_MANIFEST), ("library/alpine:3.20", DOCKER_MANIFEST)]
)
def test_platform_manifest_from_index(images: Images, client: RegistryClient, name: str, child_type: str) -> None:
    ref = parse(f"{images.hostport}/{name}")
    arm = ok(client.resolve(ref, platform="linux/arm64"))
    assert arm.digest == images.platforms[name]["linux/arm64"] != images.digests[name]
    assert (arm.platform, arm.media_type) == ("linux/arm64", child_type)
    amd = ok(client.resolve(ref, platform="linux/x86_64"))  # aliases are normalised
    assert amd.digest == images.platforms[name]["linux/amd64"] and amd.platform == "linux/amd64"
    f = failed(client.resolve(ref, platform="linux/s390x"), FailureKind.PLATFORM_NOT_FOUND)
    assert "linux/s390x" in f.message


def test_platform_of_a_single_manifest_is_checked(images: Images, client: RegistryClient) -> None:
    arm = ok(client.resolve(parse(f"{images.hostport}/deep/nested/path/img:2"), platform="linux/arm64"))
    assert arm.digest == images.digests["deep/nested/path/img:2"] and arm.platform == "linux/arm64"
    f = failed(
        client.resolve(parse(f"{images.hostport}/library/busybox:1.36"), platform="linux/arm64"),
        FailureKind.PLATFORM_NOT_FOUND,
    )
    assert "linux/amd64" in f.message


def test_invalid_platform(images: Images, client: RegistryClient) -> None:
    failed(client.resolve(parse(f"{images.hostport}/library/busybox"), platform="linux"), FailureKind.INVALID_REFERENCE)


# -- faults: missing headers, corrupted bodies, foreign media types -----------------------------


def test_head_without_digest_header_falls_back_to_get(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.strip_digest = ("HEAD",)
    res = ok(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")))
    assert res.digest == images.digests["library/python:3.12"] and res.media_type == OCI_INDEX
    assert [m for m, _ in proxy.log] == ["HEAD", "GET"]


def test_no_digest_header_at_all_is_confirmed_with_the_registry(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.strip_digest = ("HEAD", "GET")
    res = ok(client.resolve(parse(f"{proxy.hostport}/library/alpine:3.20")))
    assert res.digest == images.digests["library/alpine:3.20"]
    assert [m for m, _ in proxy.log] == ["HEAD", "GET", "HEAD"]
    assert proxy.log[-1][1].endswith(res.digest)


def test_corrupted_body_is_refused(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.strip_digest, proxy.corrupt_body = ("HEAD",), True
    f = failed(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")), FailureKind.BAD_DIGEST)
    assert "refused" in f.message


def test_corrupted_body_without_any_digest_header_is_refused(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.strip_digest, proxy.corrupt_body = ("HEAD", "GET"), True
    failed(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")), FailureKind.BAD_DIGEST)


def test_corrupted_index_is_refused_for_a_platform(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.corrupt_body = True
    ref = parse(f"{proxy.hostport}/library/python:3.12")
    failed(client.resolve(ref, platform="linux/arm64"), FailureKind.BAD_DIGEST)


def test_unknown_media_type_is_refused(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.content_type = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    f = failed(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")), FailureKind.UNKNOWN_MEDIA_TYPE)
    assert "prettyjws" in f.message
    proxy.strip_digest = ("HEAD",)  # the GET path checks too
    failed(client.resolve(parse(f"{proxy.hostport}/library/busybox:1.36")), FailureKind.UNKNOWN_MEDIA_TYPE)


def test_media_type_parameters_are_ignored(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.content_type = OCI_INDEX + "; charset=utf-8"
    res = ok(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")))
    assert res.media_type == OCI_INDEX


# -- errors, retries, timeouts ----------------------------------------------------------------


def test_not_found(images: Images, client: RegistryClient) -> None:
    f = failed(client.resolve(parse(f"{images.hostport}/library/python:9.99")), FailureKind.NOT_FOUND)
    assert "9.99" in f.message and "library/python" in f.message
    failed(client.resolve(parse(f"{images.hostport}/no/such/repo:1")), FailureKind.NOT_FOUND)


def test_429_with_retry_after_then_success(images: Images, proxy: Proxy, client: RegistryClient, sleeps: list[float]) -> None:
    proxy.canned = [(429, {"Retry-After": "3"})]
    res = ok(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")))
    assert res.digest == images.digests["library/python:3.12"]
    assert sleeps == [3.0]
    assert len(proxy.log) == 2


def test_429_with_a_long_retry_after_fails_at_once(proxy: Proxy, client: RegistryClient, sleeps: list[float]) -> None:
    proxy.canned = [(429, {"Retry-After": "3600"})]
    f = failed(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")), FailureKind.RATE_LIMITED)
    assert "3600" in f.message and sleeps == [] and len(proxy.log) == 1


def test_429_forever_is_rate_limited_after_bounded_retries(proxy: Proxy, client: RegistryClient, sleeps: list[float]) -> None:
    proxy.canned = [(429, {})] * 10
    failed(client.resolve(parse(f"{proxy.hostport}/library/python:3.12")), FailureKind.RATE_LIMITED)
    assert sleeps == [0.5, 1.0, 2.0] and len(proxy.log) == 4


def test_500_then_success(images: Images, proxy: Proxy, client: RegistryClient, sleeps: list[float]) -> None:
    proxy.canned = [(500, {}), (503, {})]
    res = ok(client.resolve(parse(f"{proxy.hostport}/team/app:1.0")))
    assert res.digest == images.digests["team/app:1.0"]
    assert sleeps == [0.5, 1.0]


def test_500_forever_is_a_server_error(proxy: Proxy, sleeps: list[float]) -> None:
    proxy.canned = [(500, {})] * 10
    with make_client(sleeps, retry=RetryPolicy(attempts=3, backoff=1, max_backoff=1.5)) as c:
        f = failed(c.resolve(parse(f"{proxy.hostport}/team/app:1.0")), FailureKind.SERVER_ERROR)
    assert "500" in f.message and sleeps == [1, 1.5]


def test_registry_down_is_unreachable(client: RegistryClient, sleeps: list[float]) -> None:
    f = failed(client.resolve(parse(f"127.0.0.1:{free_port()}/library/python:3.12")), FailureKind.UNREACHABLE)
    assert "unreachable" in f.message and len(sleeps) == 3


def test_timeout_is_unreachable(images: Images, sleeps: list[float]) -> None:
    with (
        running_proxy(images.base, latency=1.0) as slow,
        make_client(sleeps, timeout=0.2, retry=RetryPolicy(attempts=1)) as c,
    ):
        start = time.monotonic()
        f = failed(c.resolve(parse(f"{slow.hostport}/library/python:3.12")), FailureKind.UNREACHABLE)
    assert "timed out" in f.message and time.monotonic() - start < 1.0


# -- Docker Hub names through a mirror; plain HTTP rules --------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("python:3.12", "library/python:3.12"),
        ("docker.io/library/python:3.12", "library/python:3.12"),
        ("index.docker.io/python:3.12", "library/python:3.12"),
        ("alpine:3.20", "library/alpine:3.20"),
        ("busybox", "library/busybox:latest"),
        ("team/app:1.0", "team/app:1.0"),
    ],
)
def test_docker_hub_names_via_mirror(images: Images, sleeps: list[float], text: str, name: str) -> None:
    with make_client(sleeps, mirrors={"docker.io": images.base}) as c:
        res = ok(c.resolve(parse(text)))
    assert res.digest == images.digests[name]
    assert res.reference == f"docker.io/{name}"


def test_plain_http_only_for_loopback_or_insecure(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404)

    transport = httpx.MockTransport(handler)
    with make_client(sleeps, transport=transport, insecure={"insecure.example:5000", "bare.example"}) as c:
        for text in [
            "registry.example:5000/app:1",
            "insecure.example:5000/app:1",
            "bare.example/app:1",
            "localhost:5000/app:1",
            "[::1]:5000/app:1",
            "127.0.0.2:5000/app:1",
            "python:3",
        ]:
            failed(c.resolve(parse(text)), FailureKind.NOT_FOUND)
    assert seen == [
        "https://registry.example:5000/v2/app/manifests/1",
        "http://insecure.example:5000/v2/app/manifests/1",
        "http://bare.example/v2/app/manifests/1",
        "http://localhost:5000/v2/app/manifests/1",
        "http://[::1]:5000/v2/app/manifests/1",
        "http://127.0.0.2:5000/v2/app/manifests/1",
        "https://registry-1.docker.io/v2/library/python/manifests/3",
    ]


def test_plain_http_mirror_elsewhere_is_refused(sleeps: list[float]) -> None:
    with make_client(sleeps, mirrors={"docker.io": "http://mirror.example:5000"}) as c:
        f = failed(c.resolve(parse("python:3.12")), FailureKind.INSECURE)
        assert c.requests_made == 0
    assert "mirror.example:5000" in f.message
    with make_client(
        sleeps,
        mirrors={"docker.io": "http://mirror.example:5000"},
        insecure={"mirror.example:5000"},
        transport=httpx.MockTransport(lambda r: httpx.Response(404)),
    ) as c:
        failed(c.resolve(parse("python:3.12")), FailureKind.NOT_FOUND)


# -- basic auth -------------------------------------------------------------------------------


def test_basic_auth(basic_registry: Images, sleeps: list[float]) -> None:
    ref = parse(f"{basic_registry.hostport}/private/app:1.0")
    store = CredentialStore(static={basic_registry.hostport: Credentials(USER, PASSWORD)})
    with make_client(sleeps, credentials=store) as c:
        assert ok(c.resolve(ref)).digest == basic_registry.digests["private/app:1.0"]
        assert c.requests_made == 2  # 401, then with basic auth
        assert ok(c.resolve(ref)).digest == basic_registry.digests["private/app:1.0"]
        assert c.requests_made == 3  # the scheme is remembered: no second 401


def test_basic_auth_without_credentials_is_unauthorized(basic_registry: Images, client: RegistryClient) -> None:
    f = failed(client.resolve(parse(f"{basic_registry.hostport}/private/app:1.0")), FailureKind.UNAUTHORIZED)
    assert "docker login" in f.message and "401" in f.message


def test_basic_auth_with_a_wrong_password(basic_registry: Images, sleeps: list[float]) -> None:
    store = CredentialStore(static={basic_registry.hostport: Credentials(USER, "wrong")})
    with make_client(sleeps, credentials=store) as c:
        f = failed(c.resolve(parse(f"{basic_registry.hostport}/private/app:1.0")), FailureKind.UNAUTHORIZED)
    assert "refused the configured credentials" in f.message


# -- bearer tokens ----------------------------------------------------------------------------


def test_bearer_anonymous_pull(bearer_registry: BearerSetup, client: RegistryClient) -> None:
    images, issuer = bearer_registry.images, bearer_registry.issuer
    before = len(issuer.seen)
    res = ok(client.resolve(parse(f"{images.hostport}/library/python:3.12")))
    assert res.digest == images.digests["library/python:3.12"]
    assert issuer.seen[before:] == [(None, [{"type": "repository", "name": "library/python", "actions": ["pull"]}])]


def test_bearer_with_credentials_and_token_cache(bearer_registry: BearerSetup, sleeps: list[float]) -> None:
    images, issuer = bearer_registry.images, bearer_registry.issuer
    store = CredentialStore(static={"*": Credentials("nobody", "x")})  # no entry for this registry
    assert store.lookup(images.hostport) is None
    with running_proxy(images.base) as p:
        store = CredentialStore(static={p.hostport: Credentials(USER, PASSWORD)})
        c = make_client(sleeps, credentials=store)
        before = issuer.requests
        assert ok(c.resolve(parse(f"{p.hostport}/team/app:1.0"))).digest == images.digests["team/app:1.0"]
        assert p.manifest_requests() == 2 and issuer.requests == before + 1  # 401, token, 200
        assert issuer.seen[-1][0] == USER
        assert ok(c.resolve(parse(f"{p.hostport}/team/app:1.0"))).digest == images.digests["team/app:1.0"]
        assert p.manifest_requests() == 3 and issuer.requests == before + 1  # cached token
        assert ok(c.resolve(parse(f"{p.hostport}/team/other:2.0"))).digest == images.digests["team/other:2.0"]
        assert p.manifest_requests() == 4 and issuer.requests == before + 2  # new scope: token first, no 401
        c.close()


def test_bearer_wrong_password(bearer_registry: BearerSetup, sleeps: list[float]) -> None:
    images = bearer_registry.images
    store = CredentialStore(static={images.hostport: Credentials(USER, "wrong")})
    with make_client(sleeps, credentials=store) as c:
        f = failed(c.resolve(parse(f"{images.hostport}/team/app:1.0")), FailureKind.UNAUTHORIZED)
    assert "refused the configured credentials" in f.message


def test_token_expiring_mid_run_is_renewed_once(bearer_registry: BearerSetup, client: RegistryClient) -> None:
    images, issuer = bearer_registry.images, bearer_registry.issuer
    ref = parse(f"{images.hostport}/team/app:1.0")
    issuer.lifetime = 2  # the registry stops accepting it after ~2 s; expires_in still says 300
    try:
        ok(client.resolve(ref))
        first = issuer.requests
        time.sleep(3.1)
        issuer.lifetime = None
        count = client.requests_made
        assert ok(client.resolve(ref)).digest == images.digests["team/app:1.0"]
        assert issuer.requests == first + 1  # renewed once
        assert client.requests_made - count == 3  # 401 with the old token, new token, 200
    finally:
        issuer.lifetime = None


def test_token_renewal_happens_only_once(bearer_registry: BearerSetup, client: RegistryClient) -> None:
    images, issuer = bearer_registry.images, bearer_registry.issuer
    ref = parse(f"{images.hostport}/team/other:2.0")
    issuer.expired_first = 10
    try:
        before = issuer.requests
        failed(client.resolve(ref), FailureKind.UNAUTHORIZED)
        assert issuer.requests == before + 1  # a fresh token that is refused is not retried
        assert client.requests_made == 3  # 401, token, 401
    finally:
        issuer.expired_first = 0


def test_registry_without_head_support(images: Images, proxy: Proxy, client: RegistryClient) -> None:
    proxy.canned = [(405, {})]
    res = ok(client.resolve(parse(f"{proxy.hostport}/library/busybox:1.36")))
    assert res.digest == images.digests["library/busybox:1.36"]
    assert [m for m, _ in proxy.log] == ["HEAD", "GET"]
