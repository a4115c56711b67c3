"""Hostile and broken registries: trickled bytes, huge answers, redirects, lies, malformed JSON.

Each test here failed before the fix it guards (see the commit that added it), except the
ones marked as documenting a behaviour that was already right. The real `docker-registry`
serves whatever it can; `fake_server` plays the misbehaviour it cannot.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harden.images.reference import parse
from harden.images.resolution import DOCKER_MANIFEST, Failure, FailureKind, Resolution
from harden.registry import Resolver
from harden.registry.auth import CredentialHelperError, Credentials, CredentialStore, run_credential_helper
from harden.registry.client import RegistryClient, RetryPolicy

from .fake_server import CHUNK, OCI_INDEX, OCI_MANIFEST, Exchange, fake_server, repeat, sha
from .oci_helpers import PASSWORD, USER, Images

ROOT = Path(__file__).resolve().parents[2]
HUNDRED_MB = 100 * 1024 * 1024
A_DIGEST = "sha256:" + "a" * 64


def client(**kw: object) -> RegistryClient:
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("credentials", CredentialStore())
    return RegistryClient(**kw)  # type: ignore[arg-type]


def resolve_within(c: RegistryClient, text: str, platform: str | None = None, bound: float = 20.0) -> Resolution | Failure:
    """Resolve in a thread and give up after `bound` seconds: a generous limit that proves a hang is gone."""
    result: list[Resolution | Failure] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(c.resolve(parse(text), platform))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(bound)
    if errors:
        raise errors[0]
    assert result, f"no answer within {bound} s: the client hangs"
    return result[0]


def failed(result: Resolution | Failure, kind: FailureKind) -> Failure:
    assert isinstance(result, Failure), result
    assert result.kind == kind, result
    return result


def manifest_body(config: bytes = b"{}") -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
            "layers": [],
        }
    ).encode()


# -- 1. deadlines: per request and per run ------------------------------------------------------


def test_trickled_headers_end_at_the_request_deadline() -> None:
    """One byte every 50 ms never trips httpx's per-read timeout; the whole-request deadline does."""

    def respond(ex: Exchange) -> None:
        ex.trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 5000 + b"\r\n\r\n")

    with fake_server(respond) as fake, client(timeout=1.0, retry=RetryPolicy(attempts=2)) as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.UNREACHABLE)
    assert "timed out" in f.message
    assert [s.method for s in fake.seen] == ["HEAD", "HEAD"]  # each attempt has its own deadline


def test_trickled_body_ends_at_the_request_deadline() -> None:
    def respond(ex: Exchange) -> None:
        if ex.method == "HEAD":
            ex.reply(405)
            return
        ex.handler.send_response(200)
        ex.handler.send_header("Content-Type", OCI_MANIFEST)
        ex.handler.send_header("Content-Length", "100000")
        ex.handler.end_headers()
        ex.trickle(b"{" * 100000)

    with fake_server(respond) as fake, client(timeout=1.0, retry=RetryPolicy(attempts=1)) as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.UNREACHABLE)
    assert "timed out" in f.message


def test_run_timeout_fails_what_is_unanswered_and_resolves_the_rest(images: Images) -> None:
    progress: list[tuple[int, int, int]] = []

    def report(resolved: int, total: int, from_cache: int) -> None:
        progress.append((resolved, total, from_cache))

    with fake_server(lambda ex: ex.hang()) as fake:
        refs = [f"{fake.hostport}/silent/app:1", f"{images.hostport}/library/busybox:1.36"]
        with Resolver(cache=False, timeout=60, run_timeout=1.0, sleep=lambda s: None, progress=report) as r:
            start = time.monotonic()
            results = r.resolve_many(refs)
            elapsed = time.monotonic() - start
    slow, fine = results[refs[0]], results[refs[1]]
    assert isinstance(fine, Resolution) and fine.digest == images.digests["library/busybox:1.36"]
    f = failed(slow, FailureKind.TIMED_OUT)
    assert f.message == f"timed out: no answer from {fake.hostport} within the run's 1 s (--timeout)"
    assert progress[-1] == (2, 2, 0)  # the progress line is finished
    assert elapsed < 15  # generous: the per-request timeout (60 s) did not decide


def test_run_timeout_does_not_wait_for_a_stuck_worker(basic_registry: Images) -> None:
    """A worker stuck outside any socket (here a credential helper) is left behind, not awaited."""
    entered, release = threading.Event(), threading.Event()

    def stuck_helper(helper: str, server_url: str) -> Credentials | None:
        entered.set()
        release.wait(60)
        return None

    config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    config.write_text(json.dumps({"credHelpers": {basic_registry.hostport: "stuck"}}))
    store = CredentialStore(config, helper_runner=stuck_helper)
    try:
        with Resolver(cache=False, credentials=store, run_timeout=0.5, sleep=lambda s: None) as r:
            results = r.resolve_many([f"{basic_registry.hostport}/private/app:1.0"])
            still_stuck = entered.is_set() and not release.is_set()
    finally:
        release.set()
    failed(next(iter(results.values())), FailureKind.TIMED_OUT)
    assert still_stuck


# -- 2. bodies are streamed and bounded ------------------------------------------------------------

_MEASURE = """
import json, resource, sys
from harden.registry.client import RegistryClient, RetryPolicy
from harden.images.reference import parse
with RegistryClient(timeout=60, retry=RetryPolicy(attempts=1), sleep=lambda s: None) as c:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = c.resolve(parse(sys.argv[1]), sys.argv[2] or None)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kind, message = str(getattr(result, "kind", "")), getattr(result, "message", "")
print(json.dumps({"kind": kind, "message": message, "growth_kib": after - before}))
"""


def gzip_bomb(total: int) -> Iterator[bytes]:
    """`total` zero bytes gzip-compressed (about a thousandth of that), produced lazily."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * 65536
    for _ in range(total // len(zeros)):
        if out := packer.compress(zeros):
            yield out
    yield packer.flush()


def huge_answers(case: str) -> tuple[object, str | None]:
    """A fake registry for `case` whose one big answer is 100 MB, and the platform to ask for."""
    config = b'{"os": "linux", "architecture": "amd64"}'
    manifest = manifest_body(config)
    bomb = b"".join(gzip_bomb(HUNDRED_MB)) if case == "gzip bomb" else b""

    def respond(ex: Exchange) -> None:
        if ex.path.startswith("/token"):
            ex.stream(200, {"Content-Type": "application/json"}, repeat(CHUNK, HUNDRED_MB))
        elif case == "token":
            ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token"'})
        elif ex.method == "HEAD":
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Content-Length": "0"})  # no digest: GET follows
        elif "/blobs/" in ex.path:
            ex.stream(200, {"Content-Type": "application/octet-stream"}, repeat(CHUNK, HUNDRED_MB))
        elif case == "config":
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": sha(manifest)}, manifest)
        elif case == "gzip bomb":
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Content-Encoding": "gzip"}, bomb)
        else:
            ex.stream(200, {"Content-Type": OCI_MANIFEST}, repeat(CHUNK, HUNDRED_MB))

    return respond, "linux/amd64" if case == "config" else None


@pytest.mark.parametrize("case", ["manifest", "config", "token", "gzip bomb"])
def test_a_100_mb_answer_is_refused_in_little_memory(case: str) -> None:
    """Measured in a fresh process: peak memory must not grow by anything near 100 MB."""
    respond, platform = huge_answers(case)
    with fake_server(respond) as fake:  # type: ignore[arg-type]
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, f"{fake.hostport}/team/app:1", platform or ""],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["kind"] == "bad_response", outcome
    assert outcome["growth_kib"] < 60 * 1024, outcome


def test_a_content_length_beyond_the_limit_is_refused_without_reading() -> None:
    """The header says 100 MB and the server then stalls: refused at once, not after a timeout."""

    def respond(ex: Exchange) -> None:
        if ex.method == "HEAD":
            ex.reply(405)
            return
        ex.handler.send_response(200)
        ex.handler.send_header("Content-Type", OCI_MANIFEST)
        ex.handler.send_header("Content-Length", str(HUNDRED_MB))
        ex.handler.end_headers()
        ex.handler.wfile.write(b"{}")
        ex.hang()

    with fake_server(respond) as fake, client(timeout=5.0, retry=RetryPolicy(attempts=1)) as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.BAD_RESPONSE)
    assert "too large" in f.message and str(HUNDRED_MB) in f.message


# -- 3. redirects: the plain-HTTP rule on every hop; credentials stay with their host --------------


def test_a_loopback_mirror_redirecting_to_plain_http_elsewhere_is_refused() -> None:
    def respond(ex: Exchange) -> None:
        ex.reply(307, {"Location": f"http://user:hunter2@registry.invalid:5000{ex.path}"})

    with fake_server(respond) as fake, client(mirrors={"docker.io": fake.base}) as c:
        f = failed(resolve_within(c, "python:3.12"), FailureKind.INSECURE)
        assert c.requests_made == 1  # the hop was never sent
    assert "registry.invalid:5000" in f.message and "hunter2" not in f.message and "user" not in f.message


def test_a_token_realm_redirecting_to_plain_http_elsewhere_is_refused() -> None:
    def respond(ex: Exchange) -> None:
        if ex.path.startswith("/token"):
            ex.reply(302, {"Location": "http://auth.invalid/token"})
        else:
            ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token",service="reg"'})

    with fake_server(respond) as fake:
        store = CredentialStore(static={fake.hostport: Credentials(USER, PASSWORD)})
        with client(credentials=store) as c:
            f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.INSECURE)
    assert "auth.invalid" in f.message and PASSWORD not in f.message
    assert [s.path.split("?")[0] for s in fake.seen] == ["/v2/team/app/manifests/1", "/token"]


def test_credentials_are_not_sent_to_another_host_after_a_redirect() -> None:
    """Documents httpx's behaviour the client relies on: Authorization is dropped across origins.

    Registry A demands a token; its realm redirects to B, and so does the manifest once
    authorised. B must never see A's basic credentials or A's bearer token.
    """

    def respond_b(ex: Exchange) -> None:
        if ex.path.startswith("/token"):
            ex.reply_json(200, {"token": "token-for-a", "expires_in": 300})
        else:
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": A_DIGEST})

    with fake_server(respond_b) as b:

        def respond_a(ex: Exchange) -> None:
            if ex.path.startswith("/token") or ex.headers.get("authorization") == "Bearer token-for-a":
                ex.reply(307, {"Location": f"{b.base}{ex.path}"})
            else:
                ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token",service="a"'})

        with fake_server(respond_a) as a:
            store = CredentialStore(static={a.hostport: Credentials(USER, PASSWORD)})
            with client(credentials=store) as c:
                res = resolve_within(c, f"{a.hostport}/team/app:1")
    assert isinstance(res, Resolution) and res.digest == A_DIGEST
    assert [s.headers.get("authorization", "")[:6] for s in a.seen] == ["", "Basic ", "Bearer"]
    assert [s.path.split("?")[0] for s in b.seen] == ["/token", "/v2/team/app/manifests/1"]
    assert all("authorization" not in s.headers for s in b.seen)


def test_a_refresh_token_is_not_posted_to_another_host_after_a_redirect() -> None:
    """httpx drops Authorization across origins, but a 307 keeps a POST's body: the refresh token."""
    with fake_server(lambda ex: ex.reply_json(200, {"access_token": "t"})) as b:

        def respond_a(ex: Exchange) -> None:
            if ex.path.startswith("/token"):
                ex.reply(307, {"Location": f"{b.base}/token"})
            else:
                ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token",service="a"'})

        with fake_server(respond_a) as a:
            store = CredentialStore(static={a.hostport: Credentials("", "refresh-secret", identity_token=True)})
            with client(credentials=store) as c:
                f = failed(resolve_within(c, f"{a.hostport}/team/app:1"), FailureKind.INSECURE)
    assert b.seen == []
    assert b.hostport in f.message and "refresh-secret" not in f.message


def test_a_redirect_loop_is_refused_not_raised() -> None:
    with fake_server(lambda ex: ex.reply(302, {"Location": ex.path})) as fake, client() as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.BAD_RESPONSE)
    assert "redirected more than 10 times" in f.message
    assert len(fake.seen) == 11


def test_environment_proxies_are_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents a behaviour kept: HTTP_PROXY applies, as it does for httpx by default."""

    def respond(ex: Exchange) -> None:
        ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": A_DIGEST})

    with fake_server(respond) as proxy:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.base)
        with client(insecure={"registry.invalid:5000"}) as c:
            res = resolve_within(c, "registry.invalid:5000/team/app:1")
    assert isinstance(res, Resolution) and res.digest == A_DIGEST
    assert [s.path for s in proxy.seen] == ["http://registry.invalid:5000/v2/team/app/manifests/1"]


# -- 5. a fetched manifest must be a schema 2 JSON object of the type it is served as ------------


@pytest.mark.parametrize(
    "body",
    [
        b"this is not JSON",
        b"[1, 2, 3]",
        b'"a manifest"',
        b"[" * 100_000,
        json.dumps({"schemaVersion": 1, "mediaType": OCI_MANIFEST}).encode(),
        json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST}).encode(),
    ],
    ids=["text", "array", "string", "deeply nested", "schema 1", "other mediaType"],
)
def test_a_manifest_that_is_not_a_schema_2_object_is_refused(body: bytes) -> None:
    def respond(ex: Exchange) -> None:
        if ex.method == "HEAD":
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Content-Length": "0"})  # no digest: GET follows
        else:
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": sha(body)}, body)

    with fake_server(respond) as fake, client() as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.BAD_RESPONSE)
    assert "refused" in f.message


# -- 6. a HEAD digest is trusted without a body (a decision, see the client's docstring) ---------


def test_a_head_digest_is_used_without_fetching_the_body() -> None:
    """Documents the decision: the digest a HEAD answer names is pinned as is; no GET is made."""

    def respond(ex: Exchange) -> None:
        body = b"whatever a GET would return"
        ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": A_DIGEST}, body)

    with fake_server(respond) as fake, client() as c:
        res = resolve_within(c, f"{fake.hostport}/team/app:1")
    assert isinstance(res, Resolution) and res.digest == A_DIGEST
    assert [s.method for s in fake.seen] == ["HEAD"]


# -- 7. more of the same kind --------------------------------------------------------------------


def test_a_retry_after_that_is_a_unicode_digit_does_not_crash() -> None:
    """`"²".isdigit()` is True but float("²") raises: the header was parsed with isdigit alone."""
    sleeps: list[float] = []
    with fake_server(lambda ex: ex.reply(429, {"Retry-After": "\u00b2"})) as fake, client(sleep=sleeps.append) as c:
        failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.RATE_LIMITED)
    assert sleeps == [0.5, 1.0, 2.0]  # the ordinary backoff


def test_a_huge_unquoted_challenge_is_parsed_in_linear_time() -> None:
    """The parameter regex was searched from every position: 60 KB of `a` took about a minute."""
    challenge = "Bearer " + "a" * 60_000
    with fake_server(lambda ex: ex.reply(401, {"WWW-Authenticate": challenge})) as fake, client() as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1", bound=10.0), FailureKind.UNAUTHORIZED)
    assert "unusable token realm" in f.message


def test_a_token_lifetime_too_large_for_a_float_does_not_crash() -> None:
    def respond(ex: Exchange) -> None:
        if ex.path.startswith("/token"):
            ex.reply(200, {"Content-Type": "application/json"}, b'{"token": "t", "expires_in": 1' + b"0" * 400 + b"}")
        elif ex.headers.get("authorization") == "Bearer t":
            ex.reply(200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": A_DIGEST})
        else:
            ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token"'})

    with fake_server(respond) as fake, client() as c:
        res = resolve_within(c, f"{fake.hostport}/team/app:1")
    assert isinstance(res, Resolution) and res.digest == A_DIGEST


@pytest.mark.parametrize("token", ["t\u00f6k\u00e9n", "tok\r\nX-Injected: 1", "two words"])
def test_a_token_that_cannot_be_a_header_value_is_refused(token: str) -> None:
    def respond(ex: Exchange) -> None:
        if ex.path.startswith("/token"):
            ex.reply_json(200, {"token": token})
        else:
            ex.reply(401, {"WWW-Authenticate": f'Bearer realm="http://{ex.headers["host"]}/token"'})

    with fake_server(respond) as fake, client() as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.UNAUTHORIZED)
    assert "unusable token" in f.message
    assert len(fake.seen) == 2  # the token was never sent


@pytest.mark.parametrize("body", [b"[" * 100_000, b"\xff\xfe\xfd not UTF-8", b'{"errors": [{"code": "\xc3\x84\xc3\x96"}]}'])
def test_hostile_error_bodies_are_a_plain_not_found(body: bytes) -> None:
    def respond(ex: Exchange) -> None:
        if ex.method == "HEAD":
            ex.reply(405)
        else:
            ex.reply(404, {"Content-Type": "application/json"}, body)

    with fake_server(respond) as fake, client() as c:
        f = failed(resolve_within(c, f"{fake.hostport}/team/app:1"), FailureKind.NOT_FOUND)
    assert f.message == f"1 not found in team/app on {fake.hostport}"


def test_an_index_entry_with_a_non_string_media_type_is_skipped() -> None:
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"platform": {"os": "linux", "architecture": "amd64"}, "digest": A_DIGEST, "mediaType": ["x"]}],
        }
    ).encode()

    def respond(ex: Exchange) -> None:
        ex.reply(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": sha(index)}, index)

    with fake_server(respond) as fake, client() as c:
        failed(resolve_within(c, f"{fake.hostport}/team/app:1", "linux/amd64"), FailureKind.PLATFORM_NOT_FOUND)


def hanging_helper(tmp_path: Path) -> Path:
    script = tmp_path / "bin" / "docker-credential-hang"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script.parent


def test_a_credential_helper_that_hangs_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{hanging_helper(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    start = time.monotonic()
    with pytest.raises(CredentialHelperError, match="docker-credential-hang did not answer within 0.5 s"):
        run_credential_helper("hang", "registry.example", timeout=0.5)
    assert time.monotonic() - start < 10


def test_a_hung_credential_helper_is_named_when_the_registry_refuses(
    basic_registry: Images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "no credentials are configured": they are, and their helper did not answer."""
    monkeypatch.setenv("PATH", f"{hanging_helper(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    config.write_text(json.dumps({"credHelpers": {basic_registry.hostport: "hang"}}))
    store = CredentialStore(config, helper_runner=functools.partial(run_credential_helper, timeout=0.5))
    with client(credentials=store) as c:
        f = failed(resolve_within(c, f"{basic_registry.hostport}/private/app:1.0"), FailureKind.UNAUTHORIZED)
    assert "docker-credential-hang did not answer within 0.5 s" in f.message


def test_the_command_line_timeout_bounds_the_whole_run(tmp_path: Path) -> None:
    """`harden check --timeout 1` against a registry that never answers: the run ends, and the
    reference is reported as timed out (exit 1: a finding, the other rules still ran)."""
    from click.testing import CliRunner

    from harden.cli import main

    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER nobody\n")
    with fake_server(lambda ex: ex.hang()) as fake:
        start = time.monotonic()
        arguments = ["check", "--timeout", "1", "--registry-mirror", f"docker.io={fake.base}", str(tmp_path)]
        result = CliRunner().invoke(main, arguments, catch_exceptions=False)
        elapsed = time.monotonic() - start
    assert result.exit_code == 1, result.stderr
    assert "could not resolve docker.io/library/alpine:3.20: timed out: no answer from docker.io" in result.stderr
    assert "within the run's 1 s (--timeout)" in result.stderr
    assert elapsed < 9  # generous: the per-request deadline (10 s) did not decide
