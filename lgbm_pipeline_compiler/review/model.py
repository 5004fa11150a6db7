"""A definition as comparable parts: steps with flattened fields, parameters, edges, references.

Fields are flattened to leaves at readable paths: list items that carry an identity (``Name``,
``ChannelName``, ``InputName``, ``OutputName``) are addressed by it
(``ContinuousParameterRanges[learning_rate].MaxValue``), so reordering or inserting an item does
not show as a change of every later item. Expressions (``Get``, ``Std:Join``, ``Std:JsonGet``) and
lists of plain values are leaves of their own. The step graph comes from ``local/graph.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..local.graph import build_graph

Path = tuple[str, ...]

EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")
IDENTITY_KEYS = ("Name", "ChannelName", "InputName", "OutputName")
STRUCTURAL = ("Name", "DependsOn")
"""Step members that are not fields: the name, and DependsOn (edges); a condition's branches
(``Arguments.IfSteps`` and ``ElseSteps``) are steps and edges of their own."""

ARTIFACT = re.compile(r"/artifacts/([0-9a-f]{64})/([^\"\s]+)")
"""A content-addressed artifact key inside a string (``{storage.write}/artifacts/{sha256}/{name}``)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A value one side does not have."""


@dataclass(frozen=True, order=True)
class Edge:
    src: str
    dst: str
    kind: str
    """``data`` (a property reference), ``depends`` (DependsOn only), ``if`` or ``else`` (branches)."""


@dataclass
class StepView:
    name: str
    type: str
    fields: dict[Path, Any]
    refs: set[str]
    """Every ``Get`` the step's expressions read (``Parameters.X``, ``Steps.Y.Prop``, ``Execution.Z``)."""
    raw: dict[str, Any]
    """The step without its structural members (see :data:`STRUCTURAL`)."""
    branch_of: tuple[str, str] | None = None


@dataclass
class DefinitionView:
    steps: dict[str, StepView]
    """In dependency order (every step after the steps it depends on)."""
    parameters: dict[str, dict[str, Any]]
    edges: set[Edge]
    pipeline_fields: dict[Path, Any] = field(default_factory=dict)

    def parameter_default(self, name: str) -> Any:
        return self.parameters.get(name, {}).get("DefaultValue", MISSING)


def is_expression(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and next(iter(node)) in EXPRESSIONS


def _identity(items: list[dict[str, Any]]) -> str | None:
    for key in IDENTITY_KEYS:
        values = [item.get(key) for item in items]
        if all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            return key
    return None


def flatten(node: Any, path: Path = ()) -> dict[Path, Any]:
    """Leaves of a JSON value by readable path (see the module docstring)."""
    if isinstance(node, dict) and node and not is_expression(node):
        out: dict[Path, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, (*path, key)))
        return out
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        key = _identity(node)
        out = {}
        for i, item in enumerate(node):
            out.update(flatten(item, (*path, f"[{item[key] if key else i}]")))
        return out
    return {path: node}


def dotted(path: Path) -> str:
    """``("Arguments", "Ranges", "[lr]", "Max")`` → ``Arguments.Ranges[lr].Max``."""
    out = ""
    for part in path:
        out += part if part.startswith("[") else ("." if out else "") + part
    return out


def gets(node: Any) -> set[str]:
    """Every ``Get`` target inside a value."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Get"), str) and len(node) == 1:
            found.add(node["Get"])
        for value in node.values():
            found |= gets(value)
    elif isinstance(node, list):
        for value in node:
            found |= gets(value)
    return found


def _refers_to(refs: set[str], step: str) -> bool:
    prefix = f"Steps.{step}"
    return any(ref == prefix or ref.startswith((prefix + ".", prefix + "[")) for ref in refs)


def _body(step: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in step.items() if k not in STRUCTURAL}
    if step.get("Type") == "Condition" and isinstance(body.get("Arguments"), dict):
        body["Arguments"] = {k: v for k, v in body["Arguments"].items() if k not in ("IfSteps", "ElseSteps")}
    return body


def view(definition: dict[str, Any]) -> DefinitionView:
    """The comparable parts of a definition; ValueError for a definition whose steps do not form a
    graph (unknown step names, cycles)."""
    if not isinstance(definition.get("Steps"), list):
        raise ValueError("not a pipeline definition: it has no Steps list")
    steps: dict[str, StepView] = {}
    edges: set[Edge] = set()
    for node in build_graph(definition):
        body = _body(node.step)
        refs = gets(body)
        steps[node.name] = StepView(node.name, node.step["Type"], flatten(body), refs, body, node.branch_of)
        declared = set(node.step.get("DependsOn", []))
        for dep in node.depends:
            if node.branch_of and dep == node.branch_of[0]:
                kind = "if" if node.branch_of[1] == "IfSteps" else "else"
            elif dep in declared and not _refers_to(refs, dep):
                kind = "depends"
            else:
                kind = "data"
            edges.add(Edge(dep, node.name, kind))
    parameters = {
        p["Name"]: {k: v for k, v in p.items() if k != "Name"} for p in definition.get("Parameters", [])
    }
    rest = {k: v for k, v in definition.items() if k not in ("Steps", "Parameters")}
    return DefinitionView(steps, parameters, edges, flatten(rest) if rest else {})


def rename_steps(definition: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """A copy of the definition with steps renamed: their Name, DependsOn entries and ``Steps.X``
    references (other strings that contain a name, such as S3 paths, are left as they are)."""
    if not renames:
        return definition
    pattern = re.compile(r"\bSteps\.(" + "|".join(re.escape(n) for n in renames) + r")(?=[.\[]|$)")

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str):
            if key in ("Name", "DependsOn") and node in renames:
                return renames[node]
            return pattern.sub(lambda m: f"Steps.{renames[m.group(1)]}", node)
        return node

    return walk(json.loads(json.dumps(definition)))
