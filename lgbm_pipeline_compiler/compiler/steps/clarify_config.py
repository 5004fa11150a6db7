"""What both Clarify engines configure alike: the dataset's columns, BiasConfig, SHAPConfig, predictions."""

from __future__ import annotations

from sagemaker.clarify import BiasConfig, ModelPredictedLabelConfig, SHAPConfig

from ...spec.clarify import BiasCheck, ExplainabilityCheck
from ..context import BuildContext

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


def bias_config(bias: BiasCheck) -> BiasConfig:
    return BiasConfig(
        label_values_or_threshold=bias.label_values,
        facet_name=bias.facet_name,
        facet_values_or_threshold=bias.facet_values,
        group_name=bias.group_name,
    )


def bias_methods(bias: BiasCheck) -> str | list[str]:
    return ALL_POST_TRAINING if bias.methods == ALL_POST_TRAINING else list(bias.methods)


def shap_config(explain: ExplainabilityCheck) -> SHAPConfig:
    shap = explain.shap
    return SHAPConfig(
        seed=shap.seed,
        num_samples=shap.num_samples,
        agg_method=shap.agg_method,
        save_local_shap_values=shap.save_local_shap_values,
        num_clusters=shap.num_clusters,
    )
