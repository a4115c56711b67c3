"""The reference grammar (distribution/reference) and Docker's normalisation, as a table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harden.images.reference import Reference, ReferenceError, parse

D = "sha256:" + "a" * 64
D2 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "b" * 128

VALID: list[tuple[str, str, str, str | None, str | None]] = [
    # text, registry, repository, tag, digest
    ("python", "docker.io", "library/python", None, None),
    ("python:3.12", "docker.io", "library/python", "3.12", None),
    ("python:3.12-slim-bookworm", "docker.io", "library/python", "3.12-slim-bookworm", None),
    ("library/python:3.12", "docker.io", "library/python", "3.12", None),
    ("docker.io/python:3.12", "docker.io", "library/python", "3.12", None),
    ("docker.io/library/python:3.12", "docker.io", "library/python", "3.12", None),
    ("index.docker.io/python", "docker.io", "library/python", None, None),
    ("index.docker.io/library/python:3", "docker.io", "library/python", "3", None),
    ("registry-1.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
    ("bitnami/redis:7.2.4-debian-12-r0", "docker.io", "bitnami/redis", "7.2.4-debian-12-r0", None),
    ("ghcr.io/owner/repo/sub:v1", "ghcr.io", "owner/repo/sub", "v1", None),
    ("gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot", None),
    ("mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com", "dotnet/aspnet", "8.0", None),
    ("public.ecr.aws/docker/library/node:20", "public.ecr.aws", "docker/library/node", "20", None),
    ("localhost/foo", "localhost", "foo", None, None),
    ("localhost:5000/foo/bar:tag", "localhost:5000", "foo/bar", "tag", None),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None),  # a tag, not a port
    ("127.0.0.1:5000/app@" + D, "127.0.0.1:5000", "app", None, D),
    ("192.168.1.10:5000/team/app:1", "192.168.1.10:5000", "team/app", "1", None),
    ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
    ("[2001:db8::1]/app", "[2001:db8::1]", "app", None, None),
    ("example.com:8443/a/b/c/d:e", "example.com:8443", "a/b/c/d", "e", None),
    ("my-registry.local:5000/team/app:1.0-rc.1", "my-registry.local:5000", "team/app", "1.0-rc.1", None),
    ("Foo/bar", "Foo", "bar", None, None),  # an upper-case first component is a host
    ("python:3.12@" + D, "docker.io", "library/python", "3.12", D),
    ("python@" + D, "docker.io", "library/python", None, D),
    ("python@" + SHA512, "docker.io", "library/python", None, SHA512),
    ("python@blake3:" + "0" * 64, "docker.io", "library/python", None, "blake3:" + "0" * 64),
    ("a__b/c--d_e.f:tag", "docker.io", "a__b/c--d_e.f", "tag", None),
    ("foo_bar:_private", "docker.io", "library/foo_bar", "_private", None),
    ("foo:" + "t" * 128, "docker.io", "library/foo", "t" * 128, None),
]

INVALID: list[tuple[str, str]] = [
    # text, a phrase the message must contain
    ("", "empty"),
    (" python", "whitespace"),
    ("python:3.12 ", "whitespace"),
    ("Python", "lower-case"),
    ("ghcr.io/Owner/repo", "lower-case"),
    ("python:", "invalid"),
    ("python:-bad", "invalid tag"),
    ("python:" + "t" * 129, "invalid tag"),
    (":3.12", "invalid"),
    ("python@sha256:abc", "digest"),
    ("python@sha256:" + "A" * 64, "lower-case hex"),
    ("python@sha256:" + "a" * 63, "lower-case hex"),
    ("python@sha512:" + "a" * 64, "lower-case hex"),
    ("python@", "digest"),
    ("python@latest", "digest"),
    ("https://ghcr.io/a/b", "scheme"),
    ("a" * 64, "image ID"),
    ("foo//bar", "invalid"),
    ("foo/", "invalid"),
    ("/foo", "invalid"),
    ("foo:tag:tag", "invalid"),
    ("localhost:abc/foo", "invalid"),
    ("foo___bar", "invalid"),
    ("-foo", "invalid"),
    ("foo-", "invalid"),
    ("foo/" + "a" * 260, "longer than 255"),
    ("foo@" + D + "x", "digest"),
    ("[::1/app", "invalid"),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), VALID)
def test_valid(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert ref.original == text
    assert str(ref) == text


@pytest.mark.parametrize(("text", "phrase"), INVALID)
def test_invalid(text: str, phrase: str) -> None:
    with pytest.raises(ReferenceError) as raised:
        parse(text)
    assert phrase in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("python", "docker.io/library/python:latest"),
        ("python:3.12", "docker.io/library/python:3.12"),
        ("index.docker.io/library/python:3.12", "docker.io/library/python:3.12"),
        ("python:3.12@" + D, "docker.io/library/python:3.12"),  # the tag is what gets resolved
        ("python@" + D, "docker.io/library/python@" + D),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
    ],
)
def test_canonical(text: str, canonical: str) -> None:
    assert parse(text).canonical == canonical


def test_equal_references_share_a_key() -> None:
    spellings = ["python:3.12", "library/python:3.12", "docker.io/python:3.12", "index.docker.io/library/python:3.12"]
    refs = [parse(s) for s in spellings]
    assert len({r.canonical for r in refs}) == 1
    assert len(set(refs)) == 1  # `original` does not take part in equality


@pytest.mark.parametrize(
    ("text", "pinned"),
    [
        ("python:3.12", f"python:3.12@{D2}"),
        ("python", f"python@{D2}"),
        (f"python:3.12@{D}", f"python:3.12@{D2}"),
        (f"python@{D}", f"python@{D2}"),
        (f"python@{SHA512}", f"python@{D2}"),
        ("index.docker.io/library/python:3.12", f"index.docker.io/library/python:3.12@{D2}"),
        ("localhost:5000/app:1", f"localhost:5000/app:1@{D2}"),
        ("localhost:5000", f"localhost:5000@{D2}"),
        ("[::1]:5000/app", f"[::1]:5000/app@{D2}"),
        ("ghcr.io/o/r/s:v1.2", f"ghcr.io/o/r/s:v1.2@{D2}"),
    ],
)
def test_pinned_keeps_the_users_spelling(text: str, pinned: str) -> None:
    assert parse(text).pinned(D2) == pinned
    again = parse(pinned)
    assert again.digest == D2 and again.tag == parse(text).tag


@pytest.mark.parametrize("digest", ["sha256:abc", SHA512, "latest", "sha256:" + "A" * 64])
def test_pinned_refuses_bad_digests(digest: str) -> None:
    with pytest.raises(ReferenceError):
        parse("python:3.12").pinned(digest)


def test_digest_algorithms_are_reported() -> None:
    assert parse(f"python@{D}").digest_algorithm == "sha256"
    assert parse(f"python@{D}").is_pinnable
    ref = parse(f"python:3@{SHA512}")
    assert ref.digest_algorithm == "sha512" and not ref.is_pinnable
    assert parse("python:3").digest_algorithm is None and parse("python:3").is_pinnable


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("python", "docker.io", None),
        ("localhost:5000/a", "localhost", 5000),
        ("[::1]:5000/a", "[::1]", 5000),
        ("[2001:db8::1]/a", "[2001:db8::1]", None),
        ("example.com:8443/a", "example.com", 8443),
    ],
)
def test_host_and_port(text: str, host: str, port: int | None) -> None:
    ref = parse(text)
    assert (ref.host, ref.port) == (host, port)


def test_lookup_and_name_text() -> None:
    assert parse("python").lookup == "latest"
    assert parse(f"python:3@{D}").lookup == "3"
    assert parse(f"python@{D}").lookup == D
    assert parse(f"localhost:5000/app:1@{D}").name_text == "localhost:5000/app"
    assert Reference("docker.io", "library/python", "3").name_text == "docker.io/library/python"


_component = st.from_regex(r"[a-z0-9]{1,5}(?:[._-][a-z0-9]{1,4}){0,2}", fullmatch=True)
_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_hosts = st.sampled_from(["", "ghcr.io/", "localhost:5000/", "[::1]:5000/", "10.0.0.1:443/", "a-b.example.com/"])


@given(_hosts, st.lists(_component, min_size=1, max_size=4), st.none() | _tags)
def test_pinning_round_trips(host: str, path: list[str], tag: str | None) -> None:
    text = host + "/".join(path) + (f":{tag}" if tag is not None else "")
    ref = parse(text)
    pinned = parse(ref.pinned(D2))
    assert (pinned.registry, pinned.repository, pinned.tag, pinned.digest) == (
        ref.registry,
        ref.repository,
        ref.tag,
        D2,
    )
    assert pinned.pinned(D) == ref.pinned(D)
