"""The best trial's model as a SageMaker Model (CreateModel), served by step_scripts/inference.py."""

from __future__ import annotations

from sagemaker.model import Model
from sagemaker.workflow.model_step import ModelStep

from ..containers import training_image
from ..context import BuildContext
from ..handles import Modeled, Tuned
from ..production import model_network, retry_policies

STEP_NAME = "LightGBMModel"
# train.py puts inference.py, step_common.py and requirements.txt under code/ in model.tar.gz, so
# the serving container needs no repack step.
SERVING_ENV = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


def serving_instance_type(ctx: BuildContext) -> str:
    spec = ctx.spec
    if spec.deploy is not None:
        return spec.deploy.instance_type
    if spec.registry is not None:
        return spec.registry.inference_instances[0]
    return "ml.m5.large"


def build(ctx: BuildContext, tuned: Tuned) -> Modeled:
    model = Model(
        image_uri=training_image(ctx),
        model_data=tuned.best_model_uri,
        role=ctx.role,
        env=dict(SERVING_ENV),
        sagemaker_session=ctx.session,
        **model_network(ctx),
    )
    step = ModelStep(
        STEP_NAME,
        step_args=model.create(instance_type=serving_instance_type(ctx)),
        retry_policies=retry_policies(ctx, "model"),
    )
    return Modeled(step, model=model, model_name=step.properties.ModelName)
