"""compose-schema: a Compose file that Docker Compose rejects, or reads differently, is not fixed.

What: reports every error of a Compose file against the Compose Specification schema (the
JSON schema Docker Compose validates with), one finding each, at the line and column of the
key or item that is wrong, naming it and what the schema wants: `services.web.cap_drop must
be a list, not 'ALL'`, `services.web.netwrks: the Compose Specification has no key 'netwrks'
here`. It also reports raw U+0085 (NEL), U+2028, U+2029 and U+FEFF characters, which Docker
Compose's YAML parser reads differently from YAML 1.2 parsers (`X: a<NEL>b` is `a b` to one
and an error to the other; written as escapes in a double-quoted string, "\\N", they are
fine), and a `%YAML` directive other than 1.1, which Docker Compose refuses.

harden then applies no fix to that file, whatever the other rules find: nothing is written,
and `harden diff` shows nothing for it. The other rules' findings are still reported, so
`harden check` shows what will be fixed once the file is valid. This is what ruff does with a
syntax error. `--ignore compose-schema` hides these findings but still fixes nothing in such a
file: the engine asks the document (`ComposeDocument.fixable`), not this rule. Extension keys
(`x-...`) may hold anything, as the Specification says; values are checked before
interpolation, so `read_only: ${RO}` passes.

Why: harden's fixes are proven safe against the document harden reads: a fix claims what it
changes, and the output must re-parse and validate. For a file Docker Compose rejects there is
no such proof (the fixed file is still rejected, and the user would review a diff for a file
that cannot run), and for a file the two parsers read differently harden would edit a document
that Docker Compose does not see. Docker Compose itself refuses such a file
(`docker compose config`: `services.web.cap_drop must be a array`).

Fix safety: display (no fix). Correct the file by hand; harden's other fixes follow.

Example (fixtures/compose-schema/invalid):

    services:
      web:
        image: nginx:1.27
        cap_drop: ALL
        ports: 5

is reported and left unchanged (the other rules' findings are listed too; none is applied):

    compose.yaml:4:5: compose-schema services.web.cap_drop must be a list, not 'ALL': ...
    compose.yaml:5:5: compose-schema services.web.ports must be a list, not 5: ...
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context

RULE = Rule(
    id="compose-schema",
    title="Compose files follow the Compose Specification",
    control="Compose Specification",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
    peers="docker compose config",
)
RATIONALE = (
    "Docker Compose rejects a file that does not follow the Compose Specification, or reads it differently from "
    "harden: harden cannot prove a fix safe for it, so it fixes nothing in it until the file is valid."
)


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    seen: dict[str, int] = {}  # a text problem (a raw U+2028, ...) can occur on many lines
    for problem in document.problems:
        if problem.schema:
            message = f"{problem.message}: Docker Compose rejects this file, and harden fixes nothing in it until it is valid"
        else:
            message = f"{problem.message}; harden fixes nothing in this file until then"
        seen[problem.message] = seen.get(problem.message, 0) + 1
        about = problem.message + (f" #{seen[problem.message]}" if seen[problem.message] > 1 else "")
        findings.append(Finding(RULE, message, problem.line, problem.column, Severity.ERROR, RATIONALE, about=about))
    return findings
