"""Credentials from Docker's config (auths, credsStore, credHelpers), challenges, token cache."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from harden.images.reference import parse
from harden.images.resolution import OCI_MANIFEST, Failure, Resolution
from harden.registry.auth import (
    DOCKER_HUB_SERVER,
    Credentials,
    CredentialStore,
    TokenCache,
    parse_challenge,
    run_credential_helper,
)
from harden.registry.client import RegistryClient

from .oci_helpers import PASSWORD, USER, Images


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(directory: Path, config: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def fake_helper(bin_dir: Path, name: str, answers: dict[str, dict[str, str]], log: Path) -> None:
    """A `docker-credential-<name>` that logs its stdin and answers from `answers`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"answers = {answers!r}\n"
        "server = sys.stdin.read()\n"
        f"open({str(log)!r}, 'a').write(sys.argv[1] + ' ' + server + '\\n')\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(answers[server]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/python:pull",
            },
        ),
        (
            'Bearer realm="https://r/token",scope="repository:a:pull,push",error="insufficient_scope"',
            "bearer",
            {"realm": "https://r/token", "scope": "repository:a:pull,push", "error": "insufficient_scope"},
        ),
        ('Basic realm="test"', "basic", {"realm": "test"}),
        ("BASIC realm=unquoted", "basic", {"realm": "unquoted"}),
        ('Bearer realm="a \\"quoted\\" realm"', "bearer", {"realm": 'a "quoted" realm'}),
    ],
)
def test_parse_challenge(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = parse_challenge(header)
    assert challenge is not None
    assert (challenge.scheme, dict(challenge.params)) == (scheme, params)


def test_parse_empty_challenge() -> None:
    assert parse_challenge("") is None


def test_auths_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DOCKER_CONFIG",
        str(
            write_config(
                tmp_path / "cfg",
                {
                    "auths": {
                        DOCKER_HUB_SERVER: {"auth": b64("hubuser:hubpass")},
                        "https://ghcr.io/v2/": {"auth": b64("gh:tok:with:colons")},
                        "localhost:5000": {"username": "u", "password": "p"},
                        "token.example": {"identitytoken": "refresh-me"},
                        "broken.example": {"auth": "%%%not-base64"},
                        "empty.example": {},
                    }
                },
            )
        ),
    )
    store = CredentialStore()
    assert store.lookup("docker.io") == Credentials("hubuser", "hubpass")
    assert store.lookup("index.docker.io") == Credentials("hubuser", "hubpass")
    assert store.lookup("ghcr.io") == Credentials("gh", "tok:with:colons")
    assert store.lookup("localhost:5000") == Credentials("u", "p")
    assert store.lookup("token.example") == Credentials("", "refresh-me", identity_token=True)
    assert store.lookup("broken.example") is None
    assert store.lookup("empty.example") is None
    assert store.lookup("quay.io") is None


def test_missing_or_invalid_config(tmp_path: Path) -> None:
    assert CredentialStore(tmp_path / "absent.json").lookup("docker.io") is None
    (tmp_path / "bad.json").write_text("[1, 2")
    assert CredentialStore(tmp_path / "bad.json").lookup("docker.io") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert CredentialStore(tmp_path / "list.json").lookup("docker.io") is None


def test_home_config_without_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    write_config(tmp_path / ".docker", {"auths": {"r.example": {"auth": b64("a:b")}}})
    assert CredentialStore.default_config_path() == tmp_path / ".docker" / "config.json"
    assert CredentialStore().lookup("r.example") == Credentials("a", "b")


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "helper.log"
    fake_helper(
        tmp_path / "bin",
        "store",
        {DOCKER_HUB_SERVER: {"ServerURL": DOCKER_HUB_SERVER, "Username": "hub", "Secret": "s1"}},
        log,
    )
    fake_helper(
        tmp_path / "bin",
        "gcr",
        {"gcr.io": {"Username": "_json", "Secret": "s2"}, "eu.gcr.io": {"Username": "<token>", "Secret": "rt"}},
        log,
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    config = {
        "credsStore": "store",
        "credHelpers": {"gcr.io": "gcr", "eu.gcr.io": "gcr"},
        "auths": {"plain.example": {"auth": b64("x:y")}, "gcr.io": {"auth": b64("ignored:ignored")}},
    }
    store = CredentialStore(write_config(tmp_path / "cfg", config) / "config.json")
    assert store.lookup("docker.io") == Credentials("hub", "s1")
    assert store.lookup("gcr.io") == Credentials("_json", "s2")  # credHelpers win over auths
    assert store.lookup("eu.gcr.io") == Credentials("", "rt", identity_token=True)
    assert store.lookup("plain.example") == Credentials("x", "y")  # the store has none: auths
    assert store.lookup("gcr.io") == Credentials("_json", "s2")  # remembered: no second call
    assert log.read_text().splitlines() == [
        f"get {DOCKER_HUB_SERVER}",
        "get gcr.io",
        "get eu.gcr.io",
        "get plain.example",
    ]


def test_missing_helper_is_no_credentials() -> None:
    assert run_credential_helper("harden-test-does-not-exist", "x") is None


def test_credentials_repr_hides_the_secret() -> None:
    creds = Credentials("alice", "hunter2")
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)
    assert "alice" in repr(creds)


def test_token_cache_expiry() -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    cache.put("r", "repository:a:pull", "t1", 300)
    assert cache.get("r", "repository:a:pull") == "t1"
    assert cache.get("r", "repository:b:pull") is None
    now[0] += 289
    assert cache.get("r", "repository:a:pull") == "t1"
    now[0] += 2  # within the 10 s safety margin
    assert cache.get("r", "repository:a:pull") is None
    cache.put("r", "s", "t2", 60)
    cache.drop("r", "s", "other-token")  # only drops the token it was asked to
    assert cache.get("r", "s") == "t2"
    cache.drop("r", "s", "t2")
    assert cache.get("r", "s") is None


def test_helper_against_basic_auth_registry(basic_registry: Images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "helper.log"
    answer = {"Username": USER, "Secret": PASSWORD}
    fake_helper(tmp_path / "bin", "harden-test", {basic_registry.hostport: answer}, log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    write_config(Path(os.environ["DOCKER_CONFIG"]), {"credHelpers": {basic_registry.hostport: "harden-test"}})
    with RegistryClient(sleep=lambda s: None) as client:
        res = client.resolve(parse(f"{basic_registry.hostport}/private/app:1.0"))
    assert isinstance(res, Resolution) and res.digest == basic_registry.digests["private/app:1.0"]
    assert log.read_text() == f"get {basic_registry.hostport}\n"


def test_identity_token_uses_the_oauth2_refresh_flow() -> None:
    """An identity token (`<token>` from a helper) is exchanged with POST grant_type=refresh_token."""
    seen: list[httpx.Request] = []
    digest = "sha256:" + "c" * 64

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "acc-1", "expires_in": 120})
        if request.headers.get("Authorization") != "Bearer acc-1":
            challenge = 'Bearer realm="https://auth.example/token",service="svc"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, headers={"Docker-Content-Digest": digest, "Content-Type": OCI_MANIFEST})

    store = CredentialStore(static={"reg.example": Credentials("", "refresh-1", identity_token=True)})
    with RegistryClient(credentials=store, transport=httpx.MockTransport(handler)) as client:
        res = client.resolve(parse("reg.example/team/app:1"))
    assert isinstance(res, Resolution) and res.digest == digest
    token_request = seen[1]
    assert token_request.method == "POST"
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form == {
        "scope": "repository:team/app:pull",
        "service": "svc",
        "grant_type": "refresh_token",
        "refresh_token": "refresh-1",
        "client_id": "harden",
    }


def test_token_realm_over_plain_http_elsewhere_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.example/token"'})

    store = CredentialStore(static={"reg.example": Credentials("u", "secret")})
    with RegistryClient(credentials=store, transport=httpx.MockTransport(handler)) as client:
        res = client.resolve(parse("reg.example/team/app:1"))
        assert client.requests_made == 1  # the credentials never went out over plain HTTP
    assert isinstance(res, Failure) and res.kind == "insecure"
