"""No credential or token ever appears in output, logs, results, the cache or the lockfile."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from harden.registry import Credentials, CredentialStore, Failure, Resolution, Resolver

from .oci_helpers import PASSWORD, USER, BearerSetup, Images, running_proxy


def test_no_secret_anywhere(
    basic_registry: Images,
    bearer_registry: BearerSetup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log requests at DEBUG/INFO
    issuer = bearer_registry.issuer
    tokens_before = len(issuer.tokens)
    basic_auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    # Credentials the way users have them: `auths` for one registry, a helper for the other.
    helper = tmp_path / "bin" / "docker-credential-leaktest"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\ncat >/dev/null\n" + f"printf '%s' '{json.dumps({'Username': USER, 'Secret': PASSWORD})}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")
    docker_config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    bearer_host = bearer_registry.images.hostport
    docker_config.write_text(
        json.dumps({"auths": {basic_registry.hostport: {"auth": basic_auth}}, "credHelpers": {bearer_host: "leaktest"}})
    )

    project = tmp_path / "project"
    results: list[Resolution | Failure] = []
    refs = [
        f"{basic_registry.hostport}/private/app:1.0",
        f"{basic_registry.hostport}/private/missing:1.0",
        f"{bearer_host}/team/app:1.0",
        f"{bearer_host}/library/python:3.12",
        f"{bearer_host}/team/nope:1",
    ]
    with Resolver(sleep=lambda s: None) as r:
        found = r.resolve_many(refs)
        results += found.values()
        r.updated_lockfile().save(project / "harden.lock")
    assert sum(isinstance(v, Resolution) for v in found.values()) == 3

    # wrong passwords and an expired token: the failure messages must not echo anything either
    wrong = CredentialStore(
        static={basic_registry.hostport: Credentials(USER, PASSWORD + "x"), bearer_host: Credentials(USER, "x")}
    )
    with Resolver(credentials=wrong, cache=False, sleep=lambda s: None) as r:
        results += r.resolve_many(refs).values()
    issuer.expired_first = 1
    try:
        with running_proxy(bearer_registry.images.base) as p, Resolver(cache=False, sleep=lambda s: None) as r:
            results += r.resolve_many([f"{p.hostport}/team/app:1.0"]).values()
    finally:
        issuer.expired_first = 0
    assert any(isinstance(v, Failure) and v.kind == "unauthorized" for v in results)

    tokens = issuer.tokens[tokens_before:]
    assert tokens, "the bearer flow should have issued tokens"
    secrets = [PASSWORD, basic_auth, *tokens, *(t.rsplit(".", 1)[1] for t in tokens)]

    out = capsys.readouterr()
    texts = {
        "stdout": out.out,
        "stderr": out.err,
        "logs": caplog.text,
        "results": "\n".join(f"{v!r}\n{v}" for v in results),
    }
    files = [p for root in (Path(os.environ["XDG_CACHE_HOME"]), project) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "digests.json" for p in files) and any(p.name == "harden.lock" for p in files)
    texts.update({str(p): p.read_text(errors="replace") for p in files})
    assert "HTTP Request" in texts["logs"]  # the logs were captured, so the check below means something
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
    assert basic_auth in docker_config.read_text()  # the grep would have found it
