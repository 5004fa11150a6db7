"""`evaluation:` → a ProcessingStep scoring the best model on the test split, with a PropertyFile."""

from __future__ import annotations

from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.functions import Join
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import ProcessingStep

from . import preprocessing
from .artifacts import read_script
from .context import BuildContext
from .tuning import best_model_uri

STEP_NAME = "Evaluate"
REPORT = "evaluation.json"
REQUIREMENTS_DIR = "/opt/ml/processing/input/requirements"
MODEL_DIR, TEST_DIR, OUTPUT_DIR = (
    "/opt/ml/processing/model",
    "/opt/ml/processing/test",
    "/opt/ml/processing/evaluation",
)
# The scikit-learn container has no LightGBM: install the pinned step_scripts/requirements.txt
# first ($0 is the script path SageMaker appends, "$@" the job arguments).
INSTALL_THEN_RUN = [
    "/bin/sh",
    "-c",
    f'python3 -m pip install --quiet --no-input -r {REQUIREMENTS_DIR}/requirements.txt && exec python3 "$0" "$@"',
]


def requirements_input(ctx: BuildContext) -> ProcessingInput:
    """step_scripts/requirements.txt as the input INSTALL_THEN_RUN installs before the script."""
    name, data = read_script("requirements.txt", ctx.spec.source_dir)
    return ProcessingInput(
        source=ctx.artifacts.add(name, data), destination=REQUIREMENTS_DIR, input_name="requirements"
    )


def build(ctx: BuildContext) -> ProcessingStep:
    section = ctx.spec.evaluation
    inputs = [
        ProcessingInput(source=best_model_uri(ctx), destination=MODEL_DIR, input_name="model"),
        ProcessingInput(
            source=preprocessing.output_uri(ctx.steps["preprocess"], "test"),
            destination=TEST_DIR,
            input_name="test",
        ),
    ]
    if section.image_uri:
        image, command = section.image_uri, ["python3"]
    else:
        inputs.append(requirements_input(ctx))
        image, command = ctx.training_image, INSTALL_THEN_RUN
    processor = ScriptProcessor(
        image_uri=image,
        command=command,
        role=ctx.role,
        instance_type=ctx.params("evaluation.instance_type"),
        instance_count=section.instance_count,
        base_job_name="evaluate",
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
    step = ProcessingStep(STEP_NAME, step_args=step_args, property_files=[report])
    ctx.steps["evaluate"] = step
    ctx.steps["evaluation_report"] = report
    return step


def report_uri(ctx: BuildContext) -> Join:
    """S3 URI of evaluation.json written by the evaluation step."""
    out = ctx.steps["evaluate"].properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    return Join(on="/", values=[out, REPORT])
