"""`harden pr`: the pull-request bot's command line (harden.bot does the work).

Where things come from:
- the repository: the git repository PATH is in (PATH may be a subdirectory: only it is
  hardened); the remote `--remote` (origin) is where the bot fetches and pushes;
- the forge's repository: `--repository OWNER/NAME`, else `GITHUB_REPOSITORY` (set by GitHub
  Actions) for GitHub, else the last two parts of the remote's URL;
- the API: `--api-url`, else `GITHUB_API_URL` (GitHub Actions sets it, on GitHub Enterprise
  Server too), else https://api.github.com; Gitea and Forgejo need `--api-url`
  (https://HOST/api/v1);
- the token: `--token-file FILE`, else the environment (harden.bot.forge.load_token), never an
  argument (it would be in the shell's history and the process list); a GitHub App
  installation token from `HARDEN_GITHUB_APP_ID` and `HARDEN_GITHUB_APP_KEY_FILE`;
- labels, assignees, reviewers, draft and the hardening branch: `[tool.harden.bot]` of the base
  branch's configuration; the rules and their options: the rest of that configuration, with
  the rule flags given here on top, as for every command.

Exits 0 when every topic went through (opened, updated, up to date, closed or left alone), 2 when
one stopped (a git or forge error: what was pushed is undone) or a file could not be read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from harden.cli import guarded, main
from harden.cli.options import IGNORE, LOOKUP_OPTIONS, SAFE_ONLY, SELECT, UNSAFE_FIXES, configured

if TYPE_CHECKING:
    from harden.bot.forge import Forge
    from harden.bot.git import Repository
    from harden.bot.run import SettingsFor

GITHUB_API = "https://api.github.com"


def _token_variables(kind: str) -> tuple[str, ...]:
    """The environment variables the forge's token is read from, in order (its client module says)."""
    if kind == "gitea":
        from harden.bot import gitea

        return tuple(gitea.TOKEN_VARIABLES)
    from harden.bot import github

    return tuple(github.TOKEN_VARIABLES)


def _options(command: Any) -> Any:
    options = [
        click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.option("--forge", "forge_kind", type=click.Choice(["github", "gitea"]), default="github", show_default=True),
        click.option("--api-url", metavar="URL", help="The forge's API (default: $GITHUB_API_URL, else api.github.com)."),
        click.option("--repository", metavar="OWNER/NAME", help="The forge's repository (default: from the remote's URL)."),
        click.option("--remote", default="origin", show_default=True, help="The git remote to fetch from and push to."),
        click.option(
            "--base",
            metavar="BRANCH",
            help="The branch to harden and open pull requests against (default: the remote's default).",
        ),
        click.option(
            "--topic",
            "topic_names",
            multiple=True,
            type=click.Choice(["hardening", "pin-refresh"]),
            help="Only this topic's pull request (repeatable; default: both).",
        ),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="Read the forge's token from FILE."),
        click.option("--dry-run", is_flag=True, help="Print each branch, commit message and body; push nothing, call no API."),
        click.option(
            "--sign", is_flag=True, help="Sign the commits (git commit -S, with the signing key git is configured with)."
        ),
        click.option(
            "--verify", "verify_first", is_flag=True, help="First verify each Compose project (as `harden fix --verify`)."
        ),
        click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True),
        SELECT,
        IGNORE,
        UNSAFE_FIXES,
        SAFE_ONLY,
        *LOOKUP_OPTIONS,
        click.option("--debug", is_flag=True, help="Show tracebacks for internal errors."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@_options
@guarded
def pr(path: Path, forge_kind: str, topic_names: tuple[str, ...], dry_run: bool, verify_first: bool, **options: Any) -> int:
    """Harden the repository PATH is in (only PATH, when it is a subdirectory) on its base branch,
    and open or update one pull request per topic: `harden/hardening` and `harden/pin-refresh`.
    Ticked `drop:` boxes in the bot's pull request are left out on the next run.

    Exits 0 when every topic went through, 2 on an error (what was pushed is undone)."""
    from harden.bot import run, topics
    from harden.bot.forge import ForgeError
    from harden.bot.git import GitError, Repository

    if options["lockfile"] is not None:  # the run happens in a worktree: a relative path would move with it
        options["lockfile"] = options["lockfile"].absolute()
    try:
        local = Repository(path, options["remote"])
        relative = Path(os.path.relpath(path.resolve(), local.root.resolve())).as_posix()
        forge = _forge(forge_kind, local, options, dry_run)
    except (ForgeError, GitError) as error:
        click.echo(f"harden pr: {error}", err=True)
        return 2
    repo = Repository(path, options["remote"], forge.git_auth_header() if forge is not None else None)
    request = run.Request(
        (relative,), options["base"], dry_run, options["sign"], options["verify_timeout"] if verify_first else None
    )
    chosen = topics.topics(topic_names or topics.NAMES)
    return run.run(chosen, request, repo, None if dry_run else forge, _settings_for(options), sys.stdout, sys.stderr)


def _settings_for(options: dict[str, Any]) -> SettingsFor:
    """The run's Settings and `[tool.harden.bot]` for PATHs in the current directory (the worktree)."""
    from harden.bot.run import BotConfig
    from harden.config import Settings

    def settings_for(paths: tuple[str, ...]) -> tuple[Settings, BotConfig]:
        settings, shown, _ = configured({**options, "paths": paths})
        bot = {value.key.removeprefix("bot."): value.value for value in shown if value.key.startswith("bot.")}
        config = BotConfig(
            bot["branch"], tuple(bot["labels"]), tuple(bot["assignees"]), tuple(bot["reviewers"]), bool(bot["draft"])
        )
        return settings, config

    return settings_for


def _forge(kind: str, local: Repository, options: dict[str, Any], dry_run: bool) -> Forge | None:
    """The forge client (None on a dry run without a token: git then fetches without one)."""
    from harden.bot.forge import ForgeError

    owner, name = _repository(kind, local.remote_url(), options["repository"])
    try:
        token = _token(kind, options, owner, name)
    except ForgeError:
        if dry_run:
            return None
        raise
    if kind == "gitea":
        from harden.bot.gitea import Gitea

        if not options["api_url"]:
            raise ForgeError("--forge gitea needs --api-url (https://HOST/api/v1)")
        return Gitea(options["api_url"], owner, name, token)
    from harden.bot.github import GitHub

    return GitHub(_github_api(options), owner, name, token)


def _github_api(options: dict[str, Any]) -> str:
    return str(options["api_url"] or os.environ.get("GITHUB_API_URL") or GITHUB_API)


def _token(kind: str, options: dict[str, Any], owner: str, name: str) -> str:
    """The token: --token-file, else the environment; a GitHub App's installation token when
    HARDEN_GITHUB_APP_ID and HARDEN_GITHUB_APP_KEY_FILE are set (and no token is given)."""
    from harden.bot.forge import ForgeError, load_token

    app_id, key_file = os.environ.get("HARDEN_GITHUB_APP_ID"), os.environ.get("HARDEN_GITHUB_APP_KEY_FILE")
    given = options["token_file"] is not None or any(os.environ.get(v) for v in _token_variables(kind))
    if kind == "github" and app_id and key_file and not given:
        from harden.bot.github import installation_token

        try:
            key = Path(key_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ForgeError(f"HARDEN_GITHUB_APP_KEY_FILE: cannot read {key_file}: {getattr(error, 'strerror', error)}") from None
        return installation_token(_github_api(options), app_id, key, owner, name)
    return load_token(os.environ, options["token_file"], _token_variables(kind))


def _repository(kind: str, remote_url: str, given: str | None) -> tuple[str, str]:
    """OWNER/NAME: --repository, else GITHUB_REPOSITORY (GitHub), else the remote URL's last two parts."""
    from harden.bot.forge import ForgeError

    value = given or (os.environ.get("GITHUB_REPOSITORY") if kind == "github" else None)
    if not value:
        address = remote_url.split(":", 1)[1] if "://" not in remote_url and ":" in remote_url else urlsplit(remote_url).path
        value = "/".join(address.strip("/").removesuffix(".git").split("/")[-2:])
    owner, slash, name = value.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ForgeError(f"cannot tell the forge's repository from {value!r}: give --repository OWNER/NAME")
    return owner, name
