"""`harden config [PATH]`: the effective configuration, and where each value came from.

What: the configuration file the PATH's run would read (harden.configuration: the closest
`.harden.toml` or pyproject.toml with `[tool.harden]`, from PATH upwards; PATH defaults to the
current directory), then one line per key, `key = value  # source`, where the source is
`default`, `path:line` or `flag --name` (the flags a run takes, typed here, show their effect).
`--format json` prints the same as `{"version": 1, "file": ..., "values": {key: {"value", "source"}}}`.
A configuration file harden cannot use is `path:line: message`, exit 2, as in every command.
A mirror URL's credentials are never printed (`***`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from harden.cli import guarded, main
from harden.cli.options import CONFIGURED_REGISTRY_OPTIONS, IGNORE, SELECT, UNSAFE_FIXES, configured, without_credentials


def registry_options(command: Any) -> Any:
    for option in reversed(CONFIGURED_REGISTRY_OPTIONS):
        command = option(command)
    return command


@main.command("config")
@click.argument("path", required=False, default=".")
@SELECT
@IGNORE
@UNSAFE_FIXES
@registry_options
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@guarded
def config(path: str, output_format: str, **options: Any) -> int:
    """Print the effective configuration for PATH (default: the current directory) and where each
    value came from: default, the configuration file and line, or a flag."""
    from harden.configuration import shown
    from harden.configuration.effective import shown_value

    _, values, found = configured({**options, "paths": (path,)})
    table = {value.key: (_masked(value.key, shown_value(value.value)), value.source) for value in values}
    if output_format == "json":
        document = {
            "version": 1,
            "file": shown(found) if found else None,
            "values": {key: {"value": value, "source": source} for key, (value, source) in table.items()},
        }
        click.echo(json.dumps(document, indent=2))
        return 0
    click.echo(f"# configuration file: {shown(found) if found else 'none (every value is its default or a flag)'}")
    for key, (value, source) in table.items():
        click.echo(f"{key} = {json.dumps(value)}  # {source}")
    return 0


def _masked(key: str, value: Any) -> Any:
    """The value as printed: a table key's empty default as a table; mirror credentials as ***."""
    if key in ("per-file-ignores", "registry.mirrors") and value == []:
        return {}
    if key == "registry.mirrors" and isinstance(value, dict):
        return {registry: without_credentials(f"{registry}={url}").partition("=")[2] for registry, url in value.items()}
    return value
