"""The step DAG as Mermaid or Graphviz DOT: data edges solid, DependsOn-only edges dashed, a
condition's branches labelled ``if`` / ``else``; with ``params``, each pipeline parameter and the
steps that read it. The diff's markdown draws the changed steps (and their neighbours) this way,
coloured by what happened to them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import MISSING, DefinitionView, Edge

if TYPE_CHECKING:
    from .changes import Diff

STYLES = {
    "added": "fill:#dafbe1,stroke:#1a7f37,color:#1f2328",
    "removed": "fill:#ffebe9,stroke:#cf222e,color:#1f2328,stroke-dasharray:4 3",
    "changed": "fill:#fff8c5,stroke:#9a6700,color:#1f2328",
    "param": "fill:#f6f8fa,stroke:#8c959f,color:#1f2328",
}
REMOVED_LINK = "stroke:#cf222e,stroke-dasharray:4 3"


@dataclass
class Drawing:
    """What to draw: steps (name → type) in order, edges, and optional parameters."""

    steps: dict[str, str]
    edges: list[Edge]
    parameters: dict[str, Any] = field(default_factory=dict)
    """Parameter name → default (MISSING when it has none)."""
    reads: dict[str, list[str]] = field(default_factory=dict)
    """Parameter name → the steps that read it."""
    classes: dict[str, str] = field(default_factory=dict)
    """Step name → ``added`` | ``removed`` | ``changed``."""
    removed_edges: set[Edge] = field(default_factory=set)


def drawing(view: DefinitionView, params: bool = False) -> Drawing:
    """The whole pipeline of one definition."""
    steps = {name: s.type for name, s in view.steps.items()}
    out = Drawing(steps, _ordered(view.edges, steps))
    if params:
        for name, spec in view.parameters.items():
            out.parameters[name] = spec.get("DefaultValue", MISSING)
            out.reads[name] = [s.name for s in view.steps.values() if f"Parameters.{name}" in s.refs]
    return out


def _ordered(edges: Iterable[Edge], steps: dict[str, str]) -> list[Edge]:
    index = {name: i for i, name in enumerate(steps)}
    return sorted(edges, key=lambda e: (index.get(e.dst, len(index)), index.get(e.src, len(index)), e.kind))


def _default(value: Any) -> str:
    if value is MISSING:
        return "no default"
    return value if isinstance(value, str) and value else json.dumps(value)


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(d: Drawing) -> str:
    """A Mermaid flowchart (``flowchart TD``)."""
    ids = {name: f"s{i}" for i, name in enumerate(d.steps)}
    lines = ["flowchart TD"]
    for name, kind in d.steps.items():
        label = f"{_mermaid_text(name)}<br/>{_mermaid_text(kind)}"
        lines.append(f'  {ids[name]}{{"{label}"}}' if kind == "Condition" else f'  {ids[name]}["{label}"]')
    links: list[str] = []
    for edge in d.edges:
        arrow = {"data": "-->", "depends": "-.->", "if": "-->|if|", "else": "-->|else|"}[edge.kind]
        links.append(f"  {ids[edge.src]} {arrow} {ids[edge.dst]}")
    removed = [i for i, edge in enumerate(d.edges) if edge in d.removed_edges]
    for i, (name, default) in enumerate(d.parameters.items()):
        lines.append(f'  p{i}[/"{_mermaid_text(name)} = {_mermaid_text(_default(default))}"/]')
        links += [f"  p{i} -.- {ids[step]}" for step in d.reads.get(name, []) if step in ids]
    lines += links
    for cls in ("added", "removed", "changed"):
        members = [ids[n] for n in d.steps if d.classes.get(n) == cls]
        if members:
            lines += [f"  classDef {cls} {STYLES[cls]}", f"  class {','.join(members)} {cls}"]
    if d.parameters:
        lines += [
            f"  classDef param {STYLES['param']}",
            f"  class {','.join(f'p{i}' for i in range(len(d.parameters)))} param",
        ]
    if removed:
        lines.append(f"  linkStyle {','.join(map(str, removed))} {REMOVED_LINK}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot(d: Drawing) -> str:
    """A Graphviz digraph."""
    lines = ["digraph pipeline {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    fills = {"added": "#dafbe1", "removed": "#ffebe9", "changed": "#fff8c5"}
    for name, kind in d.steps.items():
        attrs = [f"label={_dot_text(name + chr(10) + kind)}"]
        if kind == "Condition":
            attrs.append("shape=diamond")
        if d.classes.get(name):
            attrs.append(f'style=filled, fillcolor="{fills[d.classes[name]]}"')
        lines.append(f"  {_dot_text(name)} [{', '.join(attrs)}];")
    for edge in d.edges:
        attrs = {"data": [], "depends": ["style=dashed"], "if": ['label="if"'], "else": ['label="else"']}[
            edge.kind
        ]
        if edge in d.removed_edges:
            attrs = [*attrs, 'color="#cf222e"', "style=dashed"]
        lines.append(
            f"  {_dot_text(edge.src)} -> {_dot_text(edge.dst)}"
            + (f" [{', '.join(attrs)}];" if attrs else ";")
        )
    for name, default in d.parameters.items():
        node = _dot_text(f"param:{name}")
        lines.append(f"  {node} [shape=note, label={_dot_text(f'{name} = {_default(default)}')}];")
        lines += [f"  {node} -> {_dot_text(step)} [style=dotted];" for step in d.reads.get(name, [])]
    lines.append("}")
    return "\n".join(lines) + "\n"


def changed_drawing(diff: Diff) -> Drawing | None:
    """The steps a diff touches, with their neighbours for context; removed steps and edges
    included (from the old side). None when no step changed."""
    old, new = diff.old_view, diff.new_view
    if old is None or new is None:
        return None
    classes = {s.name: {"renamed": "changed"}.get(s.kind, s.kind) for s in diff.steps}
    for name in sorted(diff.touched_steps()):
        classes.setdefault(name, "changed")
    moved = {*diff.edges_added, *diff.edges_removed}
    focus = set(classes) | {e.src for e in moved} | {e.dst for e in moved}
    if not focus:
        return None
    edges = new.edges | set(diff.edges_removed)
    shown = focus | {e.src for e in edges if e.dst in focus} | {e.dst for e in edges if e.src in focus}
    order = [n for n in new.steps if n in shown]
    for i, name in enumerate(old.steps):  # a removed step goes after the step it followed before
        if name in shown and name not in new.steps:
            before = [n for n in list(old.steps)[:i] if n in order]
            order.insert(order.index(before[-1]) + 1 if before else 0, name)
    steps = {n: (new.steps[n] if n in new.steps else old.steps[n]).type for n in order}
    kept = [e for e in edges if (e.src in focus or e.dst in focus) and e.src in steps and e.dst in steps]
    return Drawing(
        steps,
        _ordered(kept, steps),
        classes={n: c for n, c in classes.items() if n in steps},
        removed_edges=set(diff.edges_removed),
    )
