"""Condition steps: evaluate the definition's conditions (JsonGet values already resolved)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_BINARY: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


def evaluate(condition: dict[str, Any], resolve: Callable[[Any], Any]) -> tuple[bool, str]:
    """(outcome, a readable account such as '0.7123 >= 0.68')."""
    kind = condition["Type"]
    if kind in _BINARY:
        left, right = resolve(condition["LeftValue"]), resolve(condition["RightValue"])
        try:
            outcome = _BINARY[kind](left, right)
        except TypeError:
            raise ValueError(f"cannot compare {left!r} {kind} {right!r}") from None
        return outcome, f"{left!r} {kind} {right!r}"
    if kind == "Not":
        outcome, text = evaluate(condition["Expression"], resolve)
        return not outcome, f"not ({text})"
    if kind == "Or":
        results = [evaluate(c, resolve) for c in condition["Conditions"]]
        return any(r for r, _ in results), " or ".join(f"({t})" for _, t in results)
    if kind == "In":
        value, options = resolve(condition["QueryValue"]), resolve(condition["Values"])
        return value in options, f"{value!r} in {options!r}"
    raise ValueError(f"unsupported condition type {kind!r}")


def evaluate_all(conditions: list[dict[str, Any]], resolve: Callable[[Any], Any]) -> tuple[bool, str]:
    results = [evaluate(c, resolve) for c in conditions]
    return all(r for r, _ in results), " and ".join(t for _, t in results)
