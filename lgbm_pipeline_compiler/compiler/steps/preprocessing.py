"""`preprocessing:` → a ProcessingStep running step_scripts/preprocessing.py in SKLearnProcessor."""

from __future__ import annotations

from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.steps import ProcessingStep

from ..containers import SHARED_ENV, shared_module_input
from ..context import BuildContext
from ..handles import Preprocessed

OUTPUTS = ("train", "validation", "test", "clarify")
INPUT_DIR = "/opt/ml/processing/input/data"
OUTPUT_DIR = "/opt/ml/processing/output"
STEP_NAME = "Preprocess"


def job_arguments(ctx: BuildContext) -> list[str]:
    """The preprocessing script's command line, derived from `data:`."""
    data = ctx.spec.data
    args = [
        # Container paths are explicit so the definition says everything the job needs (and a
        # local run can map them to directories of its own).
        "--input-dir", INPUT_DIR,
        "--output-dir", OUTPUT_DIR,
        "--target-column", data.target_column,
        "--positive-class", str(data.positive_class),
        "--train-ratio", repr(data.split.train),
        "--validation-ratio", repr(data.split.validation),
        "--test-ratio", repr(data.split.test),
        "--stratify", "true" if data.stratify else "false",
        "--seed", str(data.seed),
        "--categorical-columns",
        data.categorical_columns if isinstance(data.categorical_columns, str) else ",".join(data.categorical_columns),
    ]  # fmt: skip
    if data.drop_columns:
        args += ["--drop-columns", ",".join(data.drop_columns)]
    if not data.header and data.columns:
        args += ["--column-names", ",".join(data.columns)]
    bias = ctx.spec.clarify.bias if ctx.spec.clarify else None
    if bias is not None:
        facets = [bias.facet_name] + ([bias.group_name] if bias.group_name else [])
        args += ["--facet-columns", ",".join(facets)]
    return args


def build(ctx: BuildContext) -> Preprocessed:
    section = ctx.spec.preprocessing
    processor = SKLearnProcessor(
        framework_version=section.framework_version,
        role=ctx.role,
        instance_type=ctx.params("preprocessing.instance_type"),
        instance_count=ctx.params("preprocessing.instance_count"),
        volume_size_in_gb=section.volume_size_gb,
        base_job_name="preprocess",
        env=dict(SHARED_ENV),
        sagemaker_session=ctx.session,
    )
    step_args = processor.run(
        code=ctx.script_uri(section.script),
        inputs=[
            ProcessingInput(source=ctx.params("data.input"), destination=INPUT_DIR, input_name="data"),
            shared_module_input(ctx),
        ],
        outputs=[
            ProcessingOutput(
                output_name=name,
                source=f"{OUTPUT_DIR}/{name}",
                destination=ctx.run_uri(STEP_NAME, name),
            )
            for name in OUTPUTS
        ],
        arguments=job_arguments(ctx),
    )
    step = ProcessingStep(STEP_NAME, step_args=step_args)
    outputs = step.properties.ProcessingOutputConfig.Outputs
    return Preprocessed(step, *(outputs[name].S3Output.S3Uri for name in OUTPUTS))
