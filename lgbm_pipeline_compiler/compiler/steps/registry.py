"""`registry:` → RegisterModel with ModelMetrics (evaluation, bias, SHAP, data quality) and
DriftCheckBaselines.

The data-quality baseline is registered as SageMaker's example pipelines register a
QualityCheckStep's: ModelMetrics.ModelDataQuality from the calculated baseline
(CalculatedBaselineStatistics / CalculatedBaselineConstraints) and
DriftCheckBaselines.ModelDataQuality from the baseline used for drift checks
(BaselineUsedForDriftCheckStatistics / BaselineUsedForDriftCheckConstraints), application/json.
"""

from __future__ import annotations

from typing import Any

from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.workflow.step_collections import RegisterModel

from ..context import BuildContext
from ..handles import Checks, Evaluated, Modeled, Registered
from ..production import retry_policies
from .data_quality import DataQualityChecked

STEP_NAME = "Register"
JSON = "application/json"


def _source(uri: Any) -> MetricsSource:
    return MetricsSource(s3_uri=uri, content_type=JSON)


def _metrics(evaluated: Evaluated, checks: Checks, quality: DataQualityChecked | None) -> ModelMetrics:
    bias, explain = checks.bias, checks.explainability
    return ModelMetrics(
        model_statistics=_source(evaluated.report_uri),
        model_data_statistics=_source(quality.statistics_uri) if quality else None,
        model_data_constraints=_source(quality.constraints_uri) if quality else None,
        bias_post_training=_source(bias.calculated_constraints_uri) if bias else None,
        explainability=_source(explain.calculated_constraints_uri) if explain else None,
    )


def _drift_baselines(checks: Checks, quality: DataQualityChecked | None) -> DriftCheckBaselines | None:
    bias, explain = checks.bias, checks.explainability
    if not bias and not explain and not quality:
        return None
    kwargs: dict[str, Any] = {}
    if quality:
        kwargs["model_data_statistics"] = _source(quality.drift_statistics_uri)
        kwargs["model_data_constraints"] = _source(quality.drift_constraints_uri)
    if bias:
        kwargs["bias_post_training_constraints"] = _source(bias.drift_baseline_uri)
        if bias.config_file_uri is not None:
            kwargs["bias_config_file"] = FileSource(s3_uri=bias.config_file_uri, content_type=JSON)
    if explain:
        kwargs["explainability_constraints"] = _source(explain.drift_baseline_uri)
        if explain.config_file_uri is not None:
            kwargs["explainability_config_file"] = FileSource(
                s3_uri=explain.config_file_uri, content_type=JSON
            )
    return DriftCheckBaselines(**kwargs)


def build(
    ctx: BuildContext,
    modeled: Modeled,
    evaluated: Evaluated,
    checks: Checks,
    quality: DataQualityChecked | None = None,
) -> Registered:
    section = ctx.spec.registry
    assert section is not None
    step = RegisterModel(
        STEP_NAME,
        model=modeled.model,
        content_types=section.content_types,
        response_types=section.response_types,
        inference_instances=section.inference_instances,
        transform_instances=section.transform_instances,
        model_package_group_name=section.model_package_group,
        approval_status=ctx.params("registry.approval_status"),
        description=section.description or None,
        model_metrics=_metrics(evaluated, checks, quality),
        drift_check_baselines=_drift_baselines(checks, quality),
        register_model_step_retry_policies=retry_policies(ctx, "registry"),
    )
    return Registered(step, model_package_arn=step.properties.ModelPackageArn)
