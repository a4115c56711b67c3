"""Settings: what the command line and the project's configuration file chose.

One frozen object, built once by the CLI (harden.cli.options, with harden.configuration for the
`[tool.harden]` table or `.harden.toml`) and read by the engine and the passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harden.model import Applicability

DEFAULT_MAX_FILE_SIZE = 1024 * 1024  # 1 MiB: larger files are refused (exit 2), see README
DEFAULT_TIMEOUT = 120.0  # seconds for all registry lookups of one run (a hostile registry cannot hang harden)
MAX_ROUNDS = 5  # rounds of fixes on one file; a pass still proposing one after them is a bug (the file is refused)


@dataclass(frozen=True)
class Settings:
    select: frozenset[str] = frozenset()  # empty: every rule
    ignore: frozenset[str] = frozenset()
    safe_only: bool = False  # apply only `safe` fixes
    unsafe_fixes: bool = False  # apply `unsafe` fixes too (no evidence that the service still works)
    show_unused_ignores: bool = False  # report suppression comments that silence nothing (harden.suppressions)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    stdin_filename: str | None = None
    # digest pinning (harden.engine.pinning)
    offline: bool = False  # resolve only from the lockfile and the cache
    refresh: bool = False  # move existing pins to the tag's current digest
    platform: str | None = None  # pin one platform's manifest instead of the index
    mirrors: tuple[tuple[str, str], ...] = ()  # registry -> base URL
    insecure: tuple[str, ...] = ()  # registries allowed over plain HTTP
    jobs: int = 8  # concurrent registry lookups
    timeout: float = DEFAULT_TIMEOUT  # seconds for all registry lookups of the run (--timeout)
    lockfile: Path | None = None  # explicit lockfile; else found from search_from upwards
    search_from: tuple[Path, ...] = ()  # where to look for harden.lock (the PATH arguments)
    cache_ttl_hours: float = 24.0  # how long a digest from the registry is trusted from the cache
    progress: bool = False  # print a progress line while resolving (on a terminal)
    compose_files: tuple[Path, ...] = ()  # `-f a -f b`: one Compose project, merged in this order
    # `--env-file`: the interpolation variables of every Compose project, read in this order instead
    # of each project's `.env` (as `docker compose --env-file` does); never the process environment
    env_files: tuple[Path, ...] = ()
    debug: bool = False  # a file's internal error carries its traceback (--debug)
    # Processes that analyse files: None chooses (one per core, for runs of many files); 1 is
    # one process (HARDEN_WORKERS=1, a benchmark and debugging switch). Outputs never depend on it.
    workers: int | None = None
    # rule id -> option name -> value: what each pass's options are set to (harden.passes.options;
    # unset options keep their defaults; the engine refuses a rule or option it does not know).
    rule_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # From the project's configuration file (harden.configuration): the directory its patterns
    # are relative to; `exclude` (gitignore patterns: files a directory walk leaves out);
    # `per_file_ignores` (gitignore pattern -> rules that do not run on the files it matches);
    # the project's own image knowledge entries (name -> entry, harden.knowledge.project_entry);
    # the verified records file (None: .harden/verified.toml found from search_from upwards).
    config_root: Path | None = None
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    images: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    verified: Path | None = None

    def rule_enabled(self, rule_id: str) -> bool:
        if self.select and rule_id not in self.select:
            return False
        return rule_id not in self.ignore

    def applies(self, applicability: Applicability) -> bool:
        if applicability is Applicability.DISPLAY:
            return False
        if applicability is Applicability.UNSAFE:
            return self.unsafe_fixes and not self.safe_only
        return applicability is Applicability.SAFE or not self.safe_only
