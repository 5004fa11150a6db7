"""`data_quality:` — the training data's data-quality baseline (Model Monitor's statistics and
constraints), checked against the previous baseline like the Clarify checks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .types import ProcessingInstance, S3Uri

Engine = Literal["sagemaker-model-monitor", "builtin"]


class DataQualityBaseline(Section):
    """How the new baseline relates to the registered one (QualityCheckStep semantics)."""

    skip_check: bool = False
    """Compute the baseline without checking it against the previous one."""
    register_new_baseline: bool = False
    """Make this run's statistics and constraints the baseline later drift checks use."""
    supplied_statistics: S3Uri | None = None
    """S3 URI of a statistics.json to check drift against instead of the latest approved model's."""
    supplied_constraints: S3Uri | None = None
    """S3 URI of a constraints.json to check against instead of the latest approved model's."""
    fail_on_violation: bool = True


class DataQualitySection(Section):
    """Per-feature statistics and suggested constraints of the training split's features, in Model
    Monitor's statistics.json / constraints.json formats, registered as the model package's
    DriftCheckBaselines.ModelDataQuality: what monitoring compares endpoint traffic with."""

    engine: Engine = "sagemaker-model-monitor"
    """`sagemaker-model-monitor`: a QualityCheckStep (DataQualityCheckConfig) run by SageMaker's
    Model Monitor analyzer. `builtin`: a processing step running step_scripts/data_quality_check.py
    (the same formats, computed as the analyzer does) for accounts without Model Monitor; it looks
    the latest Approved package's baseline up itself (its role needs sagemaker:ListModelPackages,
    sagemaker:DescribeModelPackage and s3:GetObject on the baseline)."""
    instance_type: ProcessingInstance = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=777600)
    """The baselining job's MaxRuntimeInSeconds (SageMaker allows at most 777,600: 9 days)."""
    baseline: DataQualityBaseline = Field(default_factory=DataQualityBaseline)

    @model_validator(mode="after")
    def _one_builtin_instance(self) -> DataQualitySection:
        if self.engine == "builtin" and self.instance_count != 1:
            raise PydanticCustomError(
                "data_quality_instances",
                "the builtin engine profiles the data on one instance, so instance_count {count} would "
                "leave all but one idle: set instance_count: 1 (or use engine: sagemaker-model-monitor)",
                {"count": self.instance_count},
            )
        return self
