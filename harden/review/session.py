"""The review's questions, with the keys and meanings of `git add -p`.

For each undecided change in turn the session shows it and asks `Apply this change
[y,n,q,a,d,j,k,e,?]? `; an answer is a line (git's default, not a single key). After an answer
that decides, it moves to the next undecided change, and from the last one back to the first
undecided one, as git does; it ends when every change is decided, or at `q`. `j` and `k` leave a
change undecided and move to the next or previous undecided one (not around the end). An answer
it does not know prints the help. The terminal itself belongs to the command line: the session
gets functions to show text, ask a question and edit a change, so that it imports no terminal
library and runs the same under any front end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harden.review.changes import Change
from harden.review.edits import Edited

PROMPT = "Apply this change [y,n,q,a,d,j,k,e,?]? "
HELP = """y - apply this change
n - do not apply this change
q - quit; do not apply this change or any of the remaining ones (what was approved is written)
a - apply this change and all later changes in this file
d - do not apply this change or any of the later changes in this file
j - leave this change undecided, see next undecided change
k - leave this change undecided, see previous undecided change
e - manually edit the current change
? - print help"""

APPLY, SKIP, EDIT = "apply", "skip", "edit"


class Session:
    """One review: `decided[i]` is APPLY, SKIP, EDIT or None (undecided) for `changes[i]`; the
    edits made with `e` are in `edits[i]`. Decisions known beforehand (saved ones) may be set
    before `run`, which then asks only about the rest."""

    def __init__(
        self,
        changes: Sequence[Change],
        show: Callable[[int], None],
        ask: Callable[[str], str],
        say: Callable[[str], None],
        edit: Callable[[Change], Edited | None],
    ) -> None:
        self.changes = changes
        self.show, self.ask, self.say, self.edit = show, ask, say, edit
        self.decided: list[str | None] = [None] * len(changes)
        self.edits: dict[int, Edited] = {}

    def undecided(self, indices: range | Sequence[int]) -> int | None:
        return next((i for i in indices if self.decided[i] is None), None)

    def following(self, current: int) -> int | None:
        """The next undecided change after `current`, else the first undecided one."""
        found = self.undecided(range(current + 1, len(self.changes)))
        return found if found is not None else self.undecided(range(len(self.changes)))

    def run(self) -> None:
        current = self.undecided(range(len(self.changes)))
        shown = None
        while current is not None:
            if shown != current:
                self.show(current)
                shown = current
            answer = self.ask(PROMPT).strip()
            if answer == "q":
                return
            if answer in ("y", "n", "a", "d", "e"):
                if self.decide(current, answer):
                    current = self.following(current)
                continue
            if answer in ("j", "k"):
                current = self.move(current, answer)
            elif answer:
                self.say(HELP)

    def decide(self, current: int, answer: str) -> bool:
        """Apply an answer that decides (y, n, a, d, e); False when nothing was decided (an edit
        refused or abandoned: the change is asked again)."""
        if answer == "e":
            edited = self.edit(self.changes[current])
            if edited is None:
                return False
            self.decided[current], self.edits[current] = EDIT, edited
            return True
        choice = APPLY if answer in ("y", "a") else SKIP
        self.decided[current] = choice
        if answer in ("a", "d"):
            path = self.changes[current].path
            for later in range(current + 1, len(self.changes)):
                if self.decided[later] is None and self.changes[later].path == path:
                    self.decided[later] = choice
        return True

    def move(self, current: int, key: str) -> int:
        if key == "j":
            found = self.undecided(range(current + 1, len(self.changes)))
        else:
            found = self.undecided(range(current - 1, -1, -1))
        if found is None:
            self.say(f"No {'next' if key == 'j' else 'previous'} undecided change.")
            return current
        return found


def summary(changes: Sequence[Change], decided: Sequence[str | None]) -> list[str]:
    """What was applied and skipped, one line per change; a note where fixes were decided together."""
    verbs = {APPLY: "applied", EDIT: "applied as edited", SKIP: "skipped", None: "skipped (undecided)"}
    counts = {"applied": 0, "skipped": 0}
    lines = []
    for change, choice in zip(changes, decided, strict=True):
        counts["applied" if choice in (APPLY, EDIT) else "skipped"] += 1
        lines.append(f"  {verbs[choice]}: {', '.join(change.paths)}: {change.label()}")
        if len(change.members) > 1 and choice not in (APPLY, EDIT):
            lines.append(f"    declined together ({'; '.join(change.requirements())}): never one without the other")
    head = f"Review: {counts['applied']} change{'s' if counts['applied'] != 1 else ''} applied, {counts['skipped']} skipped."
    return [head, *lines]
