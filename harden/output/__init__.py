"""Rendering a run: `text` (findings, errors, the summary line), `json`, and `diff` (the reviewed
diff). Plain functions of harden.model data; nothing here prints, reads files or imports click."""
