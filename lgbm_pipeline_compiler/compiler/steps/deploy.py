"""`deploy:` → a LambdaStep invoking step_scripts/deploy_endpoint.py with the registered package."""

from __future__ import annotations

from sagemaker.lambda_helper import Lambda
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep

from ...spec.deploy_function import HANDLER_SCRIPT
from ..artifacts import bundled_script
from ..context import BuildContext
from ..handles import Deployed, Registered

STEP_NAME = "Deploy"
OUTPUTS = {
    "statusCode": LambdaOutputTypeEnum.Integer,
    "endpoint_name": LambdaOutputTypeEnum.String,
    "endpoint_config_name": LambdaOutputTypeEnum.String,
    "action": LambdaOutputTypeEnum.String,
}


def build(ctx: BuildContext, registered: Registered) -> Deployed:
    section = ctx.spec.deploy
    assert section is not None
    if section.function is not None:  # `lgbm-pipeline deploy` creates the function from these bytes
        ctx.artifacts.add_shipped(HANDLER_SCRIPT, bundled_script(HANDLER_SCRIPT))
    step = LambdaStep(
        STEP_NAME,
        lambda_func=Lambda(function_arn=section.lambda_arn, session=ctx.session),
        inputs={
            "model_package_arn": registered.model_package_arn,
            "endpoint_name": section.endpoint_name,
            "endpoint_config_name": section.endpoint_config_name or section.endpoint_name,
            "role_arn": ctx.role,
            "instance_type": ctx.params("deploy.instance_type"),
            "instance_count": ctx.params("deploy.instance_count"),
        },
        outputs=[LambdaOutput(output_name=name, output_type=kind) for name, kind in OUTPUTS.items()],
    )
    return Deployed(step)
