"""Compose documents: ruamel.yaml's tree locates, edits splice text.

Design
------
A Compose file is parsed once into ruamel.yaml's round-trip tree (CommentedMap/CommentedSeq,
ruamel imported lazily). The tree is only used to *read* and to *locate*: every mapping key,
sequence item and collection knows its line and column, and anchors, tags (`!reset`,
`!override`) and merge keys (`<<`) are kept. Output is never produced by dumping the tree (a
load-and-dump round trip is byte-identical for 0 of the 39 corpus files, RECIPES.md §3). Every
edit builder returns `harden.model.Edit`s instead: replacements of spans of the original text,
found from the positions in the tree plus a small line scanner for what the tree does not hold
(where a block collection ends, where a scalar ends, where a flow collection closes). Everything
outside an edit stays byte for byte: comments, blank lines, quoting, `${VAR}` and `$$`, CRLF.
The tree has no comment attachments (`.ca`): comments are read from `document.text`.

Modules (each module's docstring holds its decisions):

- load:      text -> ruamel.yaml's tree, and every refusal of bad input (DocumentError)
- walk:      one pass over the tree: alias-expansion and depth limits, anchors, the file's Style
- tree:      reading ruamel's nodes (merges, tags, anchors, own keys) and plain Python data
- scan:      text scanners: ends of entries, blocks, quoted scalars (the one quote scanner),
             flow collections
- locate:    positions (ruamel's `.lc` is read here and in tree/walk only; passes ask the document)
- render:    new YAML text in the file's style: scalars, nested mappings and sequences, block or flow
- edits:     add a key, a top-level key; extend a sequence; replace a scalar or an item
- remove:    remove a key or a sequence item (block and flow)
- sharing:   when an edit through one service would change other places (aliases, merges)
- validate:  the Compose Specification schema and `problems` (files read but never fixed)
- values:    ports, mounts and environment, each in both syntaxes: one parser each
- project:   override files and `extends` (which files form a project, merged how), `merge()`
             of a service's mappings, `merge_top_level()` of networks/volumes/secrets/configs
- service, document: the Service and ComposeDocument classes, `parse`

Speed: ruamel.yaml's pure-Python round-trip loader (with the plain scanner and parser) is the
one loader. A line-based "fast loader" that rebuilt ruamel's tree for the block-YAML subset
through ruamel's private hooks was deleted: `python tests/bench/bench_compose.py --against
4dea83e` (the last commit with it; best of 9 alternating runs, 2-core machine) printed

    what the user runs                             4dea83e   this tree   difference
    check, one file                                 264 ms      270 ms     +7 ms (+2%)
    fix --output, one file                          279 ms      283 ms     +5 ms (+2%)
    check, three-file project (-f a -f b -f c)      260 ms      267 ms     +7 ms (+3%)
    fix --output, three-file project                279 ms      291 ms    +12 ms (+4%)
    check, the 39-file corpus                       328 ms      392 ms    +65 ms (+20%)
    fix --output, the 39-file corpus                489 ms      671 ms   +183 ms (+37%)
    parse only, 39 files x 20 (in-process)          241 ms     1601 ms   +1.7 ms a parse

and over four runs (one of them before the package split) the one-to-three-file differences ranged from -8 to +27 ms, the corpus
ones from +55 to +127 ms (check) and +183 to +205 ms (fix). A user's project of one to three
files pays a few milliseconds of a ~0.3 s run (Python's start-up and imports dominate); only
batch runs over dozens of files notice, not enough to keep ~450 lines that depend on
ruamel.yaml's private attributes and must build its tree exactly.

Names the passes import from here stay importable from `harden.compose` (this module
re-exports them), including the underscore names of the old single module.
"""

from __future__ import annotations

from harden.compose.document import ComposeDocument, Owner, parse
from harden.compose.locate import DocPath, is_alias_value
from harden.compose.project import APPEND_KEYS, MAPPING_KEYS, RESOURCE_KEYS, merge, merge_top_level
from harden.compose.render import Style, plain_ok
from harden.compose.service import Service
from harden.compose.tree import anchor_name, merges, own, own_items, tag
from harden.compose.validate import SCHEMA_PATH, Problem, schema_problems, validate_output
from harden.compose.values import Mount, Port, environment, mounts, parse_port, parse_volume, ports, split_colons
from harden.compose.walk import ALIAS_EXPANSION_RATIO, MAX_ALIAS_EXPANSION, MAX_DEPTH, AnchorInfo

# The names of the single module harden/compose.py that the passes import (until they switch to
# the public ones above).
_is_alias_value = is_alias_value
_merges = merges
_own = own
_tag = tag

__all__ = [
    "ALIAS_EXPANSION_RATIO",
    "APPEND_KEYS",
    "MAPPING_KEYS",
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "RESOURCE_KEYS",
    "SCHEMA_PATH",
    "AnchorInfo",
    "ComposeDocument",
    "DocPath",
    "Mount",
    "Owner",
    "Port",
    "Problem",
    "Service",
    "Style",
    "anchor_name",
    "environment",
    "is_alias_value",
    "merge",
    "merge_top_level",
    "merges",
    "mounts",
    "own",
    "own_items",
    "parse",
    "parse_port",
    "parse_volume",
    "plain_ok",
    "ports",
    "schema_problems",
    "split_colons",
    "tag",
    "validate_output",
]
