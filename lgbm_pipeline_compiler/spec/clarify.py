"""`clarify:` — the model bias check and the SHAP explainability check, with baseline handling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section
from .types import ProcessingInstance, S3Uri

PostTrainingMethod = Literal["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT"]
LabelValue = str | int | float | bool


class Baseline(Section):
    """How a check's result relates to the registered baseline (ClarifyCheckStep semantics)."""

    skip_check: bool = False
    register_new_baseline: bool = False
    supplied_constraints: S3Uri | None = None
    """S3 URI of a constraints JSON to check against instead of the latest approved model's."""
    fail_on_violation: bool = True


class BiasCheck(Section):
    label_values: list[LabelValue] = Field(default_factory=lambda: [1], min_length=1)
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


class ShapSettings(Section):
    seed: int = 123
    num_samples: int = Field(default=100, ge=1)
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"
    save_local_shap_values: bool = False
    num_clusters: int | None = Field(default=None, ge=1)
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
