"""`deploy:` → a LambdaStep invoking step_scripts/deploy_endpoint.py with the registered package.

The endpoint options travel as event fields, present only when the spec sets them (so a spec
without them compiles to the same definition as before): ``data_capture_config`` and
``serverless_config`` are CreateEndpointConfig's DataCaptureConfig and ProductionVariant
ServerlessConfig as the handler passes them on; ``variants`` and ``autoscaling`` are the settings
the handler acts on (step_scripts/deploy_variants.py, deploy_scaling.py). A serverless deploy
passes no instance type or count.
"""

from __future__ import annotations

from typing import Any

from sagemaker.lambda_helper import Lambda
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep

from ...spec.deploy import DeploySection
from ...spec.deploy_function import HANDLER_MODULES, HANDLER_SCRIPT
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
CAPTURE_MODES = {"input": "Input", "output": "Output"}


def endpoint_options(section: DeploySection, write_uri: str) -> dict[str, Any]:
    """The option fields of the deploy event (also the Lambda's environment, ship/function.py)."""
    options: dict[str, Any] = {}
    capture = section.data_capture
    if capture is not None:
        config: dict[str, Any] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": capture.sampling_percentage,
            "DestinationS3Uri": capture.destination or f"{write_uri}/data-capture",
            "CaptureOptions": [{"CaptureMode": CAPTURE_MODES[mode]} for mode in capture.capture],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": list(capture.content_types.csv),
                "JsonContentTypes": list(capture.content_types.json_types),
            },
        }
        if capture.kms_key_id:
            config["KmsKeyId"] = capture.kms_key_id
        options["data_capture_config"] = config
    if section.variants is not None:
        variants: dict[str, Any] = {"name": section.variants.name, "weight": section.variants.weight}
        keep = section.variants.keep_current
        if keep is not None:
            variants["keep_current"] = {"name": keep.name, "weight": keep.weight}
        options["variants"] = variants
    if section.autoscaling is not None:
        options["autoscaling"] = section.autoscaling.model_dump(exclude_none=True)
    if section.serverless is not None:
        serverless = {
            "MemorySizeInMB": section.serverless.memory_mb,
            "MaxConcurrency": section.serverless.max_concurrency,
        }
        if section.serverless.provisioned_concurrency is not None:
            serverless["ProvisionedConcurrency"] = section.serverless.provisioned_concurrency
        options["serverless_config"] = serverless
    return options


def build(ctx: BuildContext, registered: Registered) -> Deployed:
    section = ctx.spec.deploy
    assert section is not None
    if section.function is not None:  # `lgbm-pipeline deploy` creates the function from these bytes
        for name in (HANDLER_SCRIPT, *HANDLER_MODULES):
            ctx.artifacts.add_shipped(name, bundled_script(name))
    inputs: dict[str, Any] = {
        "model_package_arn": registered.model_package_arn,
        "endpoint_name": section.endpoint_name,
        "endpoint_config_name": section.endpoint_config_name or section.endpoint_name,
        "role_arn": ctx.role,
    }
    if section.serverless is None:
        inputs["instance_type"] = ctx.params("deploy.instance_type")
        inputs["instance_count"] = ctx.params("deploy.instance_count")
    inputs.update(endpoint_options(section, ctx.spec.storage.write))
    step = LambdaStep(
        STEP_NAME,
        lambda_func=Lambda(function_arn=section.lambda_arn, session=ctx.session),
        inputs=inputs,
        outputs=[LambdaOutput(output_name=name, output_type=kind) for name, kind in OUTPUTS.items()],
    )
    return Deployed(step)
