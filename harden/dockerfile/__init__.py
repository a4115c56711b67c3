"""Dockerfiles: read with BuildKit's rules, positions and edits for the passes, a second opinion.

- `scan`: the line scanner (directives, continuations, heredocs) -> instructions with spans
- `document`: `DockerfileDocument` (stages, FROM chains, ARG defaults, positions, semantic view)
- `edits`: building the edits passes make (insert lines, append, replace a word)
- `crosscheck`: `validate_output`, dockerfile-parse's independent reading of every output
- `templates`: the jinja2 snippets passes insert
- `build`: which Dockerfile and stage a Compose service builds (paths computed, never read)

The engine uses this package as a document module: `parse`, `validate_output`.
"""

from harden.dockerfile.crosscheck import validate_output
from harden.dockerfile.document import DockerfileDocument, Stage, parse, user_of
from harden.dockerfile.scan import HEREDOC_KEYWORDS, KEYWORDS, Heredoc, Instruction

__all__ = [
    "HEREDOC_KEYWORDS",
    "KEYWORDS",
    "DockerfileDocument",
    "Heredoc",
    "Instruction",
    "Stage",
    "parse",
    "user_of",
    "validate_output",
]
