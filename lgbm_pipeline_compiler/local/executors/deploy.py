"""Lambda steps: the bundled deploy handler runs against the local control plane.

A Lambda function cannot run locally, so every Lambda step is taken to be the deploy function
built from step_scripts/deploy_endpoint.py (the one the spec's `deploy:` section points at).

The handler deploys only an Approved model package. When it skips one (PendingManualApproval or
Rejected), the step succeeds, as it does in SageMaker, and its event is kept as a pending deployment
({work_dir}/control/pending-deployments/{group}-{version}.json): `lgbm-pipeline registry approve
ARN` runs the same handler with it, as the approval EventBridge rule does in AWS.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..autoscaling import LocalApplicationAutoScaling
from ..context import StepContext, StepFailed
from ..control import LocalSageMaker


def run(ctx: StepContext) -> dict[str, Any]:
    from ...step_scripts import deploy_endpoint

    event = ctx.resolve(ctx.step["Arguments"])
    ctx.log.write(
        f"invoking {ctx.step['FunctionArn']} locally (step_scripts/deploy_endpoint.py) with {event}\n"
    )
    control = LocalSageMaker(ctx.work_dir, ctx.services.get("registry"))
    try:
        result = deploy_endpoint.handle(event, control, LocalApplicationAutoScaling(control))
    except (ValueError, deploy_endpoint.DeployError, BotoCoreError, ClientError) as err:
        # BotoCoreError: a request boto3 refuses; ClientError: one SageMaker refuses, in its words
        raise StepFailed(f"deploy handler: {err}") from None
    ctx.log.write(f"{result}\n")
    if result.get("action") == "skipped":
        path = control.record_pending_deployment(event, execution_id=ctx.execution_id, step=ctx.name)
        ctx.note = f"deploy skipped: {result['reason']} (pending deployment kept in {path})"
    else:
        ctx.note = f"{result['action']} endpoint {result['endpoint_name']} ({result['endpoint_config_name']})"
        if "autoscaling" in result:
            ctx.note += f"; autoscaling {result['autoscaling']}"
    ctx.log.write(ctx.note + "\n")
    outputs = {o["OutputName"]: result.get(o["OutputName"]) for o in ctx.step.get("OutputParameters", [])}
    return {"OutputParameters": outputs, **outputs}
