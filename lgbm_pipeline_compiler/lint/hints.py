"""Wording shared by the rules: did-you-mean, and a name against its botocore shape."""

from __future__ import annotations

import difflib
from typing import Any

from .requests import check_value


def did_you_mean(value: Any, choices: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(str(value), sorted(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def name_problems(value: object, shape: Any, what: str, service: str = "SageMaker") -> list[str]:
    """``value`` against a name's botocore shape (length and pattern), in words."""
    out = []
    for problem in check_value(value, shape):
        meta = shape.metadata
        if problem.kind == "max":
            out.append(
                f"{what} '{value}' has {len(str(value))} characters; {service} allows at most {meta['max']}"
            )
        elif problem.kind == "pattern":
            out.append(f"{what} '{value}' does not match {service}'s pattern {meta['pattern']}")
        elif problem.kind == "min":
            out.append(f"{what} must not be empty")
        else:
            out.append(f"{what}: {problem.message}")
    return out
