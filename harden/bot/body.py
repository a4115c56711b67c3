"""The description of harden's pull request: rendered from `templates/pr/body.md.j2`, read back
for the boxes a reviewer ticked, and fitted under the forge's limit.

Top to bottom, so that a reviewer can read it in a minute: the marker line
`<!-- harden:pull-request topic=<topic> -->` (how harden knows its own body), one sentence
(files, changes, how many need review, pins moved, changes dropped), the table of the applied
changes (file, service, rule, applicability, evidence, what might break), the table of refreshed
digests (image, tag, old and new digest, file) when pins moved, the service graph (a Mermaid
block, which GitHub draws) and the report of `harden verify` when given, the reviewed diff's
commentary (harden.output.diff.commentary) folded in `<details>`, one box per change,
`- [ ] drop: <rule> in <file> (<service>) <!-- harden:drop <id> -->`, a ticked box per change
a reviewer dropped, and a footer.

Markdown is GitHub's: text from findings is escaped (`*`, `_`, `<`, ... cannot format or hide
anything; a balanced `` `code` `` span in a message stays code), rule ids, paths, services and
digests are code spans, a table cell holds no line break and escapes `|`, and `@name` is broken
with a zero-width space, so a file cannot make the bot notify anyone (as Renovate does).

Secrets: every credential value the findings name (Finding.secrets) is masked (`***`,
harden.model.mask) in everything the body shows, before escaping (an escaped value would no
longer match). harden's own text never holds one; this is the second lock.

Deterministic: the same results give the same body byte for byte (no dates, no timings); the
order is the results' and their findings'.

What might break: a human's edits of the body are not kept (harden rewrites it on every run);
only the ticked boxes are read back, by finding id, so a box keeps working when its label is
edited, and a box whose line is changed in any other way is no longer seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any

import jinja2

from harden.dockerfile.templates import templates_dir
from harden.model import ID_LENGTH, Applicability, FileResult, Finding, mask
from harden.output.diff import commentary, secrets_of
from harden.output.text import caveat_groups, caveats_text

TEMPLATE = "pr/body.md.j2"
PIN_RULES = frozenset({"pin-image", "pin-base-image"})
_TOPIC = re.compile(r"[a-z0-9][a-z0-9-]*")
_BOX = re.compile(rf"- \[[xX]\] drop: (?P<label>\S.*?) <!-- harden:drop (?P<id>[0-9a-f]{{{ID_LENGTH}}}) -->")
# harden.passes.pins: `name:tag moved: old -> new` (tests/test_bot_body.py reads real moves)
_MOVED = re.compile(r"(?P<image>\S+):(?P<tag>\w[\w.-]*) moved: (?P<old>sha256:[0-9a-f]{64}) -> (?P<new>sha256:[0-9a-f]{64})")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MENTION = re.compile(r"(?<!\w)@(?=\w)")
_NO_EVIDENCE = {Applicability.SAFE: "— (safe)", Applicability.UNSAFE: "none (--unsafe-fixes)"}
_LEFT_OUT = (  # what goes first when the body is too long, and what is said instead
    ("commentary", "the reviewed diff's commentary (`harden diff` prints it)"),
    ("graph", "the service graph (`harden graph --format mermaid` prints it)"),
    ("verify", "the report of `harden verify`"),
)


@dataclass(frozen=True)
class Dropped:
    """A change a reviewer dropped by ticking its box: the finding's id, and its box's label as
    last shown (kept, so the box reads the same on later runs)."""

    id: str
    label: str


@dataclass(frozen=True)
class DigestMove:
    """A pin moved to what its tag points to now (`harden --refresh`), in the file `path`."""

    image: str
    tag: str
    old: str
    new: str
    path: str


def ticked(body: str) -> list[Dropped]:
    """The ticked drop boxes of a body, first of each id first: lines of exactly the form
    `- [x] drop: <label> <!-- harden:drop <id> -->` (`[X]` too; trailing spaces and `\\r\\n`,
    which GitHub's editor writes, are allowed). Everything else is ignored: unticked boxes,
    a human's text, an indented box (nested in another list item)."""
    found: dict[str, Dropped] = {}
    for line in body.splitlines():
        match = _BOX.fullmatch(line.rstrip())
        if match and match["id"] not in found:
            found[match["id"]] = Dropped(match["id"], match["label"])
    return list(found.values())


def digest_moves(results: Sequence[FileResult]) -> list[DigestMove]:
    """The pins the applied fixes move (pin-image, pin-base-image with `--refresh`), once each per
    file (two services of one image move alike), in order. A pin set for the first time is not a move."""
    return list(dict.fromkeys(move for result in results for move in _moves(result)))


def _moves(result: FileResult) -> list[DigestMove]:
    """A move per applied pin finding that moves one."""
    moves = []
    for finding in result.applied:
        match = _MOVED.match(finding.message) if finding.rule.id in PIN_RULES else None
        if match:
            moves.append(DigestMove(match["image"], match["tag"], match["old"], match["new"], result.path))
    return moves


@dataclass(frozen=True)
class _Body:
    """What the template shows, escaped and masked; `_fit` shortens it."""

    marker: str
    summary: str
    rows: tuple[tuple[str, ...], ...]
    digests: tuple[tuple[str, ...], ...]
    graph: str
    verify: str
    commentary: str
    boxes: tuple[str, ...]
    ticked: tuple[str, ...]
    version: str
    limit: int
    more_rows: int = 0
    more_digests: int = 0
    boxes_left: int = 0
    left_out: tuple[str, ...] = ()


def render(
    topic: str,
    results: Sequence[FileResult],
    dropped: Sequence[Dropped],
    graph: str | None,
    verify: str | None,
    limit: int,
    version: str,
) -> str:
    """The body of the pull request of `topic` (see the module docstring), at most `limit`
    characters (`_fit`). `graph` is a Mermaid graph (harden.output.graph.mermaid), `verify`
    the text `harden verify` printed; each is shown in a fenced block. A dropped change is shown
    with its ticked box only (it is not in `results`: the run left it out)."""
    if not _TOPIC.fullmatch(topic):
        raise ValueError(f"a topic is lower-case letters, digits and dashes, not {topic!r}")
    secrets = frozenset(s for result in results for s in secrets_of(result))
    cell, line = _Markdown(secrets, table=True), _Markdown(secrets, table=False)
    applied = [(result, finding) for result in results for finding in result.applied]
    gone = {d.id for d in dropped}
    labels = list(zip(applied, _labels(applied, line), strict=True))
    moves = digest_moves(results)
    body = _Body(
        marker=f"<!-- harden:pull-request topic={topic} -->",
        summary=line.prose(_summary(results, len(gone), sum(len(_moves(r)) for r in results))),
        rows=tuple(_row(result, finding, cell) for result, finding in applied),
        digests=tuple(tuple(cell.code(v) for v in (m.image, m.tag, m.old, m.new, m.path)) for m in moves),
        graph=_fenced(graph, "mermaid", secrets),
        verify=_fenced(verify, "text", secrets),
        commentary="\n\n".join(_fenced("\n".join(commentary(r)), "text", secrets) for r in results if r.changed),
        boxes=tuple(f"- [ ] drop: {label} <!-- harden:drop {f.id} -->" for (_, f), label in labels if f.id not in gone),
        ticked=tuple(f"- [x] drop: {mask(d.label, secrets)} <!-- harden:drop {d.id} -->" for d in _unique(dropped)),
        version=version,
        limit=limit,
    )
    return _fit(body, limit)


def _summary(results: Sequence[FileResult], dropped: int, moved: int) -> str:
    """The first sentence: `harden hardens 2 files (and creates 2): 17 changes (15 need review,
    2 safe).`, with the pins moved and the changes dropped; zero parts are left out."""
    tiers = [f.applicability for r in results for f in r.applied]
    changed = [r for r in results if r.changed]
    created = sum(len(r.new_files) for r in changed)
    review = tiers.count(Applicability.REVIEW) + tiers.count(Applicability.UNSAFE)
    unsafe = tiers.count(Applicability.UNSAFE)
    parts = [
        f"{review} need review" if review else "",
        f"{unsafe} of them without evidence (--unsafe-fixes)" if unsafe else "",
        f"{tiers.count(Applicability.SAFE)} safe" if Applicability.SAFE in tiers else "",
    ]
    if tiers:
        made = f" (and creates {created})" if created else ""
        text = f"harden hardens {_plural(len(changed), 'file')}{made}: {_plural(len(tiers), 'change')}"
        text += f" ({', '.join(p for p in parts if p)})"
    else:
        text = "harden has nothing to change"
    if moved:
        text += f"; {_plural(moved, 'pin')} moved to the digest {'its tag points' if moved == 1 else 'their tags point'} to now"
    if dropped:
        text += f"; {_plural(dropped, 'change')} dropped by a ticked box"
    return text + "."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _row(result: FileResult, finding: Finding, cell: _Markdown) -> tuple[str, ...]:
    """One applied change: file, service, rule, applicability, evidence, what might break."""
    fix = finding.fix
    applicability = finding.applicability
    evidence = "; ".join(e.short() for e in fix.evidence) if fix else ""
    return (
        cell.code(result.path),
        cell.services(finding.subject) or "—",
        cell.code(finding.rule.id),
        str(applicability),
        cell.prose(evidence or _NO_EVIDENCE.get(applicability, "—")),
        cell.prose(_might_break(finding) or "—"),
    )


def _might_break(finding: Finding) -> str:
    """The fix's caveats on one line; under the row's own service, its text alone."""
    caveats = finding.fix.caveats if finding.fix else ()
    groups = caveat_groups(caveats)
    if len(groups) == 1 and ", ".join(groups[0][0]) in (finding.subject, ""):
        return groups[0][1]
    return caveats_text(caveats)


def _labels(applied: Sequence[tuple[FileResult, Finding]], line: _Markdown) -> list[str]:
    """Each box's `<rule> in <file> (<service>)`; boxes that would read alike (two variables of
    one service) each add what they are about."""
    labels = []
    for result, finding in applied:
        service = line.services(finding.subject)
        labels.append(f"{line.code(finding.rule.id)} in {line.code(result.path)}" + (f" ({service})" if service else ""))
    for number, (label, (_, finding)) in enumerate(zip(list(labels), applied, strict=True)):
        if labels.count(label) > 1 and finding.about:
            labels[number] = f"{label}, {line.code(finding.about)}"
    return labels


def _unique(dropped: Sequence[Dropped]) -> list[Dropped]:
    """The first of each id."""
    first: dict[str, Dropped] = {}
    for d in dropped:
        first.setdefault(d.id, d)
    return list(first.values())


def _fenced(text: str | None, info: str, secrets: frozenset[str]) -> str:
    """`text` (masked) in a fenced code block whose fence no line of it can close; '' for none."""
    if not text:
        return ""
    text = mask(text.strip("\n"), secrets)
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return f"{fence}{info}\n{text}\n{fence}"


def _plain(text: str) -> str:
    """Text outside code spans: Markdown's characters escaped, a mention broken."""
    return _MENTION.sub("@&#8203;", _SPECIAL.sub(r"\\\1", text))


class _Markdown:
    """Text, masked and escaped for one place of a body: a table cell (`table`) or a line."""

    def __init__(self, secrets: frozenset[str], table: bool) -> None:
        self.secrets = secrets
        self.table = table

    def prose(self, text: str) -> str:
        """Words: on one line, Markdown's characters escaped, balanced code spans kept."""
        pieces = _CODE_SPAN.split(" ".join(mask(text, self.secrets).split()))
        return "".join(self._escaped(p) if number % 2 else _plain(p) for number, p in enumerate(pieces))

    def code(self, text: str) -> str:
        """A code span (a path, a rule id, a digest) on one line, whatever backticks it holds."""
        text = " ".join(mask(text, self.secrets).splitlines()) or " "
        ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
        pad = " " if text[0] == "`" or text[-1] == "`" else ""
        return self._escaped(f"{ticks}{pad}{text}{pad}{ticks}")

    def services(self, subject: str) -> str:
        """`web`, `db` for a finding about those services; '' for none."""
        return ", ".join(self.code(name) for name in subject.split(", ")) if subject else ""

    def _escaped(self, span: str) -> str:
        # GitHub splits a table row at `|` before it reads code spans: only `\|` stays in the cell
        return span.replace("|", "\\|") if self.table else span


def _fit(body: _Body, limit: int) -> str:
    """The body under `limit` characters: first without the commentary, the graph and the verify
    report (each named as left out), then with fewer table rows (`… and N more`), then, when
    even the boxes are too many, with the ticked boxes (the reviewer's decisions) and as many
    other boxes as fit, saying how many have none. The marker is always kept."""
    text = _text(body)
    for section, said in _LEFT_OUT:
        if len(text) <= limit:
            return text
        if getattr(body, section):
            emptied: dict[str, Any] = {section: ""}
            body = replace(body, left_out=(*body.left_out, said), **emptied)
            text = _text(body)
    if len(text) <= limit:
        return text
    rows, digests = body.rows, body.digests

    def tables(kept_rows: int, kept_digests: int) -> _Body:
        return replace(
            body,
            rows=rows[:kept_rows],
            more_rows=len(rows) - kept_rows,
            digests=digests[:kept_digests],
            more_digests=len(digests) - kept_digests,
        )

    if _fits(tables(0, len(digests)), limit):
        return _text(tables(_most(len(rows), lambda k: _fits(tables(k, len(digests)), limit)), len(digests)))
    if _fits(tables(0, 0), limit):
        return _text(tables(0, _most(len(digests), lambda k: _fits(tables(0, k), limit))))
    return _boxes(tables(0, 0), limit)


def _boxes(body: _Body, limit: int) -> str:
    """The body with as many boxes as fit, the ticked ones first (a lost ticked box would undo a
    decision on the next run); ValueError when not even the marker and the summary fit."""
    boxes, kept = body.boxes, body.ticked

    def keeping(unticked: int, ticked_kept: int) -> _Body:
        left = len(boxes) - unticked + len(kept) - ticked_kept
        return replace(body, boxes=boxes[:unticked], ticked=kept[:ticked_kept], boxes_left=left)

    if _fits(keeping(0, len(kept)), limit):
        return _text(keeping(_most(len(boxes), lambda k: _fits(keeping(k, len(kept)), limit)), len(kept)))
    if not _fits(keeping(0, 0), limit):
        raise ValueError(f"a pull-request body cannot be written in {limit} characters")
    return _text(keeping(0, _most(len(kept), lambda k: _fits(keeping(0, k), limit))))


def _most(count: int, fits: Callable[[int], bool]) -> int:
    """The largest k in 0..count for which `fits(k)`, given that it holds for 0 and, once false,
    stays false for larger k."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _fits(body: _Body, limit: int) -> bool:
    return len(_text(body)) <= limit


def _text(body: _Body) -> str:
    return _template().render(**asdict(body))


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return environment.get_template(TEMPLATE)
