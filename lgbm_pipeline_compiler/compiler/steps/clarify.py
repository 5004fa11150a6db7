"""`clarify:` (engine sagemaker-clarify) → ClarifyCheckSteps for model bias and explainability."""

from __future__ import annotations

from typing import Any

from sagemaker.clarify import DataConfig, ModelConfig
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.clarify_check_step import (
    ClarifyCheckStep,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)

from ...spec.clarify import ClarifySection
from ..context import BuildContext
from ..handles import Checked, Checks, Modeled, Preprocessed, Tuned
from ..production import cache_config, kms_keys, network_config
from .clarify_config import (
    BIAS_STEP,
    EXPLAIN_STEP,
    PROBABILITY_INDEX,
    bias_config,
    bias_methods,
    headers,
    predicted_label_config,
    shap_config,
)


def _data_config(ctx: BuildContext, dataset: Any, step_name: str) -> DataConfig:
    return DataConfig(
        s3_data_input_path=dataset,
        s3_output_path=ctx.run_uri(step_name, "analysis"),
        s3_analysis_config_output_path=f"{ctx.write}/clarify-config/{step_name}",
        label=ctx.spec.data.target_column,
        headers=headers(ctx),
        dataset_type="text/csv",
    )


def _model_config(section: ClarifySection, modeled: Modeled) -> ModelConfig:
    return ModelConfig(
        model_name=modeled.model_name,
        instance_type=section.instance_type,
        instance_count=section.instance_count,
        content_type="text/csv",
        accept_type="text/csv",
    )


def _check_job(ctx: BuildContext, section: ClarifySection) -> CheckJobConfig:
    return CheckJobConfig(
        role=ctx.role,
        instance_type=ctx.params("clarify.instance_type"),
        instance_count=ctx.params("clarify.instance_count"),
        volume_size_in_gb=section.volume_size_gb,
        network_config=network_config(ctx, "clarify"),
        **kms_keys(ctx, "clarify"),
        sagemaker_session=ctx.session,
    )


def _step(ctx: BuildContext, name: str, kind: str, config) -> Checked:  # noqa: ANN001 - a *CheckConfig
    section = ctx.spec.clarify
    assert section is not None
    base = f"clarify.{kind}.baseline"
    step = ClarifyCheckStep(
        name,
        clarify_check_config=config,
        check_job_config=_check_job(ctx, section),
        skip_check=ctx.params(f"{base}.skip_check"),
        register_new_baseline=ctx.params(f"{base}.register_new_baseline"),
        supplied_baseline_constraints=ctx.params(f"{base}.supplied_constraints"),
        fail_on_violation=ctx.spec.value_at(f"{base}.fail_on_violation"),
        model_package_group_name=ctx.spec.registry.model_package_group if ctx.spec.registry else None,
        cache_config=cache_config(ctx, "clarify"),
    )
    return Checked(
        step,
        kind=kind,
        calculated_constraints_uri=step.properties.CalculatedBaselineConstraints,
        drift_baseline_uri=step.properties.BaselineUsedForDriftCheckConstraints,
        config_file_uri=config.monitoring_analysis_config_uri,
    )


def build(ctx: BuildContext, data: Preprocessed, tuned: Tuned, modeled: Modeled) -> Checks:
    """The configured checks; the model is served by a shadow endpoint of ``modeled``."""
    del tuned  # Clarify reads predictions from the model, not its artifact
    section = ctx.spec.clarify
    assert section is not None
    bias = explain = None
    if section.bias is not None:
        config = ModelBiasCheckConfig(
            data_config=_data_config(ctx, data.clarify, BIAS_STEP),
            data_bias_config=bias_config(section.bias),
            model_config=_model_config(section, modeled),
            model_predicted_label_config=predicted_label_config(section.bias.probability_threshold),
            methods=bias_methods(section.bias),
        )
        bias = _step(ctx, BIAS_STEP, "bias", config)
    if section.explainability is not None:
        config = ModelExplainabilityCheckConfig(
            data_config=_data_config(ctx, data.explain, EXPLAIN_STEP),
            model_config=_model_config(section, modeled),
            explainability_config=shap_config(section.explainability),
            model_scores=PROBABILITY_INDEX,
        )
        explain = _step(ctx, EXPLAIN_STEP, "explainability", config)
    return Checks(bias=bias, explainability=explain)
