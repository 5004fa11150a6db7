"""A diff as text (coloured on a terminal), markdown (a pull-request comment with a Mermaid graph of
the changed steps) or JSON."""

from __future__ import annotations

import html
import json
from typing import Any

from .changes import Diff, FieldChange, ParameterChange
from .graph import changed_drawing, mermaid
from .model import MISSING, Edge
from .risk import show

COMMENT_MARKER = "<!-- lgbm-pipeline-diff -->"
"""First line of the markdown, so a CI job can find and update its previous comment."""
MARKDOWN_DIFF_LINES = 300
"""Lines of one artifact's diff in a PR comment."""
COMMENT_LIMIT = 60_000
"""GitHub refuses a comment longer than 65,536 characters."""
NO_RISK = "none (gate, checks, approval status and instances unchanged)"
_COLOURS = {"+": "32", "-": "31", "~": "33", "@": "36", "!": "1;31"}


def _short(path: str) -> str:
    return path[len("Arguments.") :] if path.startswith("Arguments.") else path


def field_line(f: FieldChange) -> str:
    """``spec.key: old → new (Step: Field.Path)``, or ``Step: Field.Path: old → new`` unattributed."""
    where = f"{f.step or 'pipeline'}: {_short(f.path)}"
    if f.spec_key and (f.spec_old is not MISSING or f.spec_new is not MISSING):
        return f"{f.spec_key}: {show(f.spec_old)} → {show(f.spec_new)} ({where})"
    if f.spec_key:
        return f"{f.spec_key}: {show(f.old)} → {show(f.new)} ({where})"
    return f"{where}: {show(f.old)} → {show(f.new)}"


def edge_text(e: Edge) -> str:
    return f"{e.src} → {e.dst} ({e.kind})"


def parameter_text(p: ParameterChange) -> str:
    spec = f" ({p.spec_key})" if p.spec_key else ""
    if p.kind != "changed":
        default = p.new.get("DefaultValue", p.old.get("DefaultValue", MISSING))
        kind = p.new.get("Type", p.old.get("Type"))
        return f"{p.name} ({kind}, default {show(default)}){spec}"
    parts = []
    for key in sorted(p.old.keys() | p.new.keys()):
        a, b = p.old.get(key, MISSING), p.new.get(key, MISSING)
        if a != b:
            label = {"DefaultValue": "default", "Type": "type"}.get(key, key)
            parts.append(f"{label} {show(a)} → {show(b)}")
    return f"{p.name}: {', '.join(parts)}{spec}"


def risk_line(diff: Diff) -> str:
    return "risk: " + ("; ".join(diff.risk) if diff.risk else NO_RISK)


def _step_text(s: Any) -> str:
    if s.kind == "renamed":
        return f"{s.old_name} → {s.name} ({s.type}, renamed)"
    spec = f", spec section {s.spec_key} {'added' if s.kind == 'added' else 'removed'}" if s.spec_key else ""
    return f"{s.name} ({s.type}{spec})"


def text(diff: Diff, colour: bool = False) -> str:
    """The plain-text report (``colour``: ANSI colours for a terminal)."""

    def paint(line: str, mark: str) -> str:
        return f"\x1b[{_COLOURS[mark]}m{line}\x1b[0m" if colour and mark in _COLOURS else line

    lines = [f"--- {diff.old_label}", f"+++ {diff.new_label}"]
    if not diff.changed:
        return "\n".join([*lines, "no changes"]) + "\n"
    lines.append(paint(risk_line(diff), "!" if diff.risk else ""))
    marks = {"added": "+", "removed": "-", "renamed": "~", "changed": "~"}
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("steps", [(marks[s.kind], _step_text(s)) for s in diff.steps]),
        ("fields", [("~", field_line(f)) for f in diff.fields]),
        (
            "edges",
            [("+", edge_text(e)) for e in diff.edges_added]
            + [("-", edge_text(e)) for e in diff.edges_removed],
        ),
        (
            "references",
            [
                ("~", f"{r.step}: " + ", ".join([*(f"+{x}" for x in r.added), *(f"-{x}" for x in r.removed)]))
                for r in diff.references
            ],
        ),
        ("parameters", [(marks[p.kind], parameter_text(p)) for p in diff.parameters]),
        (
            "other spec changes (not traced to one field)",
            [("~", f"{c.key}: {show(c.old)} → {show(c.new)}") for c in diff.spec],
        ),
    ]
    for title, rows in sections:
        if rows:
            lines.append(f"{title}:")
            lines += [paint(f"  {mark} {row}", mark) for mark, row in rows]
    if diff.artifacts:
        lines.append("artifacts:")
        for a in diff.artifacts:
            lines.append(paint(f"  ~ {_artifact_title(a)}", "~"))
            body = (
                a.diff
                if a.diff is not None
                else ("(contents not at hand: diff compiled output directories or specs to see them)",)
            )
            lines += [
                paint(f"      {line}", line[:1] if line[:3] not in ("---", "+++") else "") for line in body
            ]
    return "\n".join(lines) + "\n"


def _artifact_title(a: Any) -> str:
    places = "; ".join(f"{step}: {_short(path)}" for step, path in a.places)
    return f"{a.name} {a.old_sha[:12]} → {a.new_sha[:12]} ({places})"


def _cell(value: str) -> str:
    fence = "``" if "`" in value else "`"
    pad = " " if "`" in value else ""
    return f"{fence}{pad}{value}{pad}{fence}".replace("|", "\\|")


def markdown(diff: Diff) -> str:
    """A pull-request comment: risk, a Mermaid graph of the changed steps, tables, artifact diffs;
    within GitHub's comment size (artifact diffs are shortened, then left out, then the end cut)."""
    for lines in (MARKDOWN_DIFF_LINES, 40, 0):
        text = _markdown(diff, lines)
        if len(text) <= COMMENT_LIMIT:
            return text
    cut = text[: COMMENT_LIMIT - 200].rsplit("\n", 1)[0]
    return f"{cut}\n\n… cut to fit a comment: run `lgbm-pipeline diff` for the whole report.\n"


def _markdown(diff: Diff, diff_lines: int) -> str:
    out = [COMMENT_MARKER, f"### Pipeline changes: {_cell(diff.old_label)} → {_cell(diff.new_label)}", ""]
    if not diff.changed:
        return "\n".join([*out, "No changes."]) + "\n"
    out += [f"**Risk:** {'; '.join(diff.risk) if diff.risk else NO_RISK}", ""]
    drawing = changed_drawing(diff)
    if drawing is not None:
        out += ["```mermaid", mermaid(drawing).rstrip("\n"), "```", ""]
    if diff.steps:
        out += ["| step | change | type | spec |", "|---|---|---|---|"]
        for s in diff.steps:
            name = f"{_cell(s.old_name)} → {_cell(s.name)}" if s.kind == "renamed" else _cell(s.name)
            out.append(f"| {name} | {s.kind} | {s.type} | {_cell(s.spec_key) if s.spec_key else ''} |")
        out.append("")
    if diff.fields:
        out += ["| spec key | step | field | old | new |", "|---|---|---|---|---|"]
        for f in diff.fields:
            attributed = f.spec_old is not MISSING or f.spec_new is not MISSING
            a, b = (f.spec_old, f.spec_new) if attributed else (f.old, f.new)
            key = _cell(f.spec_key) if f.spec_key else ""
            out.append(
                f"| {key} | {f.step or 'pipeline'} | {_cell(_short(f.path))} | {_cell(show(a))} | {_cell(show(b))} |"
            )
        out.append("")
    bullets = [f"- edge added: {_cell(edge_text(e))}" for e in diff.edges_added]
    bullets += [f"- edge removed: {_cell(edge_text(e))}" for e in diff.edges_removed]
    for r in diff.references:
        bullets += [f"- {_cell(r.step)} reads {_cell(x)} (new)" for x in r.added]
        bullets += [f"- {_cell(r.step)} no longer reads {_cell(x)}" for x in r.removed]
    bullets += [f"- parameter {p.kind}: {_cell(parameter_text(p))}" for p in diff.parameters]
    bullets += [f"- spec {_cell(c.key)}: {_cell(show(c.old))} → {_cell(show(c.new))}" for c in diff.spec]
    if bullets:
        out += [*bullets, ""]
    for a in diff.artifacts:
        summary = f"<code>{html.escape(a.name)}</code> changed: {a.old_sha[:12]} → {a.new_sha[:12]}"
        out += [f"<details><summary>{summary}</summary>", ""]
        if a.diff is None:
            out += ["Contents not at hand: diff compiled output directories or specs to see them.", ""]
        else:
            body = list(a.diff[:diff_lines])
            if len(a.diff) > diff_lines:
                body.append(f"… {len(a.diff) - diff_lines} more lines")
            out += ["```diff", *body, "```", ""]
        out += ["</details>", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _value(value: Any) -> dict[str, Any]:
    return {} if value is MISSING else {"value": value}


def as_json(diff: Diff) -> dict[str, Any]:
    """The diff as plain data (absent values are absent keys)."""

    def field(f: FieldChange) -> dict[str, Any]:
        row: dict[str, Any] = {"step": f.step, "path": f.path}
        row.update({f"old_{k}": v for k, v in _value(f.old).items()})
        row.update({f"new_{k}": v for k, v in _value(f.new).items()})
        if f.spec_key:
            spec = {"key": f.spec_key, "line": f.spec_line or None}
            spec.update({f"old_{k}": v for k, v in _value(f.spec_old).items()})
            spec.update({f"new_{k}": v for k, v in _value(f.spec_new).items()})
            row["spec"] = spec
        return row

    def edge(e: Edge) -> dict[str, str]:
        return {"from": e.src, "to": e.dst, "kind": e.kind}

    return {
        "old": diff.old_label,
        "new": diff.new_label,
        "changed": diff.changed,
        "risk": diff.risk,
        "steps": [
            {"change": s.kind, "name": s.name, "type": s.type}
            | ({"old_name": s.old_name} if s.old_name else {})
            | ({"spec_key": s.spec_key} if s.spec_key else {})
            for s in diff.steps
        ],
        "fields": [field(f) for f in diff.fields],
        "edges": {
            "added": [edge(e) for e in diff.edges_added],
            "removed": [edge(e) for e in diff.edges_removed],
        },
        "references": [
            {"step": r.step, "added": list(r.added), "removed": list(r.removed)} for r in diff.references
        ],
        "parameters": [
            {
                "change": p.kind,
                "name": p.name,
                "old": p.old or None,
                "new": p.new or None,
                "spec_key": p.spec_key or None,
            }
            for p in diff.parameters
        ],
        "artifacts": [
            {
                "name": a.name,
                "old_sha256": a.old_sha,
                "new_sha256": a.new_sha,
                "places": [{"step": step, "path": path} for step, path in a.places],
                "diff": list(a.diff) if a.diff is not None else None,
            }
            for a in diff.artifacts
        ],
        "spec": [
            {"key": c.key, "line": c.line or None}
            | {f"old_{k}": v for k, v in _value(c.old).items()}
            | {f"new_{k}": v for k, v in _value(c.new).items()}
            for c in diff.spec
        ],
    }


def render_json_text(diff: Diff) -> str:
    return json.dumps(as_json(diff), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
