"""The reviewed diff: commentary, a semantic summary and a unified diff `git apply` accepts.

For each changed file: `#` commentary lines (ignored by `git apply` and `patch`, which skip
text before `diff --git`) that list each change with its rule, reason, applicability and what
might break; the semantic summary computed with deepdiff between the parsed input and output;
then a git-style unified diff with `a/` and `b/` paths.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harden.model import Caveat, Claim, FileResult, Finding
from harden.report import caveat_groups, caveats_text

CONTEXT_LINES = 3
# Sections of a semantic document whose values count equal items (a Dockerfile stage's
# instructions are a multiset: {"USER app": 1}); elsewhere an int is a value (pids_limit: 1024).
COUNTED_SECTIONS = ("stages", "global")


@dataclass(frozen=True)
class Change:
    """One semantic change: `kind` is added, removed or changed."""

    kind: str
    path: Claim
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        where = ".".join(str(p) for p in self.path[:-1]) if self.path else ""
        leaf = self.path[-1] if self.path else ""
        counted = bool(self.path) and self.path[0] in COUNTED_SECTIONS
        if counted and self.kind == "changed" and _is_count(self.old) and _is_count(self.new) and isinstance(leaf, str):
            return f"{'+' if self.new > self.old else '-'} {where}: {leaf}"  # one more (or fewer) of an item
        if self.kind == "changed":
            return f"{sign} {where}.{leaf}: {_short(self.old)} -> {_short(self.new)}" if where else f"{sign} {leaf}"
        value = self.new if self.kind == "added" else self.old
        if isinstance(leaf, int) or (counted and _is_count(value)):
            shown = _short(value) if isinstance(leaf, int) else str(leaf)
            return f"{sign} {where}: {shown}"
        return f"{sign} {where}.{leaf}: {_short(value)}" if where else f"{sign} {leaf}: {_short(value)}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


def semantic_changes(before: Any, after: Any) -> list[Change]:
    """Every difference between two parsed documents, as key paths (deepdiff's tree view).

    Mappings are walked while they are mappings on both sides and equal subtrees are skipped
    with `==`, so deepdiff only compares the parts that differ (most of a file does not).
    """
    changes: list[Change] = []
    _walk(before, after, (), changes)
    changes.sort(key=lambda c: (tuple(str(p) for p in c.path), c.kind))
    return changes


def _walk(before: Any, after: Any, prefix: Claim, changes: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in (*before, *(k for k in after if k not in before)):
            if key not in after:
                changes.append(Change("removed", (*prefix, key), before[key], None))
            elif key not in before:
                changes.append(Change("added", (*prefix, key), None, after[key]))
            else:
                _walk(before[key], after[key], (*prefix, key), changes)
        return
    changes.extend(_deepdiff(before, after, prefix))


_KINDS = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "attribute_added": "added",
    "set_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "attribute_removed": "removed",
    "set_item_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
    "repetition_change": "changed",
}


def _deepdiff(before: Any, after: Any, prefix: Claim) -> list[Change]:
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: never report a whole mapping as replaced because many of its
    # keys changed; claims are matched against the deepest paths.
    report = DeepDiff(before, after, view="tree", ignore_order=False, verbose_level=2, threshold_to_diff_deeper=0)
    changes = []
    for report_type, levels in report.items():
        kind = _KINDS.get(report_type, "changed")
        for level in levels:
            path = (*prefix, *level.path(output_format="list"))
            old = None if kind == "added" else level.t1
            new = None if kind == "removed" else level.t2
            changes.append(Change(kind, path, old, new))
    return changes


def commentary(result: FileResult) -> list[str]:
    """The `#` lines before a file's diff: each change with its rule, reason, applicability
    and what might break, grouped by service (or stage) when the findings name one."""
    lines = [f"# harden: {result.path}"]
    groups: dict[str, list[Finding]] = {}
    for finding in result.applied:
        groups.setdefault(finding.subject, []).append(finding)
    for subject, findings in groups.items():
        indent = "#   "
        if subject:
            count = len(findings)
            lines.append(f"#   {subject}: {count} change{'s' if count != 1 else ''}")
            indent = "#     "
        for finding in findings:
            lines.extend(_describe(finding, indent))
    if result.summary:
        lines.append("#   semantic summary:")
        lines.extend(f"#     {line}" for line in result.summary)
    return lines


def _describe(finding: Finding, indent: str) -> list[str]:
    fix = finding.fix
    applicability = fix.applicability if fix else "display"
    lines = [f"{indent}{finding.rule.id} [{applicability}] ({finding.rule.control}) {finding.message}"]
    if fix and fix.caveats:
        lines.append(f"{indent}  might break: {_might_break(finding.subject, fix.caveats)}")
    return lines


def _might_break(subject: str, caveats: Sequence[Caveat]) -> str:
    """What might break: under a service's (or services') heading, their shared text alone."""
    groups = caveat_groups(caveats)
    if subject and len(groups) == 1 and ", ".join(groups[0][0]) == subject:
        return groups[0][1]
    return caveats_text(caveats)


def unified(result: FileResult, display_prefix: str = "") -> str:
    """The git-style unified diff of one file (empty when nothing changed)."""
    if not result.changed:
        return ""
    bom = "\ufeff" if result.bom else ""
    before = split_lines(bom + result.original)
    after = split_lines(bom + result.output)
    old, new = _git_name("a/", display_prefix, result.path), _git_name("b/", display_prefix, result.path)
    out = [f"diff --git {old} {new}\n", f"--- {old}\n", f"+++ {new}\n"]
    for group in difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(CONTEXT_LINES):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_lines(" ", before[i1:i2]))
                continue
            out.extend(_lines("-", before[i1:i2]))
            out.extend(_lines("+", after[j1:j2]))
    return "".join(out)


def _git_name(side: str, prefix: str, path: str) -> str:
    """`a/path` as git writes it: a C-quoted display name (discover.display_name) keeps its
    quotes outside the prefix, `"a/x\\ty"`, which `git apply` reads back to the real name."""
    if path.startswith('"'):
        return f'"{side}{prefix}{path[1:]}'
    return side + prefix + path.replace("\\", "/")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split at "\n" only (str.splitlines also splits at form feeds
    and Unicode separators, which git does not)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _range(start: int, end: int) -> str:
    length = end - start
    if length == 0:
        return f"{start},0"
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1},{length}"


def _lines(sign: str, lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(sign + line)
        else:
            out.append(sign + line + "\n\\ No newline at end of file\n")
    return out


def reviewed(result: FileResult, color: bool = False) -> str:
    """Commentary followed by the unified diff, optionally coloured for a terminal."""
    body = unified(result)
    if not body:
        return ""
    text = "\n".join(commentary(result)) + "\n" + body
    if not color:
        return text
    import click

    styled = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#"):
            styled.append(click.style(line, fg="cyan"))
        elif line.startswith(("+++", "---", "diff --git")):
            styled.append(click.style(line, bold=True))
        elif line.startswith("@@"):
            styled.append(click.style(line, fg="magenta"))
        elif line.startswith("+"):
            styled.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            styled.append(click.style(line, fg="red"))
        else:
            styled.append(line)
    return "".join(styled)
