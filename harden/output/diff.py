"""The reviewed diff: commentary, a semantic summary and a unified diff `git apply` accepts.

For each changed file: `#` commentary lines (ignored by `git apply` and `patch`, which skip
text before `diff --git`) that list each change with its rule, reason, applicability and what
might break; the semantic summary (the engine's guard compares the parsed input and output);
then a git-style unified diff with `a/` and `b/` paths, followed by each file the fixes create
(`new file mode 100644`, `--- /dev/null`), which `git apply` creates.

Secret values: harden's own text (commentary, summary) never holds one; the unified diff shows
the user's own lines as they are (a removed `PASSWORD=...` line), and with `--redact` masks the
values there too. A file a fix creates to hold a secret is never shown. A `display` fix, never
applied, is shown in the commentary with what it would change, its values masked.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Sequence

from harden.model import Caveat, FileResult, Finding, NewFile, apply_edits, mask
from harden.output.text import caveat_groups, caveats_text

CONTEXT_LINES = 3
WIDTH = 120  # commentary columns (black and ruff allow up to 120 for code; a terminal shows them)
_RESET = "\x1b[0m"
# the first match wins: commentary cyan, file headers bold, hunks magenta, added green, removed red
_COLOURS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("#",), "36"),
    (("+++", "---", "diff --git"), "1"),
    (("@@",), "35"),
    (("+",), "32"),
    (("-",), "31"),
)


def commentary(result: FileResult) -> list[str]:
    """The `#` lines before a file's diff: each change with its rule, reason, applicability,
    evidence and what might break, under the services (or stage) it is about; then the unsafe
    fixes not applied, the display fixes with what each would change (`proposals`), the
    semantic summary and the files the fixes create.

    A change described in the same words for several services (the same rule, message, evidence
    and caveat text) is printed once, headed by all of them (`#   api, worker, web: 2 changes
    each`), so a 40-service project reads as a few paragraphs; headings shared by more services
    come first, what differs per service follows. Every line is wrapped at `WIDTH` columns
    (`wrap`): each piece starts with `#`, which `git apply` needs to skip it."""
    lines = [f"# harden: {result.path}"]
    lines.extend(_grouped(result.applied, "#   "))
    held = held_back(result)
    if held:
        lines.append("#   not applied: no evidence that the service still works (--unsafe-fixes applies them; verify first):")
        lines.extend(_grouped(held, "#     "))
    shown = displayed(result)
    if shown:
        lines.append("#   not applied: display only, harden never applies them (the application must change first):")
        lines.extend(_grouped(shown, "#     "))
        lines.extend(proposals(result, shown, "#     "))
    if result.summary:
        lines.append("#   semantic summary:")
        lines.extend(f"#     {line}" for line in result.summary)
    for path, new in result.new_files.items():
        what = " (an existing file, changed: shown below)" if new.base is not None else ""
        if new.secret:
            what = f" (mode {new.mode:04o}; it holds a secret value, not shown here: `harden fix` writes it)"
        lines.append(f"#   new file: {path}{what}")
    return [piece for line in lines for piece in wrap(line)]


def _grouped(findings: Sequence[Finding], indent: str) -> list[str]:
    """The findings' paragraphs, each printed once under the subjects it applies to.

    Findings with the same rule line (rule, applicability, control, message) make one
    paragraph; its evidence and caveat lines are printed once when they read the same for all
    its subjects, else as `a, b: text; c: other text`. The k-th such finding of one subject
    joins only the k-th of the others, so two changes of one service described alike are both
    listed. A finding about no subject (a Dockerfile instruction) is its own paragraph, without
    a heading, first."""
    merged: dict[tuple[str, tuple[str, ...], int], list[tuple[str, tuple[str, ...]]]] = {}
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    lines: list[str] = []
    for finding in findings:
        head, details = _describe(finding)
        if not finding.subject:
            lines.extend([f"{indent}{head}", *(f"{indent}  {label}: {text}" for label, text in details)])
            continue
        labels = tuple(label for label, _ in details)
        k = seen.get((finding.subject, head, labels), 0)
        seen[(finding.subject, head, labels)] = k + 1
        merged.setdefault((head, labels, k), []).append((finding.subject, tuple(text for _, text in details)))
    headings: dict[tuple[str, ...], list[list[str]]] = {}  # subjects -> their paragraphs, in order
    for (head, labels, _), entries in merged.items():
        paragraph = [head]
        for number, label in enumerate(labels):
            paragraph.append(f"  {label}: {_shared([Caveat(subject, texts[number]) for subject, texts in entries])}")
        headings.setdefault(tuple(subject for subject, _ in entries), []).append(paragraph)
    for subjects, paragraphs in sorted(headings.items(), key=lambda item: -len(item[0])):  # stable: first seen first
        count, each = len(paragraphs), " each" if len(subjects) > 1 else ""
        lines.append(f"{indent}{', '.join(subjects)}: {count} change{'s' if count != 1 else ''}{each}")
        lines.extend(f"{indent}  {line}" for paragraph in paragraphs for line in paragraph)
    return lines


def _shared(texts: Sequence[Caveat]) -> str:
    """One line's text for a paragraph's subjects: alone when it reads the same for all."""
    groups = caveat_groups(texts)
    return groups[0][1] if len(groups) == 1 else caveats_text(texts)


def _describe(finding: Finding) -> tuple[str, list[tuple[str, str]]]:
    """A change's rule line and its (label, text) detail lines, without the subject it is about
    (its heading names it)."""
    fix = finding.fix
    applicability = fix.applicability if fix else "display"
    head = f"{finding.rule.id} [{applicability}] ({finding.rule.control}) {finding.message}"
    details = []
    if fix and fix.evidence:
        details.append(("evidence", "; ".join(e.short() for e in fix.evidence)))
    if fix and fix.caveats:
        details.append(("verify" if applicability == "unsafe" else "might break", _might_break(finding.subject, fix.caveats)))
    return head, details


def held_back(result: FileResult) -> list[Finding]:
    """The unsafe fixes proposed for a file and not applied (no --unsafe-fixes)."""
    applied = {f.id for f in result.applied}
    return [f for f in result.findings if f.fix and f.fix.applicability == "unsafe" and f.id not in applied]


def displayed(result: FileResult) -> list[Finding]:
    """The `display` fixes of a file that were built (on the file as it was read): never applied."""
    return [f for f in result.findings if f.fix and f.fix.applicability == "display" and f.fix.built]


def proposals(result: FileResult, shown: Sequence[Finding], indent: str) -> list[str]:
    """What each display fix would change, as commentary: a unified diff of the file as it was
    read (one line of context) and the files it would create, with every credential value the
    findings name masked (these are harden's lines, not the user's)."""
    secrets = secrets_of(result)
    newline = "\r\n" if "\r\n" in result.original else "\n"
    before = split_lines(result.original)
    lines: list[str] = []
    for finding in shown:
        patch = finding.fix.patch() if finding.fix else None
        if patch is None:
            continue
        after = split_lines(apply_edits(result.original, patch.edits, newline))
        lines.append(f"{indent}{finding.subject}: the display fix of {finding.about} would change:")
        lines.extend(_hunk_lines(before, after, indent + "  "))
        for new in patch.new_files:
            held = f" (mode {new.mode:04o}; it would hold the value)" if new.secret else ""
            lines.append(f"{indent}  and {'change' if new.base is not None else 'create'} {new.path}{held}")
            if new.base is not None:
                lines.extend(_hunk_lines(split_lines(new.base), split_lines(new.text), indent + "  "))
    return [mask(line, secrets) for line in lines]


def _hunk_lines(before: list[str], after: list[str], indent: str) -> list[str]:
    """A unified diff's hunks (one line of context) as commentary lines, without line endings."""
    return unified_hunks([line.rstrip("\r\n") for line in before], [line.rstrip("\r\n") for line in after], 1, indent)


def unified_hunks(before: list[str], after: list[str], context: int, indent: str = "") -> list[str]:
    """The unified hunks (`@@` headers, ` `, `-` and `+` lines) from `before` to `after` (lines
    without endings), with `context` lines around each change, each line after `indent`."""
    lines = []
    for group in difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(context):
        lines.append(f"{indent}@@ -{_range(group[0][1], group[-1][2])} +{_range(group[0][3], group[-1][4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(f"{indent} {line}" for line in before[i1:i2])
                continue
            lines.extend(f"{indent}-{line}" for line in before[i1:i2])
            lines.extend(f"{indent}+{line}" for line in after[j1:j2])
    return lines


def _might_break(subject: str, caveats: Sequence[Caveat]) -> str:
    """What might break: under a service's (or services') heading, their shared text alone."""
    groups = caveat_groups(caveats)
    if subject and len(groups) == 1 and ", ".join(groups[0][0]) == subject:
        return groups[0][1]
    return caveats_text(caveats)


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """A commentary line (`#` and an indentation, then text) as lines of at most `width`
    columns, each starting with the line's `#` and indentation, continuations indented four more.

    Text with line breaks of its own (a heredoc in the semantic summary, a name with a newline)
    is split there first: `git apply` skips only lines that start with `#` before `diff --git`.
    Long lines break at spaces; a word longer than a line (a hostile name) is cut, so the
    width holds for any input."""
    first, *rest = line.splitlines()
    prefix = first[: len(first) - len(first.lstrip("# "))]
    more = prefix + "    "
    pieces = [first, *((more + piece).rstrip() for piece in rest)]
    out: list[str] = []
    for number, piece in enumerate(pieces):
        if len(piece) <= width:
            out.append(piece)
            continue
        start = prefix if number == 0 else more
        out.extend(
            textwrap.wrap(
                piece[len(start) :],
                width,
                initial_indent=start,
                subsequent_indent=more,
                break_on_hyphens=False,
                expand_tabs=False,
                replace_whitespace=False,
            )
        )
    return out


def unified(result: FileResult, display_prefix: str = "", redact: bool = False) -> str:
    """The git-style unified diff of one file and of the files its fixes create (empty when
    nothing changed). A file that holds a secret (NewFile.secret) is left out: the commentary
    names it, and `git apply` of the diff then makes a project whose missing secret file Compose
    reports, rather than one with a wrong value. `redact`: the credential values the findings
    name (Finding.secrets) are masked in every line, the user's own removed and context lines
    too (the diff then no longer applies)."""
    if not result.changed:
        return ""
    out = [_changed(result, display_prefix)] if result.output != result.original else []
    out.extend(_created(path, new, display_prefix) for path, new in result.new_files.items() if not new.secret)
    text = "".join(out)
    return mask(text, secrets_of(result)) if redact else text


def secrets_of(result: FileResult) -> set[str]:
    """The credential values the findings of a file name."""
    return {s for f in (*result.findings, *result.applied, *result.remaining) for s in f.secrets}


def _created(path: str, new: NewFile, display_prefix: str) -> str:
    """A new file as `git diff` shows one (an empty file has no hunk); a file the fix extends
    (NewFile.base) as a change of the file there."""
    if new.base is not None:
        return _hunks(path, split_lines(new.base), split_lines(new.text), display_prefix)
    name = _git_name("b/", display_prefix, path)
    mode = "100755" if new.mode & 0o111 else "100644"
    out = [f"diff --git {_git_name('a/', display_prefix, path)} {name}\n", f"new file mode {mode}\n"]
    lines = split_lines(new.text)
    if lines:
        out.extend(["--- /dev/null\n", f"+++ {name}\n", f"@@ -0,0 +{_range(0, len(lines))} @@\n", *_lines("+", lines)])
    return "".join(out)


def _changed(result: FileResult, display_prefix: str) -> str:
    bom = "\ufeff" if result.bom else ""
    return _hunks(result.path, split_lines(bom + result.original), split_lines(bom + result.output), display_prefix)


def _hunks(path: str, before: list[str], after: list[str], display_prefix: str) -> str:
    old, new = _git_name("a/", display_prefix, path), _git_name("b/", display_prefix, path)
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


def reviewed(result: FileResult, color: bool = False, redact: bool = False) -> str:
    """Commentary followed by the unified diff, optionally coloured for a terminal; `redact`:
    see `unified`."""
    body = unified(result, redact=redact)
    if not body and not held_back(result) and not displayed(result):
        return ""
    text = "\n".join(commentary(result)) + "\n" + body
    if not color:
        return text
    return "".join(_styled(line) for line in text.splitlines(keepends=True))


def _styled(line: str) -> str:
    """A line in the colours of `git diff` (plain ANSI codes, as click.style writes them)."""
    for prefixes, code in _COLOURS:
        if line.startswith(prefixes):
            return f"\x1b[{code}m{line}{_RESET}"
    return line
