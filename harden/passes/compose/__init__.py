"""The Compose passes, one module per rule (PASS_MODULES lists them), and the helpers they
share, each on one topic (not passes: they have no RULE):

- layers:    what Compose merges into a service (override files, `extends`): `services()`
             reads a service across them, `here()` says which file edits and reports a key
- images:    a service's image facts (harden.knowledge) and the user it starts as
- reading:   a service's values (lists, mounts, ports, paths, interpolation defaults)
- wants:     `Want`, one key a pass wants on a service
- anchors:   what a change to an anchored mapping (`<<: *defaults`) reaches
- placement: where edits land (`plan`) and the review findings that carry them
- inherit:   a service that extends another adds only what the other does not get
"""
