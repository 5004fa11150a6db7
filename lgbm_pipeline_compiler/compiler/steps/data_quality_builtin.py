"""`data_quality` with the builtin engine → a ProcessingStep running step_scripts/data_quality_check.py.

The same outputs as the QualityCheckStep (statistics.json and constraints.json in Model Monitor's
formats, the baseline used for drift checks, constraint_violations.json), the same baseline
parameters and failure behaviour, computed by data_quality.py in the scikit-learn image. The
previous baseline follows QualityCheckStep: the supplied one; else, when the spec has a
`registry`, the DriftCheckBaselines.ModelDataQuality of the latest Approved package in its group
(the job gets `--model-package-group` and looks it up with boto3: the pipeline role needs
sagemaker:ListModelPackages, sagemaker:DescribeModelPackage and s3:GetObject on the baseline);
else only a first run succeeds. An exposed supplied-statistics or supplied-constraints parameter
defaults to a "no baseline" artifact ({}), since a processing input cannot be empty.
"""

from __future__ import annotations

from typing import Any

from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.workflow.functions import Join
from sagemaker.workflow.steps import ProcessingStep

from ..context import BuildContext
from ..handles import Preprocessed
from ..production import step_settings
from .data_quality import (
    DATA_DIR,
    OUTPUT_DIR,
    SCRIPT,
    SECTION,
    STEP_NAME,
    DataQualityChecked,
    code_inputs,
    processor,
    schema_arguments,
)

BASELINE_DIRS = {
    "statistics": "/opt/ml/processing/input/baseline_statistics",
    "constraints": "/opt/ml/processing/input/baseline_constraints",
}


def _flag(value: Any) -> Any:
    """A boolean (or Boolean parameter) as the text "true"/"false" for a job argument."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return Join(on="", values=[value])


def _supplied(ctx: BuildContext, kind: str) -> tuple[list[ProcessingInput], list[str]]:
    """The supplied baseline file of ``kind`` as an input and its argument (none: nothing)."""
    path = f"data_quality.baseline.supplied_{kind}"
    if ctx.params.is_exposed(path) and ctx.spec.value_at(path) is None:
        ctx.params.set_default(path, ctx.artifacts.add("no-baseline.json", b"{}\n"))
    source = ctx.params(path)
    if not source:
        return [], []
    folder = BASELINE_DIRS[kind]
    return [ProcessingInput(source=source, destination=folder, input_name=f"baseline_{kind}")], [
        f"--baseline-{kind}",
        folder,
    ]


def build(ctx: BuildContext, data: Preprocessed) -> DataQualityChecked:
    section = ctx.spec.data_quality
    assert section is not None
    base = "data_quality.baseline"
    inputs, arguments = code_inputs(ctx, data), [
        "--mode", "baseline",
        "--data-dir", DATA_DIR,
        "--output-dir", OUTPUT_DIR,
        *schema_arguments(ctx),
        "--skip-check", _flag(ctx.params(f"{base}.skip_check")),
        "--register-new-baseline", _flag(ctx.params(f"{base}.register_new_baseline")),
        "--fail-on-violation", _flag(section.baseline.fail_on_violation),
    ]  # fmt: skip
    if ctx.spec.registry is not None:  # QualityCheckStep's latest-Approved lookup, done by the job
        arguments += ["--model-package-group", ctx.spec.registry.model_package_group]
    for kind in BASELINE_DIRS:
        more_inputs, more_arguments = _supplied(ctx, kind)
        inputs += more_inputs
        arguments += more_arguments
    step_args = processor(ctx, "data-quality-baseline").run(
        code=ctx.script_uri(SCRIPT),
        inputs=inputs,
        outputs=[
            ProcessingOutput(
                output_name="data_quality", source=OUTPUT_DIR, destination=ctx.run_uri(STEP_NAME, "baseline")
            )
        ],
        arguments=arguments,
    )
    step = ProcessingStep(STEP_NAME, step_args=step_args, **step_settings(ctx, SECTION))
    out = step.properties.ProcessingOutputConfig.Outputs["data_quality"].S3Output.S3Uri

    def uri(name: str) -> Join:
        return Join(on="/", values=[out, name])

    return DataQualityChecked(
        steps=[step],
        statistics_uri=uri("statistics.json"),
        constraints_uri=uri("constraints.json"),
        drift_statistics_uri=uri("drift_check_statistics.json"),
        drift_constraints_uri=uri("drift_check_constraints.json"),
    )
