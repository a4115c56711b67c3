"""The interactive review (`harden review`): each change the pipeline proposes, approved, skipped
or edited by a person, then written by the same pipeline.

- changes: which changes a run offers (its applied fixes, grouped by `requires`) and the diff
  of each alone.
- session: the questions, with `git add -p`'s keys; no terminal code (the command line gives it
  functions to show, ask and edit).
- hunks, edits: a reviewer's edit of a change, checked by the engine's guard, and the sink that
  lays it over the other approved fixes.
- decisions: saved decisions (JSON), replayed by `harden fix --decisions`.
"""
