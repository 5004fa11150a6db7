"""The step graph of a definition: steps (condition branches flattened) and their dependencies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_STEP_REF = re.compile(r"Steps\.([A-Za-z0-9_\-]+)")


@dataclass
class Node:
    step: dict[str, Any]
    depends: set[str] = field(default_factory=set)
    branch_of: tuple[str, str] | None = None  # (condition step, "IfSteps" | "ElseSteps")

    @property
    def name(self) -> str:
        return self.step["Name"]


def _references(step: dict[str, Any]) -> set[str]:
    body = {k: v for k, v in step.items() if k not in ("IfSteps", "ElseSteps")}
    if step["Type"] == "Condition":
        body = {"Conditions": step["Arguments"]["Conditions"]}
    return set(_STEP_REF.findall(json.dumps(body)))


def build_graph(definition: dict[str, Any]) -> list[Node]:
    """Nodes in an order where every dependency comes first (definition order among equals)."""
    nodes: dict[str, Node] = {}

    def add(step: dict[str, Any], branch_of: tuple[str, str] | None) -> None:
        node = Node(step=step, branch_of=branch_of)
        node.depends = set(step.get("DependsOn", [])) | (_references(step) - {node.name})
        if branch_of:
            node.depends.add(branch_of[0])
        nodes[node.name] = node
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                for child in step["Arguments"].get(branch, []):
                    add(child, (node.name, branch))

    for step in definition["Steps"]:
        add(step, None)
    missing = {d for n in nodes.values() for d in n.depends if d not in nodes}
    if missing:
        raise ValueError(f"the definition refers to unknown steps: {', '.join(sorted(missing))}")
    ordered: list[Node] = []
    done: set[str] = set()
    pending = list(nodes.values())
    while pending:
        ready = [n for n in pending if n.depends <= done]
        if not ready:
            raise ValueError("the definition's steps form a cycle: " + ", ".join(n.name for n in pending))
        for node in ready:
            ordered.append(node)
            done.add(node.name)
        pending = [n for n in pending if n.name not in done]
    return ordered
