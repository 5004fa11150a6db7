"""`registry:` → RegisterModel with ModelMetrics (evaluation, bias, SHAP) and DriftCheckBaselines."""

from __future__ import annotations

from typing import Any

from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.workflow.step_collections import RegisterModel

from . import clarify_builtin, evaluation
from .context import BuildContext

STEP_NAME = "Register"
JSON = "application/json"


def _builtin(ctx: BuildContext) -> bool:
    return ctx.spec.clarify is not None and ctx.spec.clarify.engine == "builtin"


def _calculated(ctx: BuildContext, step: Any) -> Any:
    """Where a check's calculated constraints are (its analysis.json)."""
    if _builtin(ctx):
        return clarify_builtin.analysis_uri(step)
    return step.properties.CalculatedBaselineConstraints


def _drift(ctx: BuildContext, step: Any, check: str) -> Any:
    """The constraints later drift checks compare against."""
    if _builtin(ctx):
        return clarify_builtin.drift_baseline_uri(step)
    return step.properties.BaselineUsedForDriftCheckConstraints


def _source(uri: Any) -> MetricsSource:
    return MetricsSource(s3_uri=uri, content_type=JSON)


def _metrics(ctx: BuildContext) -> ModelMetrics:
    bias, explain = ctx.steps.get("bias"), ctx.steps.get("explain")
    return ModelMetrics(
        model_statistics=_source(evaluation.report_uri(ctx)),
        bias_post_training=_source(_calculated(ctx, bias)) if bias else None,
        explainability=_source(_calculated(ctx, explain)) if explain else None,
    )


def _drift_baselines(ctx: BuildContext) -> DriftCheckBaselines | None:
    bias, explain = ctx.steps.get("bias"), ctx.steps.get("explain")
    if not bias and not explain:
        return None
    kwargs: dict[str, Any] = {}
    if bias:
        kwargs["bias_post_training_constraints"] = _source(_drift(ctx, bias, "bias"))
    if explain:
        kwargs["explainability_constraints"] = _source(_drift(ctx, explain, "explainability"))
    if not _builtin(ctx):  # ClarifyCheckStep also uploads the monitoring configs drift checks use
        if bias:
            kwargs["bias_config_file"] = FileSource(
                s3_uri=bias.clarify_check_config.monitoring_analysis_config_uri, content_type=JSON
            )
        if explain:
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
