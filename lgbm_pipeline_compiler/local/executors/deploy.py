"""Lambda steps: the bundled deploy handler runs against the local control plane.

A Lambda function cannot run locally, so every Lambda step is taken to be the deploy function
built from step_scripts/deploy_endpoint.py (the one the spec's `deploy:` section points at).
"""

from __future__ import annotations

from typing import Any

from ..context import StepContext, StepFailed
from ..control import LocalSageMaker


def run(ctx: StepContext) -> dict[str, Any]:
    from ...step_scripts import deploy_endpoint

    event = ctx.resolve(ctx.step["Arguments"])
    ctx.log.write(
        f"invoking {ctx.step['FunctionArn']} locally (step_scripts/deploy_endpoint.py) with {event}\n"
    )
    try:
        result = deploy_endpoint.handle(event, LocalSageMaker(ctx.work_dir))
    except (ValueError, deploy_endpoint.DeployError) as err:
        raise StepFailed(f"deploy handler: {err}") from None
    ctx.log.write(f"{result}\n")
    outputs = {o["OutputName"]: result.get(o["OutputName"]) for o in ctx.step.get("OutputParameters", [])}
    return {"OutputParameters": outputs, **outputs}
