"""`registry:` → RegisterModel with ModelMetrics (evaluation, bias, SHAP) and DriftCheckBaselines."""

from __future__ import annotations

from typing import Any

from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.workflow.step_collections import RegisterModel

from . import evaluation
from .context import BuildContext

STEP_NAME = "Register"
JSON = "application/json"


def _metrics(ctx: BuildContext) -> ModelMetrics:
    bias, explain = ctx.steps.get("bias"), ctx.steps.get("explain")
    return ModelMetrics(
        model_statistics=MetricsSource(s3_uri=evaluation.report_uri(ctx), content_type=JSON),
        bias_post_training=MetricsSource(
            s3_uri=bias.properties.CalculatedBaselineConstraints, content_type=JSON
        )
        if bias
        else None,
        explainability=MetricsSource(
            s3_uri=explain.properties.CalculatedBaselineConstraints, content_type=JSON
        )
        if explain
        else None,
    )


def _drift_baselines(ctx: BuildContext) -> DriftCheckBaselines | None:
    bias, explain = ctx.steps.get("bias"), ctx.steps.get("explain")
    if not bias and not explain:
        return None
    kwargs: dict[str, Any] = {}
    if bias:
        kwargs["bias_post_training_constraints"] = MetricsSource(
            s3_uri=bias.properties.BaselineUsedForDriftCheckConstraints, content_type=JSON
        )
        kwargs["bias_config_file"] = FileSource(
            s3_uri=bias.clarify_check_config.monitoring_analysis_config_uri, content_type=JSON
        )
    if explain:
        kwargs["explainability_constraints"] = MetricsSource(
            s3_uri=explain.properties.BaselineUsedForDriftCheckConstraints, content_type=JSON
        )
        kwargs["explainability_config_file"] = FileSource(
            s3_uri=explain.clarify_check_config.monitoring_analysis_config_uri, content_type=JSON
        )
    return DriftCheckBaselines(**kwargs)


def build(ctx: BuildContext) -> RegisterModel | None:
    section = ctx.spec.registry
    if section is None:
        return None
    step = RegisterModel(
        STEP_NAME,
        model=ctx.steps["model_object"],
        content_types=section.content_types,
        response_types=section.response_types,
        inference_instances=section.inference_instances,
        transform_instances=section.transform_instances,
        model_package_group_name=section.model_package_group,
        approval_status=ctx.params("registry.approval_status"),
        description=section.description or None,
        model_metrics=_metrics(ctx),
        drift_check_baselines=_drift_baselines(ctx),
    )
    ctx.steps["register"] = step
    return step
