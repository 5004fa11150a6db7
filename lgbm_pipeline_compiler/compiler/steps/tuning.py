"""`tuning:` → HyperparameterTuner + TuningStep over the preprocessing outputs."""

from __future__ import annotations

from sagemaker.inputs import TrainingInput
from sagemaker.tuner import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)
from sagemaker.workflow.steps import TuningStep

from ...spec.tuning import CategoricalRange, ContinuousRange, IntegerRange, Range
from ..containers import WHEELS_CHANNEL, wheels_uri
from ..context import BuildContext
from ..handles import Preprocessed, Tuned
from ..production import step_settings
from .training import build_estimator, model_output_prefix

STEP_NAME = "Tune"


def sdk_range(spec_range: Range):  # noqa: ANN201 - an SDK ParameterRange
    if isinstance(spec_range, IntegerRange):
        return IntegerParameter(spec_range.min, spec_range.max, scaling_type=spec_range.scaling)
    if isinstance(spec_range, ContinuousRange):
        return ContinuousParameter(spec_range.min, spec_range.max, scaling_type=spec_range.scaling)
    assert isinstance(spec_range, CategoricalRange)
    return CategoricalParameter([str(v) for v in spec_range.values])


def build(ctx: BuildContext, data: Preprocessed) -> Tuned:
    section = ctx.spec.tuning
    objective = section.objective
    tuner = HyperparameterTuner(
        build_estimator(ctx),
        objective_metric_name=objective.name,
        hyperparameter_ranges={name: sdk_range(r) for name, r in section.ranges.items()},
        metric_definitions=[{"Name": objective.name, "Regex": objective.regex}],
        objective_type=objective.type,
        strategy=section.strategy,
        max_jobs=None if section.strategy == "Grid" else section.max_jobs,
        max_parallel_jobs=section.max_parallel_jobs,
        early_stopping_type=section.early_stopping,
        base_tuning_job_name="tune",
    )
    # Data-parallel training: each instance gets its share of the train files (S3DataSource
    # S3DataDistributionType ShardedByS3Key); validation stays FullyReplicated (train.py).
    sharded = {"distribution": "ShardedByS3Key"} if ctx.spec.training.distributed else {}
    inputs = {
        "train": TrainingInput(data.train, content_type="text/csv", **sharded),
        "validation": TrainingInput(data.validation, content_type="text/csv"),
    }
    if ctx.spec.dependencies == "bundled":  # requirements.txt installs from this channel
        inputs[WHEELS_CHANNEL] = TrainingInput(wheels_uri(ctx))
    step_args = tuner.fit(
        # A fixed name keeps the SDK from stamping a timestamp into sagemaker_job_name; SageMaker
        # still names each tuning job per execution.
        job_name=f"{ctx.spec.pipeline.name[:20]}-tune",
        inputs=inputs,
    )
    step = TuningStep(STEP_NAME, step_args=step_args, **step_settings(ctx, "training"))
    bucket, _, prefix = model_output_prefix(ctx).removeprefix("s3://").partition("/")
    return Tuned(step, best_model_uri=step.get_top_model_s3_uri(top_k=0, s3_bucket=bucket, prefix=prefix))
