"""Condition steps: evaluate the conditions; the runner follows the branch the Outcome names."""

from __future__ import annotations

from typing import Any

from .. import conditions
from ..context import StepContext


def run(ctx: StepContext) -> dict[str, Any]:
    outcome, account = conditions.evaluate_all(ctx.step["Arguments"]["Conditions"], ctx.resolve)
    ctx.note = f"{account} → {'if' if outcome else 'else'} branch"
    ctx.log.write(ctx.note + "\n")
    return {"Outcome": outcome}
