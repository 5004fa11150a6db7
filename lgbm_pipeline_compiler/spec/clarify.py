"""`clarify:` — the model bias check and the SHAP explainability check, with baseline handling."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .types import INT32_MAX, ProcessingInstance, S3Uri

PostTrainingMethod = Literal["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT"]
LabelValue = str | int | float | bool


def _label_that_occurs(value: LabelValue) -> LabelValue:
    # preprocessing.py writes the target as 1 (data.positive_class) or 0, so only 0 and 1 occur.
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
        raise PydanticCustomError(
            "label_value",
            "label value {value} never occurs: preprocessing writes the target as 1 "
            "(data.positive_class) or 0; use [1]",
            {"value": str(value).lower() if isinstance(value, bool) else repr(value)},
        )
    return value


Label = Annotated[LabelValue, AfterValidator(_label_that_occurs)]


class Baseline(Section):
    """How a check's result relates to the registered baseline (ClarifyCheckStep semantics)."""

    skip_check: bool = False
    register_new_baseline: bool = False
    supplied_constraints: S3Uri | None = None
    """S3 URI of a constraints JSON to check against instead of the latest approved model's."""
    fail_on_violation: bool = True


class BiasCheck(Section):
    label_values: list[Label] = Field(default_factory=lambda: [1], min_length=1)
    """Label values that count as the favourable outcome (after preprocessing, the positive class is 1)."""
    facet_name: str = Field(min_length=1)
    facet_values: list[LabelValue] | None = None
    """Values of the facet that form the sensitive group; all values when omitted."""
    group_name: str | None = None
    """Column that forms subgroups for the conditional metrics (CDDPL)."""
    methods: list[PostTrainingMethod] | Literal["all"] = Field(default_factory=lambda: ["DPPL"])
    probability_threshold: float | None = Field(default=None, gt=0, lt=1)
    """Probability at which Clarify calls a prediction positive; default: the model's own label
    (train.py's F1-optimal threshold, what the endpoint serves)."""
    baseline: Baseline = Field(default_factory=Baseline)

    @field_validator("label_values")
    @classmethod
    def _one_outcome(cls, values: list[int]) -> list[int]:
        if len(set(values)) == 2:
            raise PydanticCustomError(
                "label_value",
                "label_values [0, 1] call every outcome favourable, so every bias metric is 0; use [1]",
            )
        if len(values) > 1:
            raise PydanticCustomError(
                "label_value", "label value {value} is listed twice", {"value": values[0]}
            )
        return values

    @field_validator("facet_values")
    @classmethod
    def _some_facet_values(cls, values: list[LabelValue] | None) -> list[LabelValue] | None:
        if values is not None and not values:
            raise PydanticCustomError(
                "facet_values",
                "an empty facet_values selects no rows, so there is no sensitive group to measure; "
                "list the group's values (e.g. [Female]) or remove facet_values to check every value",
            )
        return values


class ShapSettings(Section):
    seed: int = Field(default=123, ge=-INT32_MAX - 1, le=INT32_MAX)  # ClarifyShapSeed: a 32-bit Integer
    num_samples: int = Field(default=100, ge=1, le=INT32_MAX)  # ClarifyShapNumberOfSamples: 32-bit
    """Kernel SHAP samples per row (Clarify uses at most 2^features - 2 of them)."""
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"
    save_local_shap_values: bool = False
    num_clusters: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """K-means clusters for the SHAP baseline Clarify builds when none is given."""


class ExplainabilityCheck(Section):
    shap: ShapSettings = Field(default_factory=ShapSettings)
    max_rows: int = Field(default=2000, ge=10, le=1_000_000)
    """Rows explained: a sample of the test split, stratified by the target and seeded by
    data.seed (both engines read the same sample). SHAP's cost grows with rows × trees."""
    baseline: Baseline = Field(default_factory=Baseline)


class ClarifySection(Section):
    engine: Literal["sagemaker-clarify", "builtin"] = "sagemaker-clarify"
    """`sagemaker-clarify`: ClarifyCheckSteps run by SageMaker Clarify. `builtin`: processing steps
    running step_scripts/clarify_check.py (exact TreeSHAP, no shadow endpoint) for accounts
    without Clarify; the same baseline rule (supplied constraints, else the latest Approved
    package's, looked up by the job: its role needs sagemaker:ListModelPackages,
    sagemaker:DescribeModelPackage and s3:GetObject on the baseline)."""
    instance_type: ProcessingInstance = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    bias: BiasCheck | None = None
    explainability: ExplainabilityCheck | None = None
