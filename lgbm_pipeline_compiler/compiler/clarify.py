"""`clarify:` → ClarifyCheckSteps for model bias (BiasConfig) and explainability (SHAPConfig)."""

from __future__ import annotations

from sagemaker.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.clarify_check_step import (
    ClarifyCheckStep,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)

from ..spec.clarify import ClarifySection
from . import preprocessing
from .context import BuildContext

BIAS_STEP = "ModelBiasCheck"
EXPLAIN_STEP = "ModelExplainabilityCheck"
ALL_POST_TRAINING = "all"
# inference.py answers text/csv with "probability,label": probability in column 0, label in 1.
PROBABILITY_INDEX, LABEL_INDEX = 0, 1


def predicted_label_config(probability_threshold: float | None) -> ModelPredictedLabelConfig:
    """Predictions for the bias metrics: the served label, or probability >= a given threshold."""
    if probability_threshold is None:
        return ModelPredictedLabelConfig(label=LABEL_INDEX, probability=PROBABILITY_INDEX)
    return ModelPredictedLabelConfig(
        probability=PROBABILITY_INDEX, probability_threshold=probability_threshold
    )


def headers(ctx: BuildContext) -> list[str]:
    """Columns of the Clarify dataset preprocessing writes: the target, then the features."""
    return [ctx.spec.data.target_column, *(ctx.spec.data.feature_columns or [])]


def _data_config(ctx: BuildContext, step_name: str) -> DataConfig:
    return DataConfig(
        s3_data_input_path=preprocessing.output_uri(ctx.steps["preprocess"], "clarify"),
        s3_output_path=ctx.run_uri(step_name, "analysis"),
        s3_analysis_config_output_path=f"{ctx.write}/clarify-config/{step_name}",
        label=ctx.spec.data.target_column,
        headers=headers(ctx),
        dataset_type="text/csv",
    )


def _model_config(ctx: BuildContext, section: ClarifySection) -> ModelConfig:
    return ModelConfig(
        model_name=ctx.steps["model"].properties.ModelName,
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
        sagemaker_session=ctx.session,
    )


def _baseline_kwargs(ctx: BuildContext, check: str) -> dict:
    base = f"clarify.{check}.baseline"
    return dict(
        skip_check=ctx.params(f"{base}.skip_check"),
        register_new_baseline=ctx.params(f"{base}.register_new_baseline"),
        supplied_baseline_constraints=ctx.params(f"{base}.supplied_constraints"),
        fail_on_violation=ctx.spec.value_at(f"{base}.fail_on_violation"),
        model_package_group_name=ctx.spec.registry.model_package_group if ctx.spec.registry else None,
    )


def build_bias(ctx: BuildContext) -> ClarifyCheckStep:
    section = ctx.spec.clarify
    assert section is not None and section.bias is not None
    bias = section.bias
    config = ModelBiasCheckConfig(
        data_config=_data_config(ctx, BIAS_STEP),
        data_bias_config=BiasConfig(
            label_values_or_threshold=bias.label_values,
            facet_name=bias.facet_name,
            facet_values_or_threshold=bias.facet_values,
            group_name=bias.group_name,
        ),
        model_config=_model_config(ctx, section),
        model_predicted_label_config=predicted_label_config(bias.probability_threshold),
        methods=ALL_POST_TRAINING if bias.methods == ALL_POST_TRAINING else list(bias.methods),
    )
    step = ClarifyCheckStep(
        BIAS_STEP,
        clarify_check_config=config,
        check_job_config=_check_job(ctx, section),
        **_baseline_kwargs(ctx, "bias"),
    )
    ctx.steps["bias"] = step
    return step


def build_explainability(ctx: BuildContext) -> ClarifyCheckStep:
    section = ctx.spec.clarify
    assert section is not None and section.explainability is not None
    shap = section.explainability.shap
    config = ModelExplainabilityCheckConfig(
        data_config=_data_config(ctx, EXPLAIN_STEP),
        model_config=_model_config(ctx, section),
        explainability_config=SHAPConfig(
            seed=shap.seed,
            num_samples=shap.num_samples,
            agg_method=shap.agg_method,
            save_local_shap_values=shap.save_local_shap_values,
            num_clusters=shap.num_clusters,
        ),
        model_scores=PROBABILITY_INDEX,
    )
    step = ClarifyCheckStep(
        EXPLAIN_STEP,
        clarify_check_config=config,
        check_job_config=_check_job(ctx, section),
        **_baseline_kwargs(ctx, "explainability"),
    )
    ctx.steps["explain"] = step
    return step


def build(ctx: BuildContext) -> list:
    """The configured checks (none when `clarify:` is absent), by the configured engine."""
    section = ctx.spec.clarify
    if section is None:
        return []
    if section.engine == "builtin":
        from . import clarify_builtin

        return clarify_builtin.build(ctx)
    steps = []
    if section.bias is not None:
        steps.append(build_bias(ctx))
    if section.explainability is not None:
        steps.append(build_explainability(ctx))
    return steps
