"""Saved review decisions (`harden review --save-decisions FILE`, `harden fix --decisions FILE`).

The file is JSON (Python reads and writes it without a dependency; TOML it could only read),
written atomically, sorted and indented so that it reads well in a pull request:

    {
      "harden": "0.1.0",                   the version that wrote it
      "format": 1,                         this layout's version: a reader refuses another
      "settings": {"unsafe_fixes": false, "safe_only": false, "select": [], "ignore": []},
      "decisions": [                       one per offered fix, by finding id
        {"id": "55de0ef0c66e", "decision": "apply", "rule": "cap-drop-all", "path": "compose.yaml", "subject": "db"}
      ],
      "edits": [                           changes the reviewer edited (harden.review.edits.Edited)
        {"path": "compose.yaml", "ids": ["..."], "base": "<sha256>", "result": "<sha256>", "patch": "@@ ..."}
      ]
    }

A decision is `apply`, `skip` (answered no, or declined with a fix it requires), `edit` (applied
as the reviewer edited it: see `edits`) or `undecided` (left when the review quit). Only the ids
decide; `rule`, `path` and `subject` are for the reader. A finding id holds the file's path as
displayed, so decisions replay from the directory the review ran in, with the same PATHs. The
`settings` are the options that decide which fixes exist and how passes plan them: a replay runs
with them, so that it writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden import __version__
from harden.config import Settings
from harden.review.edits import Edited

FORMAT = 1
CHOICES = ("apply", "skip", "edit", "undecided")


class DecisionsError(Exception):
    """A decisions file harden cannot use: the message follows `path: `."""


@dataclass
class Decisions:
    choices: dict[str, str] = field(default_factory=dict)  # finding id -> one of CHOICES
    about: dict[str, dict[str, str]] = field(default_factory=dict)  # finding id -> rule, path, subject
    edits: list[Edited] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    def approved(self) -> frozenset[str]:
        """The ids of the fixes to apply as harden makes them (not the edited ones)."""
        return frozenset(i for i, choice in self.choices.items() if choice == "apply")

    def to_json(self) -> str:
        decisions = [{"id": i, "decision": choice, **self.about.get(i, {})} for i, choice in self.choices.items()]
        edits = [{"path": e.path, "ids": list(e.ids), "base": e.base, "result": e.result, "patch": e.patch} for e in self.edits]
        document = {"harden": self.version, "format": FORMAT, "settings": self.settings, "decisions": decisions, "edits": edits}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def settings_of(settings: Settings) -> dict[str, Any]:
    return {
        "unsafe_fixes": settings.unsafe_fixes,
        "safe_only": settings.safe_only,
        "select": sorted(settings.select),
        "ignore": sorted(settings.ignore),
    }


def load(path: Path) -> Decisions:
    """Read a decisions file; DecisionsError naming what is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DecisionsError(f"cannot read ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecisionsError(f"not a decisions file (JSON): {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DecisionsError(f"not a decisions file of format {FORMAT} (written by `harden review --save-decisions`)")
    loaded = Decisions(version=str(document.get("harden", "")), settings=_settings(document.get("settings")))
    for number, entry in enumerate(_list(document, "decisions")):
        ident, choice = entry.get("id"), entry.get("decision")
        if not isinstance(ident, str) or choice not in CHOICES:
            raise DecisionsError(f"decisions[{number}]: needs an `id` and a `decision` ({', '.join(CHOICES)})")
        loaded.choices[ident] = choice
        loaded.about[ident] = {k: str(entry[k]) for k in ("rule", "path", "subject") if k in entry}
    for number, entry in enumerate(_list(document, "edits")):
        values = [entry.get(k) for k in ("path", "base", "result", "patch")]
        ids = entry.get("ids")
        strings = [v for v in values if isinstance(v, str)]
        if len(strings) < len(values) or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise DecisionsError(f"edits[{number}]: needs `path`, `ids`, `base`, `result` and `patch`")
        loaded.edits.append(Edited(strings[0], tuple(ids), strings[1], strings[2], strings[3]))
    return loaded


def _list(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise DecisionsError(f"`{key}` must be a list of objects")
    return value


def _settings(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    good = isinstance(value, dict) and all(isinstance(value.get(k, False), bool) for k in ("unsafe_fixes", "safe_only"))
    good = good and all(isinstance(value.get(k, []), list) for k in ("select", "ignore"))
    if not good:
        raise DecisionsError("`settings` must hold unsafe_fixes and safe_only (true or false), select and ignore (lists)")
    return dict(value)


def replayed(settings: Settings, decisions: Decisions) -> Settings:
    """The run's settings with the review's own (see the module docstring)."""
    saved = decisions.settings
    return dataclasses.replace(
        settings,
        unsafe_fixes=bool(saved.get("unsafe_fixes", False)),
        safe_only=bool(saved.get("safe_only", False)),
        select=frozenset(str(r) for r in saved.get("select", [])),
        ignore=frozenset(str(r) for r in saved.get("ignore", [])),
    )
