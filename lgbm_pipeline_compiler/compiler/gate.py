"""`quality_gate:` → a ConditionStep over the evaluation report; its if-branch registers and deploys."""

from __future__ import annotations

from sagemaker.workflow import conditions
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.functions import JsonGet

from .context import BuildContext

CONDITIONS = {
    "GreaterThanOrEqualTo": conditions.ConditionGreaterThanOrEqualTo,
    "GreaterThan": conditions.ConditionGreaterThan,
    "LessThan": conditions.ConditionLessThan,
    "LessThanOrEqualTo": conditions.ConditionLessThanOrEqualTo,
    "Equals": conditions.ConditionEquals,
}


def step_name(ctx: BuildContext) -> str:
    return f"{ctx.spec.quality_gate.metric.replace('_', '').upper()}Gate"


def build(ctx: BuildContext, if_steps: list) -> ConditionStep:
    gate = ctx.spec.quality_gate
    metric = JsonGet(
        step_name=ctx.steps["evaluate"].name,
        property_file=ctx.steps["evaluation_report"],
        json_path=gate.json_path,
    )
    condition = CONDITIONS[gate.comparison](left=metric, right=ctx.params("quality_gate.threshold"))
    # Clarify checks must pass before anything is registered, even though the gate reads only
    # the evaluation report.
    checks = [ctx.steps[k].name for k in ("bias", "explain") if k in ctx.steps]
    step = ConditionStep(
        step_name(ctx), conditions=[condition], if_steps=if_steps, else_steps=[], depends_on=checks or None
    )
    ctx.steps["gate"] = step
    return step
