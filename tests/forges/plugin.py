"""Pytest fixtures for the fake forges, loaded for every test file by tests/conftest.py
(`pytest_plugins`): `github_fake` and `gitea_fake`, each a started fake for owner `acme`,
repository `app`, that accepts `TOKEN`. Each fails the test at teardown when a request broke the
forge's contract (`fake.errors`), so a test that provokes a violation on purpose clears
`errors` after asserting it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from forges.gitea_fake import GiteaFake
from forges.github_fake import Contract, GitHubFake, contract, spec_path
from forges.server import FakeServer

TOKEN = "ghp_thisIsTheFakeForgeToken0123456789abcd"  # made up; tests look for it in every output


@pytest.fixture(scope="session")
def github_contract() -> Contract:
    """GitHub's OpenAPI description for openapi-core, loaded once per test process."""
    from conftest import require_file

    return contract(require_file(spec_path(), "GitHub's OpenAPI description (.ci/run fetches it)"))


def _stop_and_check(fake: FakeServer) -> None:
    fake.stop()
    if fake.errors:
        pytest.fail(f"{type(fake).__name__}: requests or answers broke the forge's contract:\n" + "\n".join(fake.errors))


@pytest.fixture
def github_fake(github_contract: Contract) -> Iterator[GitHubFake]:
    fake = GitHubFake(github_contract, TOKEN).start()
    yield fake
    _stop_and_check(fake)


@pytest.fixture
def gitea_fake() -> Iterator[GiteaFake]:
    fake = GiteaFake(TOKEN).start()
    yield fake
    _stop_and_check(fake)
