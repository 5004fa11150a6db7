"""Pipeline expressions resolved as SageMaker does: Get, Std:Join, Std:JsonGet.

`Get` paths: `Parameters.X`, `Execution.PipelineExecutionId` (and the other execution variables),
`Steps.<name>.<property path>` where the path uses `.Name`, `['key']` and `[0]` like
`ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri` or `TrainingJobSummaries[0].TrainingJobName`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class ExpressionError(Exception):
    """An expression cannot be resolved; the message names the step and the expression."""


def path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            raise ExpressionError(f"cannot parse property path {path!r} at {path[pos:]!r}")
        name, index, key1, key2 = match.groups()
        tokens.append(int(index) if index is not None else (name or key1 or key2 or ""))
        pos = match.end()
    return tokens


def lookup(data: Any, tokens: list[str | int], what: str) -> Any:
    node = data
    for token in tokens:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(f"{what}: no {token!r} in {_describe(node)}") from None
    return node


def _describe(node: Any) -> str:
    if isinstance(node, dict):
        return "keys " + ", ".join(map(str, node)) if node else "an empty mapping"
    if isinstance(node, list):
        return f"a list of {len(node)}"
    return repr(node)


class Resolver:
    """Resolves expressions against parameters, execution variables and step properties."""

    def __init__(
        self,
        parameters: dict[str, Any],
        execution: dict[str, Any],
        step_properties: dict[str, dict[str, Any]],
        read_json: Callable[[str, str], Any],
    ):
        self.parameters = parameters
        self.execution = execution
        self.steps = step_properties
        self._read_json = read_json  # (step name, property file name) -> parsed JSON

    def __call__(self, value: Any, where: str = "") -> Any:
        """``value`` with every expression inside it replaced by its value."""
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if key == "Get":
                    return self.get(value[key], where)
                if key == "Std:Join":
                    spec = value[key]
                    parts = [self(v, where) for v in spec["Values"]]
                    return str(spec["On"]).join(_as_text(p) for p in parts)
                if key == "Std:JsonGet":
                    return self.json_get(value[key], where)
            return {k: self(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, where) for v in value]
        return value

    def get(self, path: str, where: str) -> Any:
        what = f"step {where!r}: cannot resolve {{'Get': {path!r}}}" if where else f"cannot resolve {path!r}"
        tokens = path_tokens(path)
        root = tokens[0] if tokens else ""
        if root == "Parameters" and len(tokens) == 2:
            if tokens[1] not in self.parameters:
                raise ExpressionError(f"{what}: no parameter {tokens[1]!r}")
            return self.parameters[tokens[1]]
        if root == "Execution" and len(tokens) == 2:
            return lookup(self.execution, tokens[1:], what)
        if root == "Steps" and len(tokens) >= 3:
            step = str(tokens[1])
            if step not in self.steps:
                raise ExpressionError(f"{what}: step {step!r} has not run (or produced no properties)")
            if tokens[2] == "PropertyFiles":
                raise ExpressionError(f"{what}: property files are read with Std:JsonGet")
            return lookup(self.steps[step], tokens[2:], what)
        raise ExpressionError(f"{what}: unknown root {root!r}")

    def json_get(self, spec: dict[str, Any], where: str) -> Any:
        ref = spec["PropertyFile"]
        ref_path = ref["Get"] if isinstance(ref, dict) and "Get" in ref else ""
        tokens = path_tokens(ref_path)
        if len(tokens) != 4 or tokens[0] != "Steps" or tokens[2] != "PropertyFiles":
            raise ExpressionError(f"step {where!r}: unsupported property file reference {ref!r}")
        document = self._read_json(str(tokens[1]), str(tokens[3]))
        json_path = self(spec["Path"], where)
        return lookup(document, path_tokens(json_path), f"step {where!r}: JsonGet {json_path!r}")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
