"""Rendering service graphs (harden.passes.compose.graph.Graph) for `harden graph`.

- `text`: per project, `# path`, then one line per edge `source -> target (kind, evidence)`,
  then `exposed:`, `egress:` (`no` by knowledge, `unknown` assumed yes) and `unread:` lines;
- `mermaid`: a `graph LR` block per project that GitHub renders: each service a node whose id
  is `s` and its index (service names may hold `-` and `.`, which Mermaid ids do not take) and
  whose label is the name in double quotes (a `"` is written `#quot;`); an exposed service is a
  stadium node labelled `name (exposed)`; each edge `sA -->|kind| sB`;
- `json`: `{"graphs": [{"path", "services", "edges": [{source, target, kind, evidence}],
  "exposed", "egress", "unread"}]}`.

Evidence strings come with credentials already masked (harden.compose.masking).
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Sequence
from typing import Any

Graphs = Sequence[tuple[str, Any]]  # (path of the project's first file, Graph)


def text(graphs: Graphs) -> str:
    lines: list[str] = []
    for path, graph in graphs:
        lines.append(f"# {path}")
        lines += [f"{e.source} -> {e.target} ({e.kind}, {e.evidence})" for e in graph.edges]
        if not graph.edges:
            lines.append("(no edges: no service names another)")
        lines.append(f"exposed: {', '.join(sorted(graph.exposed)) or '(none)'}")
        egress = [f"{name} {_egress(value)}" for name, value in graph.egress.items()]
        lines.append(f"egress: {', '.join(egress) or '(none)'}")
        lines += [f"unread: {name}: {why}" for name, why in graph.unread.items()]
        lines.append("")
    return "\n".join(lines)


def _egress(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def mermaid(graphs: Graphs) -> str:
    blocks = []
    for path, graph in graphs:
        ids = {name: f"s{index}" for index, name in enumerate(graph.services)}
        lines = [f"%% {path.replace(chr(10), ' ')}", "graph LR"]
        for name in graph.services:
            label = _label(f"{name} (exposed)" if name in graph.exposed else name)
            lines.append(f"  {ids[name]}([{label}])" if name in graph.exposed else f"  {ids[name]}[{label}]")
        lines += [f"  {ids[e.source]} -->|{e.kind}| {ids[e.target]}" for e in graph.edges]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _label(name: str) -> str:
    return '"' + name.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def json(graphs: Graphs) -> str:
    rows = [
        {
            "path": path,
            "services": list(graph.services),
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind, "evidence": e.evidence} for e in graph.edges],
            "exposed": sorted(graph.exposed),
            "egress": graph.egress,
            "unread": graph.unread,
        }
        for path, graph in graphs
    ]
    return jsonlib.dumps({"graphs": rows}, indent=2) + "\n"
