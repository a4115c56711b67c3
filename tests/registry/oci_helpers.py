"""Real components on 127.0.0.1 for the registry tests and benchmark (RECIPES.md section 1).

- `start_registry`: a real `docker-registry` (distribution 2.8) on a free port;
- `push_image` / `push_index`: push OCI or Docker manifests, indexes and manifest lists;
- `Proxy`: a ThreadingHTTPServer in front of the registry that counts requests and injects
  faults (canned statuses, a stripped digest header, a corrupted body, a foreign media type,
  latency);
- `TokenIssuer`: a bearer-token service whose ES256 JWTs the registry verifies.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
REGISTRY_BIN = "/usr/bin/docker-registry"
USER = "alice"
PASSWORD = "pw-Zq81xK-registry-secret"  # distinctive, so the leak test can grep for it


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    """A port nothing listens on (bound, then released): a registry that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningRegistry:
    proc: subprocess.Popen[bytes]
    base: str
    workdir: Path

    @property
    def hostport(self) -> str:
        return self.base.removeprefix("http://")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start_registry(workdir: Path, extra_yaml: str = "", binary: str = REGISTRY_BIN) -> RunningRegistry:
    """Start `docker-registry serve` on 127.0.0.1 port 0 and read the port from its log."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    (workdir / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n" + extra_yaml
    )
    log = workdir / "registry.log"
    with log.open("w") as out:
        proc = subprocess.Popen([binary, "serve", str(workdir / "config.yml")], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if m := re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text()):
            return RunningRegistry(proc, f"http://127.0.0.1:{m.group(1)}", workdir)
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise RuntimeError(log.read_text())


def push_blob(c: httpx.Client, base: str, repo: str, data: bytes) -> dict[str, Any]:
    r = c.post(f"{base}/v2/{repo}/blobs/uploads/")
    assert r.status_code == 202, r.text
    loc = httpx.URL(base).join(r.headers["Location"])
    r = c.put(
        loc.copy_merge_params({"digest": sha(data)}),
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    return {"digest": sha(data), "size": len(data)}


def push_manifest(c: httpx.Client, base: str, repo: str, ref: str | None, obj: dict[str, Any], media_type: str) -> dict[str, Any]:
    body = json.dumps(obj, separators=(",", ":")).encode()
    r = c.put(f"{base}/v2/{repo}/manifests/{ref or sha(body)}", content=body, headers={"Content-Type": media_type})
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == sha(body), r.text
    return {"mediaType": media_type, "digest": sha(body), "size": len(body)}


def push_image(
    c: httpx.Client,
    base: str,
    repo: str,
    tag: str | None,
    os_: str = "linux",
    arch: str = "amd64",
    docker: bool = False,
    salt: str = "",
) -> dict[str, Any]:
    """Push a one-layer image as an OCI manifest (or Docker schema 2 with `docker=True`)."""
    buf = io.BytesIO()
    content = (arch + salt).encode()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("arch.txt")
        ti.size = len(content)
        tf.addfile(ti, io.BytesIO(content))
    tar = buf.getvalue()
    cfg = json.dumps(
        {
            "architecture": arch,
            "os": os_,
            "config": {"User": "1000"},
            "rootfs": {"type": "layers", "diff_ids": [sha(tar)]},
        }
    ).encode()
    if docker:
        config_type, layer_type, media_type = (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            DOCKER_MANIFEST,
        )
    else:
        config_type, layer_type, media_type = (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            OCI_MANIFEST,
        )
    m = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, **push_blob(c, base, repo, cfg)},
        "layers": [{"mediaType": layer_type, **push_blob(c, base, repo, gzip.compress(tar, mtime=0))}],
    }
    return push_manifest(c, base, repo, tag, m, media_type)


def push_index(
    c: httpx.Client,
    base: str,
    repo: str,
    tag: str,
    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64")),
    docker: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Push a multi-platform OCI index (or Docker manifest list): (index, {platform: child digest})."""
    children = []
    for o, a in platforms:
        child = push_image(c, base, repo, None, o, a, docker=docker)
        children.append(dict(child, platform={"os": o, "architecture": a}))
    media_type = DOCKER_LIST if docker else OCI_INDEX
    index = push_manifest(c, base, repo, tag, {"schemaVersion": 2, "mediaType": media_type, "manifests": children}, media_type)
    return index, {f"{o}/{a}": ch["digest"] for (o, a), ch in zip(platforms, children, strict=True)}


@dataclass
class Images:
    """A running registry and the digests of what was pushed into it."""

    registry: RunningRegistry
    digests: dict[str, str] = field(default_factory=dict)  # "repo:tag" -> digest
    platforms: dict[str, dict[str, str]] = field(default_factory=dict)  # "repo:tag" -> {platform: digest}

    @property
    def base(self) -> str:
        return self.registry.base

    @property
    def hostport(self) -> str:
        return self.registry.hostport


# -- a fault-injecting, counting proxy --------------------------------------------------------


@dataclass
class Proxy:
    """Forward every request to `upstream`; count them; inject the faults that are set.

    `canned` responses (status, headers) are answered, in order, instead of forwarding.
    """

    upstream: str
    latency: float = 0.0
    strip_digest: tuple[str, ...] = ()  # methods whose answers lose Docker-Content-Digest
    corrupt_body: bool = False
    content_type: str | None = None
    canned: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def hostport(self) -> str:
        return self.base.removeprefix("http://")

    def manifest_requests(self) -> int:
        with self._lock:
            return sum("/manifests/" in path for _, path in self.log)

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    def start(self) -> Proxy:
        proxy = self
        upstream = httpx.Client(base_url=self.upstream, timeout=30, follow_redirects=False)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                with proxy._lock:
                    proxy.log.append((self.command, self.path))
                    canned = proxy.canned.pop(0) if proxy.canned else None
                if proxy.latency:
                    time.sleep(proxy.latency)
                if canned is not None:
                    status, headers = canned
                    body = json.dumps({"errors": [{"code": "INJECTED", "message": "injected"}]}).encode()
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                skip = {"host", "connection", "content-length", "accept-encoding"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                r = upstream.request(self.command, self.path, headers=headers, content=data)
                body = r.content
                is_manifest = "/manifests/" in self.path
                if proxy.corrupt_body and is_manifest and self.command == "GET" and body:
                    body = body[:-1] + b" " + body[-1:]  # still valid JSON, a different digest
                self.send_response(r.status_code)
                drop = {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}
                for k, v in r.headers.multi_items():
                    if k.lower() in drop:
                        continue
                    if self.command in proxy.strip_digest and k.lower() == "docker-content-digest":
                        continue
                    if proxy.content_type and is_manifest and k.lower() == "content-type":
                        v = proxy.content_type
                    self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", r.headers.get("Content-Length", "0"))
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._upstream_client = upstream
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._upstream_client.close()


@contextlib.contextmanager
def running_proxy(upstream: str, **faults: Any) -> Iterator[Proxy]:
    proxy = Proxy(upstream, **faults).start()
    try:
        yield proxy
    finally:
        proxy.stop()


# -- bearer tokens ----------------------------------------------------------------------------


class TokenIssuer:
    """RECIPES.md 1.4: anonymous gets pull; `users` get what they ask. Records every token issued.

    The first `expired_first` tokens are already expired (beyond the registry's 60 s leeway),
    and with `lifetime` set new tokens expire after that many seconds, while `expires_in`
    still says 300: a token that expires mid-run.
    """

    def __init__(self, users: dict[str, str], issuer: str = "test-issuer", service: str = "test-registry") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        self.users, self.issuer, self.service = users, issuer, service
        self.seen: list[tuple[str | None, list[dict[str, Any]]]] = []
        self.tokens: list[str] = []
        self.expired_first = 0
        self.lifetime: int | None = None  # seconds the registry accepts new tokens (None: 300)
        self.requests = 0
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "token-signer")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                q = parse_qs(urlparse(self.path).query)
                user, auth = None, self.headers.get("Authorization", "")
                with lock:
                    outer.requests += 1
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if outer.users.get(u) != p:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    user = u
                access = []
                for scope in " ".join(q.get("scope", [])).split():
                    typ, rest = scope.split(":", 1)
                    name, _, acts = rest.rpartition(":")
                    actions = acts.split(",") if user else [x for x in acts.split(",") if x == "pull"]
                    access.append({"type": typ, "name": name, "actions": actions})
                with lock:
                    outer.seen.append((user, access))
                    expired = outer.expired_first > 0
                    outer.expired_first -= 1 if expired else 0
                token = outer.sign(user or "", access, expired=expired)
                with lock:
                    outer.tokens.append(token)
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def sign(self, sub: str, access: list[dict[str, Any]], expired: bool = False) -> str:
        import jwt
        from cryptography.hazmat.primitives import serialization

        now, der = int(time.time()), self.cert.public_bytes(serialization.Encoding.DER)
        leeway = 60  # distribution accepts a token until 60 s after its exp
        exp = now - 2 * leeway if expired else now + (self.lifetime - leeway if self.lifetime else 300)
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.service,
            "iat": now - 200 if expired else now,
            "nbf": now - 200 if expired else now - 10,
            "exp": exp,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [base64.b64encode(der).decode()]})

    def registry_yaml(self, bundle_path: Path) -> str:
        from cryptography.hazmat.primitives import serialization

        bundle_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return (
            f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.service}\n"
            f"    issuer: {self.issuer}\n    rootcertbundle: {bundle_path}\n"
        )

    def __enter__(self) -> TokenIssuer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class BearerAuth(httpx.Auth):
    """For pushing in tests: 401 -> challenge -> token from the realm -> retry."""

    def __init__(self, creds: tuple[str, str] | None = None) -> None:
        self.creds = creds

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        resp = yield request
        ch = resp.headers.get("WWW-Authenticate", "")
        if resp.status_code == 401 and ch.startswith("Bearer "):
            p = dict(re.findall(r'(\w+)="([^"]*)"', ch))
            params = {k: p[k] for k in ("service", "scope") if k in p}
            t = httpx.get(p["realm"], params=params, auth=self.creds)
            request.headers["Authorization"] = "Bearer " + t.json()["token"]
            yield request


@dataclass
class BearerSetup:
    images: Images
    issuer: TokenIssuer
