"""The command line's shared options and what they make: the PATHs and the run's Settings.

Every command that reads files takes `common_options` (and the registry options with them);
`settings()` turns what click parsed, over the project's configuration file
(harden.configuration: flags typed on the command line win over the file, the file over the
defaults), into the one Settings value the engine reads, after checking what click cannot (rule
ids, `--registry-mirror` values). A configuration file harden cannot use stops the command with
`path:line: message`, exit 2, before anything is read or written. A credential typed into an
option is never printed (`without_credentials`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harden.config import DEFAULT_MAX_FILE_SIZE, DEFAULT_TIMEOUT, Settings


def rule_list(value: str | None) -> frozenset[str]:
    return frozenset(v.strip() for v in (value or "").split(",") if v.strip())


REDACT = click.option(
    "--redact",
    is_flag=True,
    help="Mask credential values in the diff's own lines too (removed and context lines, which show the file as it is); "
    "the diff then no longer applies. Reports and commentary never show them.",
)

SHOW_UNUSED_IGNORES = click.option(
    "--show-unused-ignores",
    is_flag=True,
    help="Report each `# harden: ignore` (or hadolint ignore) comment that silences nothing.",
)


SELECT = click.option("--select", metavar="RULE,...", help="Run only these rules (instead of the configuration's selection).")
IGNORE = click.option("--ignore", metavar="RULE,...", help="Skip these rules (besides the configuration's).")
SAFE_ONLY = click.option("--safe-only", is_flag=True, help="Apply only fixes that cannot change runtime behaviour.")
UNSAFE_FIXES = click.option(
    "--unsafe-fixes/--no-unsafe-fixes",
    default=False,
    help="Apply also fixes harden has no evidence for (unknown images, unreadable scripts): verify what each says. "
    "--no-unsafe-fixes overrides the configuration's unsafe-fixes = true.",
)


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, metavar="PATH..."),
        click.option(
            "-f",
            "--compose-file",
            "compose_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="A Compose file of one project, merged in the order given, as `docker compose -f` does (repeatable).",
        ),
        click.option(
            "--env-file",
            "env_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Read Compose interpolation variables from this file instead of each project's .env, as "
            "`docker compose --env-file` does (repeatable; later files win). harden never reads the process environment.",
        ),
        SELECT,
        IGNORE,
        SAFE_ONLY,
        UNSAFE_FIXES,
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["text", "json", "sarif", "github"]),
            default="text",
            show_default=True,
            help="Output format: text, JSON (versioned, see the README), SARIF 2.1.0, or GitHub workflow commands (annotations).",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour the output.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print only errors (and the diff, for `diff`)."),
        click.option("--debug", is_flag=True, help="Show tracebacks for internal errors."),
        click.option(
            "--max-file-size",
            type=int,
            default=DEFAULT_MAX_FILE_SIZE,
            show_default=True,
            metavar="BYTES",
            help="Refuse larger files.",
        ),
        click.option(
            "--stdin-filename", metavar="NAME", help="File name for input read from `-` (decides Dockerfile or compose)."
        ),
    ]
    for option in reversed([*options, REDACT, SHOW_UNUSED_IGNORES, *REGISTRY_OPTIONS]):
        command = option(command)
    return command


# The registry options a configuration file also sets ([tool.harden.registry]); `harden config` takes them too.
CONFIGURED_REGISTRY_OPTIONS = [
    click.option(
        "--registry-mirror",
        "mirrors",
        multiple=True,
        metavar="REGISTRY=URL",
        help="Send lookups for REGISTRY to URL (repeatable), e.g. docker.io=http://127.0.0.1:5000.",
    ),
    click.option(
        "--insecure-registry",
        "insecure",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Allow plain HTTP to this registry (repeatable; loopback always may).",
    ),
    click.option(
        "--cache-ttl",
        "cache_ttl_hours",
        type=click.FloatRange(0),
        default=24.0,
        show_default=True,
        metavar="HOURS",
        help="Trust digests in the cache ($XDG_CACHE_HOME/harden) this long; 0: always ask the registry.",
    ),
    click.option("--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent registry lookups."),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Give up on registry lookups after this long in all; what is not resolved by then is reported.",
    ),
]
# The lookup options without --refresh: `harden pr` refreshes pins in its own topic (pin-refresh).
LOOKUP_OPTIONS = [
    click.option("--offline", is_flag=True, help="Pin only from the lockfile and the cache; never contact a registry."),
    click.option(
        "--lockfile",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Use this lockfile (default: harden.lock found from PATH upwards).",
    ),
    click.option("--platform", metavar="OS/ARCH", help="Pin one platform's manifest instead of the multi-platform index."),
    *CONFIGURED_REGISTRY_OPTIONS,
]
REGISTRY_OPTIONS = [
    *LOOKUP_OPTIONS,
    click.option(
        "--refresh", is_flag=True, help="Move existing pins to the digest their tag points to now (pins never move otherwise)."
    ),
]


def paths_of(paths: tuple[str, ...], options: dict[str, Any]) -> tuple[str, ...]:
    """PATH arguments plus the -f files; at least one is needed."""
    files = tuple(str(f) for f in options.get("compose_files") or () if str(f) not in paths)
    if not paths and not files:
        raise click.UsageError("give at least one PATH (a file, a directory or - for standard input)")
    return paths + files


class ConfigFileError(click.ClickException):
    """A configuration file harden cannot use: printed as `path:line: message`, exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


def given_flags() -> set[str]:
    """The options of the running command typed on the command line (or set from the
    environment), not left at their defaults: only those override the configuration file."""
    from click.core import ParameterSource

    context = click.get_current_context(silent=True)
    if context is None:
        return set()
    typed = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {name for name in context.params if context.get_parameter_source(name) in typed}


def configured(options: dict[str, Any]) -> tuple[Settings, list[Any], Path | None]:
    """The run's Settings, every configuration key's value and where it came from
    (harden.configuration.effective.Value), and the configuration file (None: there is none),
    from the options and the PATHs' configuration file."""
    from harden import configuration
    from harden.configuration import effective

    flags = {**options, "select": _rules(options, "select"), "ignore": _rules(options, "ignore"), "mirrors": _mirrors(options)}
    try:
        found, notes = configuration.for_paths(options.get("paths") or (), options.get("stdin_filename"))
    except configuration.ConfigError as error:
        raise ConfigFileError(str(error)) from None
    for note in notes:
        click.echo(note, err=True)
    fields, shown = effective.merge(found, flags, given_flags())
    settings = Settings(
        **fields,
        safe_only=options.get("safe_only", False),
        show_unused_ignores=options.get("show_unused_ignores", False),
        max_file_size=options.get("max_file_size", DEFAULT_MAX_FILE_SIZE),
        stdin_filename=options.get("stdin_filename"),
        offline=options.get("offline", False),
        refresh=options.get("refresh", False),
        platform=options.get("platform"),
        lockfile=options.get("lockfile"),
        search_from=tuple(Path(p) for p in options.get("paths", ()) if p != "-"),
        progress=True,
        compose_files=tuple(options.get("compose_files") or ()),
        env_files=tuple(options.get("env_files") or ()),
        debug=options.get("debug", False),
        workers=workers(),
    )
    return settings, shown, found.path if found is not None else None


def settings(options: dict[str, Any]) -> Settings:
    return configured(options)[0]


def _rules(options: dict[str, Any], name: str) -> frozenset[str]:
    """A `--select`/`--ignore` value's rule ids; BadParameter naming those no rule has."""
    ids = rule_list(options.get(name))
    if ids:  # validating rule ids imports passes: only when some are named
        from harden.configuration.checks import unknown_rules

        unknown = unknown_rules(set(ids))
        if unknown:
            raise click.BadParameter(f"unknown rule {', '.join(sorted(unknown))} (see `harden rules`)", param_hint=f"--{name}")
    return ids


def _mirrors(options: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    mirrors = []
    for mirror in options.get("mirrors") or ():
        registry, equals, url = mirror.partition("=")
        if not equals or not registry or not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"{without_credentials(mirror)!r} is not REGISTRY=URL (for example docker.io=http://127.0.0.1:5000)",
                param_hint="--registry-mirror",
            )
        mirrors.append((registry, url.rstrip("/")))
    return tuple(mirrors)


def workers() -> int | None:
    """HARDEN_WORKERS: how many processes analyse files (a benchmark and debugging switch; by
    default one per core for runs of many files). Not a number, or below 1: the default."""
    value = os.environ.get("HARDEN_WORKERS", "")
    return int(value) if value.isdigit() and int(value) >= 1 else None


def without_credentials(text: str) -> str:
    """`text` (a REGISTRY=URL option) with everything between the scheme (or `REGISTRY=`) and the
    last `@` replaced by `***`: harden never prints a credential, even one the user typed."""
    head, at, host = text.rpartition("@")
    if not at:
        return text
    scheme = head.find("://")
    keep = scheme + 3 if scheme >= 0 else head.find("=") + 1
    return f"{head[:keep]}***@{host}"
