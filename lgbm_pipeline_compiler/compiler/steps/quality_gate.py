"""`quality_gate:` → a ConditionStep over the evaluation report; its if-branch registers and deploys."""

from __future__ import annotations

from typing import Any

from sagemaker.workflow import conditions
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.functions import JsonGet

from ..context import BuildContext
from ..handles import Checks, Evaluated

CONDITIONS = {
    "GreaterThanOrEqualTo": conditions.ConditionGreaterThanOrEqualTo,
    "GreaterThan": conditions.ConditionGreaterThan,
    "LessThan": conditions.ConditionLessThan,
    "LessThanOrEqualTo": conditions.ConditionLessThanOrEqualTo,
    "Equals": conditions.ConditionEquals,
}


def step_name(ctx: BuildContext) -> str:
    return f"{ctx.spec.quality_gate.metric.replace('_', '').upper()}Gate"


def build(ctx: BuildContext, evaluated: Evaluated, checks: Checks, if_steps: list[Any]) -> ConditionStep:
    gate = ctx.spec.quality_gate
    metric = JsonGet(step_name=evaluated.step.name, property_file=evaluated.report, json_path=gate.json_path)
    condition = CONDITIONS[gate.comparison](left=metric, right=ctx.params("quality_gate.threshold"))
    # Clarify checks must pass before anything is registered, even though the gate reads only
    # the evaluation report.
    waits_for = [step.name for step in checks.steps]
    return ConditionStep(
        step_name(ctx), conditions=[condition], if_steps=if_steps, else_steps=[], depends_on=waits_for or None
    )
