"""`data_quality:` (engine sagemaker-model-monitor) → the baseline dataset, then a QualityCheckStep.

Model Monitor's analyzer profiles every column of its baseline dataset, and the model's endpoint
receives the features only: so a small processing step (step_scripts/data_quality_check.py
``--mode dataset``) writes the training split's features with a header, and the QualityCheckStep
(DataQualityCheckConfig, ``DatasetFormat.csv(header=True)``) baselines that file. Without the
target column, monitoring captured traffic against this baseline reports no missing column.

Baseline parameters follow the Clarify checks (skip check, register new baseline, supplied
statistics and constraints, fail on violation); the previous baseline is the latest Approved
package's in the registry's model package group (QualityCheckStep's ModelPackageGroupName). The
registry registers the result as AWS's own pipelines do (the SageMaker example pipelines'
``ModelMetrics(model_data_statistics=CalculatedBaselineStatistics, ...)`` and
``DriftCheckBaselines(model_data_statistics=BaselineUsedForDriftCheckStatistics, ...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.functions import Join
from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.workflow.steps import ProcessingStep

from ..artifacts import read_script
from ..containers import LIB_DIR, shared_module_input, sklearn_image
from ..context import BuildContext
from ..handles import Preprocessed
from ..production import cache_config, kms_keys, network_config, step_settings

STEP_NAME = "DataQualityCheck"
DATASET_STEP = "DataQualityDataset"
SECTION = "data_quality"
SCRIPT, MODULE = "data_quality_check.py", "data_quality.py"
DATA_DIR, OUTPUT_DIR = "/opt/ml/processing/input/data", "/opt/ml/processing/output"
MODULE_DIR = "/opt/ml/processing/input/data_quality"
SCHEMA_DIR = "/opt/ml/processing/input/schema"
"""With training.distributed, the validation split: the train split is sharded and has no
schema.json (preprocessing.py), the validation split has the same one."""
ENV = {"PYTHONPATH": f"{LIB_DIR}:{MODULE_DIR}"}
"""The shared step-script modules and data_quality.py on the job's path."""


@dataclass(frozen=True)
class DataQualityChecked:
    """The data-quality steps and the S3 URIs of the calculated baseline and of the baseline later
    drift checks use (QualityCheckStep's CalculatedBaseline* / BaselineUsedForDriftCheck*)."""

    steps: list[Any]
    statistics_uri: Any
    constraints_uri: Any
    drift_statistics_uri: Any
    drift_constraints_uri: Any
    baseline_dataset_uri: Any = field(default=None)


def processor(ctx: BuildContext, base_job_name: str) -> ScriptProcessor:
    """data_quality_check.py in the scikit-learn image: pandas and numpy only, nothing installed."""
    section = ctx.spec.data_quality
    assert section is not None
    return ScriptProcessor(
        image_uri=sklearn_image(ctx, ctx.spec.training.framework_version),
        command=["python3"],
        role=ctx.role,
        instance_type=ctx.params("data_quality.instance_type"),
        instance_count=1,
        volume_size_in_gb=section.volume_size_gb,
        max_runtime_in_seconds=section.max_runtime_seconds,
        base_job_name=base_job_name,
        env=dict(ENV),
        network_config=network_config(ctx, SECTION),
        **kms_keys(ctx, SECTION),
        sagemaker_session=ctx.session,
    )


def code_inputs(ctx: BuildContext, data: Preprocessed) -> list[ProcessingInput]:
    """The training split, the shared step-script modules and data_quality.py; with
    training.distributed also the validation split, for its schema.json (schema_arguments)."""
    name, module = read_script(MODULE, ctx.spec.source_dir)
    inputs = [
        ProcessingInput(source=data.train, destination=DATA_DIR, input_name="train"),
        shared_module_input(ctx),
        ProcessingInput(
            source=ctx.artifacts.add_bundle("data_quality", {name: module}),
            destination=MODULE_DIR,
            input_name="data_quality",
        ),
    ]
    if ctx.spec.training.distributed is not None:
        inputs.append(ProcessingInput(source=data.validation, destination=SCHEMA_DIR, input_name="schema"))
    return inputs


def schema_arguments(ctx: BuildContext) -> list[str]:
    """``--schema-dir`` when the train split is sharded (no schema.json of its own); else none, so a
    definition without training.distributed is what it was."""
    return ["--schema-dir", SCHEMA_DIR] if ctx.spec.training.distributed is not None else []


def _dataset(ctx: BuildContext, data: Preprocessed) -> tuple[ProcessingStep, Any]:
    output = ProcessingOutput(
        output_name="baseline_dataset", source=OUTPUT_DIR, destination=ctx.run_uri(DATASET_STEP)
    )
    step_args = processor(ctx, "data-quality-dataset").run(
        code=ctx.script_uri(SCRIPT),
        inputs=code_inputs(ctx, data),
        outputs=[output],
        arguments=[
            "--mode",
            "dataset",
            "--data-dir",
            DATA_DIR,
            "--output-dir",
            OUTPUT_DIR,
            *schema_arguments(ctx),
        ],
    )
    step = ProcessingStep(DATASET_STEP, step_args=step_args, **step_settings(ctx, SECTION))
    uri = step.properties.ProcessingOutputConfig.Outputs["baseline_dataset"].S3Output.S3Uri
    return step, Join(on="/", values=[uri, "baseline.csv"])


def build(ctx: BuildContext, data: Preprocessed) -> DataQualityChecked:
    section = ctx.spec.data_quality
    assert section is not None
    dataset_step, dataset_uri = _dataset(ctx, data)
    base = "data_quality.baseline"
    check_job = CheckJobConfig(
        role=ctx.role,
        instance_count=ctx.params("data_quality.instance_count"),
        instance_type=ctx.params("data_quality.instance_type"),
        volume_size_in_gb=section.volume_size_gb,
        max_runtime_in_seconds=section.max_runtime_seconds,
        base_job_name="data-quality-baseline",
        network_config=network_config(ctx, SECTION),
        **kms_keys(ctx, SECTION),
        sagemaker_session=ctx.session,
    )
    config = DataQualityCheckConfig(
        baseline_dataset=dataset_uri,
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=ctx.run_uri(STEP_NAME, "baseline"),
    )
    step = QualityCheckStep(
        STEP_NAME,
        quality_check_config=config,
        check_job_config=check_job,
        skip_check=ctx.params(f"{base}.skip_check"),
        register_new_baseline=ctx.params(f"{base}.register_new_baseline"),
        supplied_baseline_statistics=ctx.params(f"{base}.supplied_statistics"),
        supplied_baseline_constraints=ctx.params(f"{base}.supplied_constraints"),
        fail_on_violation=section.baseline.fail_on_violation,
        model_package_group_name=ctx.spec.registry.model_package_group if ctx.spec.registry else None,
        cache_config=cache_config(ctx, SECTION),  # a QualityCheckStep takes no retry policies
    )
    props = step.properties
    return DataQualityChecked(
        steps=[dataset_step, step],
        statistics_uri=props.CalculatedBaselineStatistics,
        constraints_uri=props.CalculatedBaselineConstraints,
        drift_statistics_uri=props.BaselineUsedForDriftCheckStatistics,
        drift_constraints_uri=props.BaselineUsedForDriftCheckConstraints,
        baseline_dataset_uri=dataset_uri,
    )
