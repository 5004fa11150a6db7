"""The changes reviewers care most about, in one line: the quality gate, checks skipped or removed,
the registered model's approval status, and instance types and counts.

Values are compared as an execution would see them by default: a ``Get`` of a pipeline parameter
reads the parameter's default on its own side, so lowering ``F1Threshold``'s default lowers the gate.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .model import MISSING, DefinitionView

if TYPE_CHECKING:
    from .changes import Diff

OPERATORS = {
    "GreaterThanOrEqualTo": ">=",
    "GreaterThan": ">",
    "LessThanOrEqualTo": "<=",
    "LessThan": "<",
    "Equals": "==",
}
CHECK_TYPES = ("ClarifyCheck", "QualityCheck")
_INSTANCES = re.compile(r"instance_?(types?|count)$", re.IGNORECASE)


def resolve(value: Any, view: DefinitionView) -> Any:
    """A parameter ``Get`` as its default; other values as they are."""
    if (
        isinstance(value, dict)
        and isinstance(value.get("Get"), str)
        and value["Get"].startswith("Parameters.")
    ):
        default = view.parameter_default(value["Get"].split(".", 1)[1])
        return value if default is MISSING else default
    return value


def _reads_as_json(text: str) -> bool:
    """Whether a bare string would read as another JSON value (``0.7``, ``true``, ``null``)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def show(value: Any) -> str:
    """A value as reviewers read it: plain strings and numbers bare, the rest as compact JSON."""
    if value is MISSING:
        return "(absent)"
    if isinstance(value, dict) and set(value) == {"Std:JsonGet"} and isinstance(value["Std:JsonGet"], dict):
        args = value["Std:JsonGet"]
        source = args.get("PropertyFile", MISSING)
        source = source["Get"] if isinstance(source, dict) and set(source) == {"Get"} else show(source)
        return f"JsonGet({source}, {args.get('Path')})"
    if isinstance(value, dict) and set(value) == {"Get"}:
        return f"Get({value['Get']})"
    if isinstance(value, str):
        return value if value and " " not in value and not _reads_as_json(value) else json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _operand(value: Any) -> str:
    """A condition's left side: a JsonGet as the report path it reads."""
    if isinstance(value, dict) and isinstance(value.get("Std:JsonGet"), dict):
        return str(value["Std:JsonGet"].get("Path"))
    return show(value)


def _conditions(step: Any, view: DefinitionView) -> list[tuple[str, str, Any]]:
    out = []
    for cond in step.raw.get("Arguments", {}).get("Conditions", []):
        op = OPERATORS.get(cond.get("Type"), cond.get("Type"))
        out.append(
            (_operand(cond.get("LeftValue", MISSING)), op, resolve(cond.get("RightValue", MISSING), view))
        )
    return out


def _text(conditions: list[tuple[str, str, Any]]) -> str:
    return " and ".join(f"{left} {op} {show(right)}" for left, op, right in conditions)


def _gate(name: str, was: str, old: list, new: list) -> str | None:
    if old == new:
        return None
    label = f"gate {name}" + (f" (was {was})" if was != name else "")
    if len(old) == len(new) == 1 and old[0][:2] == new[0][:2]:
        (_, op, a), (_, _, b) = old[0], new[0]
        if isinstance(a, int | float) and isinstance(b, int | float) and op in (">=", ">", "<=", "<"):
            looser = (b < a) if op in (">=", ">") else (b > a)
            return f"{label} threshold {show(a)} → {show(b)} ({'looser' if looser else 'stricter'})"
    return f"{label}: {_text(old)} → {_text(new)}"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _joined(value: Any, view: DefinitionView) -> Any:
    """A ``Std:Join`` of resolvable values as its text (how a container argument reads a parameter)."""
    join = value.get("Std:Join") if isinstance(value, dict) else None
    if not isinstance(join, dict):
        return resolve(value, view)
    parts = [resolve(v, view) for v in join.get("Values", [])]
    if any(isinstance(p, dict | list) or p is MISSING for p in parts):
        return value
    return str(join.get("On", "")).join(json.dumps(p) if isinstance(p, bool) else str(p) for p in parts)


def _check_flags(step: Any, view: DefinitionView) -> tuple[Any, Any] | None:
    """(skip check, fail on violation) of a check step, as an execution reads them by default: a
    ClarifyCheck or QualityCheck step's fields, or the ``--skip-check`` / ``--fail-on-violation``
    arguments of a processing job running ``--check`` (the builtin Clarify engine); None otherwise."""
    if step.type in CHECK_TYPES:
        return resolve(step.raw.get("SkipCheck", False), view), step.raw.get("FailOnViolation", True)
    args = step.raw.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments")
    if step.type != "Processing" or not isinstance(args, list) or "--check" not in args:
        return None

    def flag(name: str, default: Any) -> Any:
        at = args.index(name) if name in args else -1
        return _joined(args[at + 1], view) if 0 <= at < len(args) - 1 else default

    return flag("--skip-check", False), flag("--fail-on-violation", True)


def risks(diff: Diff, old: DefinitionView, new: DefinitionView, renames: dict[str, str]) -> list[str]:
    """One phrase per risky change, gates first, then checks, approval and instances."""
    was = {v: k for k, v in renames.items()}
    out: list[str] = []
    for name, step in new.steps.items():
        if step.type == "Condition":
            if name in old.steps:
                phrase = _gate(
                    name, was.get(name, name), _conditions(old.steps[name], old), _conditions(step, new)
                )
                out += [phrase] if phrase else []
            else:
                out.append(f"gate {name} added: {_text(_conditions(step, new))}")
    out += [f"gate {n} removed" for n, s in old.steps.items() if s.type == "Condition" and n not in new.steps]
    for name, step in old.steps.items():
        before = _check_flags(step, old)
        if before is None:
            continue
        after = _check_flags(new.steps[name], new) if name in new.steps else None
        if after is None:
            out.append(f"check {name} removed")
            continue
        if not _truthy(before[0]) and _truthy(after[0]):
            out.append(f"check {name} skipped by default")
        if _truthy(before[1]) and not _truthy(after[1]):
            out.append(f"check {name} no longer fails on a violation")
    for name, step in new.steps.items():
        if step.type == "RegisterModel" and name in old.steps:
            a = resolve(old.steps[name].raw.get("Arguments", {}).get("ModelApprovalStatus", MISSING), old)
            b = resolve(step.raw.get("Arguments", {}).get("ModelApprovalStatus", MISSING), new)
            if a != b:
                out.append(f"approval {name}: {show(a)} → {show(b)}")
    for name, step in new.steps.items():
        if name not in old.steps:
            continue
        before = old.steps[name].fields
        for path in [*step.fields, *(p for p in before if p not in step.fields)]:
            if not path or not _INSTANCES.search(path[-1]):
                continue
            a = resolve(before.get(path, MISSING), old)
            b = resolve(step.fields.get(path, MISSING), new)
            if a != b:
                out.append(f"{name} {path[-1]} {show(a)} → {show(b)}")
    return out
