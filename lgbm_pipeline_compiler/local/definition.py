"""What the runner reads from a definition besides its steps: its parameters (typed, with the
command line's overrides), the S3 locations a step reads, and the account and region to use."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from ..lint.requests import walk_steps


class RunError(ValueError):
    """The run cannot start: bad parameters, missing input data, unknown run id."""


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def typed_parameters(definition: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise RunError(
            f"unknown parameter(s) {', '.join(unknown)}; the pipeline declares {', '.join(declared) or 'none'}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in overrides:
            values[name] = spec.get("DefaultValue")
            continue
        raw, kind = overrides[name], spec["Type"]
        try:
            if kind == "Integer":
                values[name] = int(raw)
            elif kind == "Float":
                values[name] = float(raw)
            elif kind == "Boolean":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                values[name] = raw.lower() == "true"
            else:
                values[name] = raw
        except ValueError:
            raise RunError(f"--param {name}={raw}: not a valid {kind}") from None
    return values


INPUT_HOLDERS = ("S3Input", "S3DataSource")
"""Request members whose S3Uri a job reads: processing inputs, training, tuning and transform
channels (S3DataSource), beside ModelDataUrl."""


def input_uris(node: Any) -> Iterator[Any]:
    """Every S3 location a step's request reads, of any input kind."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in INPUT_HOLDERS and isinstance(value, dict) and "S3Uri" in value:
                yield value["S3Uri"]
            elif key == "ModelDataUrl":
                yield value
            else:
                yield from input_uris(value)
    elif isinstance(node, list):
        for item in node:
            yield from input_uris(item)


def first_role(definition: dict[str, Any]) -> str:
    for step in walk_steps(definition["Steps"]):
        args = step.get("Arguments", {})
        for key in ("RoleArn", "ExecutionRoleArn"):
            if isinstance(args, dict) and isinstance(args.get(key), str):
                return args[key]
    return ""


def region_of(definition: dict[str, Any]) -> str:
    text = json.dumps(definition)
    marker = ".dkr.ecr."
    if marker in text:
        return text.split(marker, 1)[1].split(".", 1)[0]
    return "us-east-1"
