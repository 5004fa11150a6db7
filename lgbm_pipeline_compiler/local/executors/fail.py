"""Fail steps: stop the execution with the step's error message, as SageMaker's FailStep does."""

from __future__ import annotations

from typing import Any

from ..context import StepContext, StepFailed


def run(ctx: StepContext) -> dict[str, Any]:
    message = ctx.resolve(ctx.step.get("Arguments", {}).get("ErrorMessage", ""))
    ctx.log.write(f"Fail step: {message}\n")
    raise StepFailed(f"Fail step {ctx.name}: {message}" if message else f"Fail step {ctx.name}")
