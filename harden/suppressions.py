"""Inline suppressions: a comment that silences a rule where the user knows better.

What: `# harden: ignore=RULE[,RULE]` silences those rules, `# harden: ignore` every rule, for
what the comment is attached to; `# harden: ignore-file` (or `ignore-file=RULE,...`) anywhere in
a comment silences the whole file. hadolint's own comments are honoured for the harden rule that
is their equivalent (the rule's `peers` name the hadolint code): `# hadolint ignore=DL3002` above
an instruction, `# hadolint global ignore=DL3002` for the file. A silenced finding is not reported
and its fix is not applied, in every round of fixes, as ruff's `# noqa` does.

What a comment is attached to (decisions, as hadolint and ruff users expect them):
- Dockerfile: the instruction directly below the comment block it is in (no blank line between),
  all of its lines; a comment cannot share a line with an instruction (BuildKit would read it as
  an argument).
- Compose: the key on the comment's own line (an end-of-line comment) or, for a comment on a line
  of its own, the key on the next line that is neither blank nor a comment; and everything nested
  under that key. A comment above a service silences the rule for the whole service.

`unused(...)`: the directives that silenced nothing in the file as it was read, as `info`
findings of the pseudo-rule `unused-ignore` (`--show-unused-ignores`, like ruff's RUF100); a
rule id harden does not know is reported the same way.

What might break: a finding reported on another line than the comment's target (a Compose finding
about a missing key is reported on the service's line) is silenced only by a comment on or above
that line; `harden check` prints where each finding is, which is where the comment goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harden.model import Applicability, Finding, Rule, Severity

HARDEN = re.compile(r"#\s*harden:\s*(?P<verb>ignore-file|ignore)\b(?:\s*=\s*(?P<rules>[\w.,\s-]*))?", re.IGNORECASE)
HADOLINT = re.compile(r"#\s*hadolint\s+(?P<scope>global\s+)?ignore\s*=\s*(?P<rules>[\w,\s]*)", re.IGNORECASE)
UNUSED = Rule(
    id="unused-ignore",
    title="A suppression comment silences nothing",
    control="",
    applicability=Applicability.DISPLAY,
    kinds=("dockerfile", "compose"),
)


@dataclass(frozen=True)
class Directive:
    line: int  # 1-based line of the comment
    rules: frozenset[str] | None  # harden rule ids; None: every rule
    first: int  # 1-based lines it covers, inclusive
    last: int
    text: str  # the comment, as written
    unknown: tuple[str, ...] = ()  # ids it names that no rule of this run has

    def covers(self, finding: Finding) -> bool:
        return self.first <= finding.line <= self.last and (self.rules is None or finding.rule.id in self.rules)


def directives(document: Any, modules: Sequence[ModuleType]) -> list[Directive]:
    """Every suppression in the document (module docstring); `modules`: the passes of the run,
    whose rule ids and hadolint equivalents a directive may name."""
    text: str = getattr(document, "text", "")
    if "harden" not in text and "hadolint" not in text:
        return []
    lines = text.splitlines()
    known = {m.RULE.id for m in modules}
    hadolint = _hadolint_codes(modules)
    instructions = getattr(document, "instructions", None)
    targets = _dockerfile_targets(document, instructions) if instructions is not None else _compose_targets(lines)
    found = []
    for number, line in enumerate(lines, start=1):
        comment = _comment(line, dockerfile=instructions is not None)
        parsed = _parse(comment, known, hadolint) if comment else None
        if parsed is None:
            continue
        rules, whole_file, unknown = parsed
        first, last = (1, len(lines)) if whole_file else targets.get(number, (0, -1))
        found.append(Directive(number, rules, first, last, comment.strip(), unknown))
    return found


def _comment(line: str, dockerfile: bool) -> str:
    """The comment on a line: a Dockerfile's is a whole line; YAML's starts at a `#` at the start
    of the line or after a blank."""
    if dockerfile:
        return line.strip() if line.lstrip().startswith("#") else ""
    match = re.search(r"(?:^|\s)(#.*)$", line)
    return match[1] if match else ""


def _parse(comment: str, known: set[str], hadolint: dict[str, str]) -> tuple[frozenset[str] | None, bool, tuple[str, ...]] | None:
    """(rules or None for all, whether it covers the file, unknown ids) of one comment, or None."""
    if match := HARDEN.search(comment):
        names = [n.strip() for n in (match["rules"] or "").split(",") if n.strip()]
        rules = frozenset(n for n in names if n in known) if names else None
        return rules, match["verb"].lower() == "ignore-file", tuple(n for n in names if n not in known)
    if match := HADOLINT.search(comment):
        codes = [c.strip().upper() for c in match["rules"].split(",") if c.strip()]
        rules = frozenset(hadolint[c] for c in codes if c in hadolint)
        return rules, bool(match["scope"]), ()  # a hadolint code with no harden equivalent is hadolint's business
    return None


def _hadolint_codes(modules: Sequence[ModuleType]) -> dict[str, str]:
    """hadolint code -> the harden rule whose peers name it."""
    codes: dict[str, str] = {}
    for module in modules:
        hadolint = [peer for peer in module.RULE.peers.split(",") if peer.strip().lower().startswith("hadolint ")]
        for code in re.findall(r"DL\d{4}", " ".join(hadolint)):
            codes.setdefault(code.upper(), module.RULE.id)
    return codes


def _dockerfile_targets(document: Any, instructions: Sequence[Any]) -> dict[int, tuple[int, int]]:
    """Comment line (1-based) -> the lines of the instruction below its comment block."""
    targets = {}
    for instruction in instructions:
        for line in range(document.attached_comment_start(instruction), instruction.start_line):
            targets[line + 1] = (instruction.start_line + 1, instruction.end_line + 1)
    return targets


def _compose_targets(lines: list[str]) -> dict[int, tuple[int, int]]:
    """Comment line (1-based) -> the lines of the key it is attached to and its nested block."""
    targets = {}
    for index, line in enumerate(lines):
        if "#" not in line:
            continue
        key = index if line.split("#", 1)[0].strip() else _next_content(lines, index + 1)
        if key is not None:
            targets[index + 1] = (key + 1, _block_end(lines, key) + 1)
    return targets


def _next_content(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            return index
    return None


def _block_end(lines: list[str], key: int) -> int:
    """The last line nested under the key on line `key` (0-based): lines indented deeper (and a
    mapping key's sequence items at its own indent, which YAML allows), with blank and comment
    lines between them."""
    indent = _indent(lines[key])
    is_item = lines[key].lstrip().startswith("- ")
    last = key
    for index in range(key + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        deeper = _indent(lines[index]) > indent
        if not (deeper or (_indent(lines[index]) == indent and not is_item and stripped.startswith("- "))):
            break
        last = index
    return last


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def silenced(found: Iterable[Directive], finding: Finding) -> bool:
    return any(d.covers(finding) for d in found)


def unused(found: Sequence[Directive], findings: Sequence[Finding], path: str) -> list[Finding]:
    """An `info` finding for each directive that silenced none of `findings`, or names a rule
    harden does not know."""
    reported = []
    for directive in found:
        what = ""
        if directive.unknown:
            what = f"names a rule harden does not know ({', '.join(directive.unknown)}; see `harden rules`)"
        elif not any(directive.covers(f) for f in findings):
            what = "silences nothing here"
        if what:
            message = f"{directive.text} {what}: remove it"
            about = str(directive.line)
            reported.append(Finding(UNUSED, message, directive.line, 1, Severity.INFO, UNUSED.title, None, "", about, path))
    return reported
