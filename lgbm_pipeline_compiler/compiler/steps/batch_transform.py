"""`batch_transform:` → a TransformStep scoring the test split with the registered model.

It runs in the gate's if-branch after Register, on the CreateModel step's model: the same image,
model.tar.gz and environment the package registers (a model created from a versioned package
would need the package Approved first). The input is the header-less test split (target first);
the target is filtered out of each record before the model sees it and joined back afterwards, so
every output line is ``target,probability,label`` (or every input column, then the prediction).
"""

from __future__ import annotations

from sagemaker.transformer import Transformer
from sagemaker.workflow.steps import TransformStep

from ..context import BuildContext
from ..handles import Modeled, Preprocessed, Registered, Transformed
from ..production import kms_keys, step_settings
from .evaluation import STEP_NAME as EVALUATE_STEP

STEP_NAME = "BatchTransform"
# JSONPath over a CSV record's columns (Batch Transform's DataProcessing): drop the target before
# the model; after joining the input with the model's "probability,label", keep the target and
# the prediction.
WITHOUT_TARGET = "$[1:]"
OUTPUT_FILTERS = {"predictions": "$[0,-2,-1]", "joined": "$"}


def build(ctx: BuildContext, data: Preprocessed, modeled: Modeled, registered: Registered) -> Transformed:
    section = ctx.spec.batch_transform
    assert section is not None
    output_uri = ctx.run_uri(EVALUATE_STEP, "predictions")
    transformer = Transformer(
        model_name=modeled.model_name,
        instance_type=ctx.params("batch_transform.instance_type"),
        instance_count=ctx.params("batch_transform.instance_count"),
        strategy=section.strategy,
        assemble_with="Line",
        output_path=output_uri,
        accept="text/csv",
        max_concurrent_transforms=section.max_concurrent_transforms,
        max_payload=section.max_payload_mb,
        base_transform_job_name="score-test",
        **kms_keys(ctx, "batch_transform"),
        sagemaker_session=ctx.session,
    )
    step_args = transformer.transform(
        data=data.clarify,
        content_type="text/csv",
        split_type="Line",
        input_filter=WITHOUT_TARGET,
        join_source="Input",
        output_filter=OUTPUT_FILTERS[section.output],
    )
    step = TransformStep(
        STEP_NAME, step_args=step_args, depends_on=[registered.step], **step_settings(ctx, "batch_transform")
    )
    return Transformed(step, output_uri=step.properties.TransformOutput.S3OutputPath)
