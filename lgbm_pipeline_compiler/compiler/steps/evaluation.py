"""`evaluation:` → a ProcessingStep scoring the best model on the test split, with a PropertyFile."""

from __future__ import annotations

from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.functions import Join
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import ProcessingStep

from ..containers import SHARED_ENV, install_command, requirements_inputs, shared_module_input, training_image
from ..context import BuildContext
from ..handles import Evaluated, Preprocessed, Tuned
from ..production import kms_keys, network_config, step_settings

STEP_NAME = "Evaluate"
REPORT = "evaluation.json"
MODEL_DIR, TEST_DIR, OUTPUT_DIR = (
    "/opt/ml/processing/model",
    "/opt/ml/processing/test",
    "/opt/ml/processing/evaluation",
)


def build(ctx: BuildContext, data: Preprocessed, tuned: Tuned) -> Evaluated:
    section = ctx.spec.evaluation
    inputs = [
        ProcessingInput(source=tuned.best_model_uri, destination=MODEL_DIR, input_name="model"),
        ProcessingInput(source=data.test, destination=TEST_DIR, input_name="test"),
        shared_module_input(ctx),
    ]
    if section.image_uri:
        image, command = section.image_uri, ["python3"]
    else:
        inputs += requirements_inputs(ctx)
        image, command = training_image(ctx), install_command(ctx)
    processor = ScriptProcessor(
        image_uri=image,
        command=command,
        role=ctx.role,
        instance_type=ctx.params("evaluation.instance_type"),
        instance_count=section.instance_count,
        base_job_name="evaluate",
        env=dict(SHARED_ENV),
        network_config=network_config(ctx, "evaluation"),
        **kms_keys(ctx, "evaluation"),
        sagemaker_session=ctx.session,
    )
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path=REPORT)
    step_args = processor.run(
        code=ctx.script_uri(section.script),
        inputs=inputs,
        outputs=[
            ProcessingOutput(
                output_name="evaluation",
                source=OUTPUT_DIR,
                destination=ctx.run_uri(STEP_NAME, "evaluation"),
            )
        ],
        arguments=[
            "--model-dir",
            MODEL_DIR,
            "--test-dir",
            TEST_DIR,
            "--output-dir",
            OUTPUT_DIR,
            "--metrics",
            ",".join(section.metrics),
        ],  # fmt: skip
    )
    step = ProcessingStep(
        STEP_NAME, step_args=step_args, property_files=[report], **step_settings(ctx, "evaluation")
    )
    out = step.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    return Evaluated(step, report=report, report_uri=Join(on="/", values=[out, REPORT]))
