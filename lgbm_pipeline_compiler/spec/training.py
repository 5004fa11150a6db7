"""`training:` — the estimator every tuning trial runs."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .hyperparameters import HyperparameterName
from .types import S3Uri, TrainingInstance

Scalar = str | int | float | bool


class SpotTraining(Section):
    """Managed spot training: up to 90% cheaper (AWS's figure), but an instance may be reclaimed; train.py then
    resumes from its last checkpoint (train.py writes one every 25 boosting rounds)."""

    max_wait_seconds: int = Field(ge=1, le=28 * 24 * 3600)
    """How long a trial may take in all, waiting for spot capacity included (StoppingCondition
    MaxWaitTimeInSeconds): at least training.max_runtime_seconds."""
    checkpoint_s3_uri: S3Uri | None = None
    """Where checkpoints are kept (CheckpointConfig); default {storage.write}/checkpoints."""


class TrainingSection(Section):
    image_uri: str | None = Field(
        default=None, max_length=255, pattern=r"^\S+/\S+(:\S+|@sha256:[0-9a-f]{64})$"
    )  # AlgorithmSpecification TrainingImage, ContainerDefinition Image: at most 255 characters
    """Explicit training/serving image; default: the SageMaker scikit-learn container."""
    framework_version: str = "1.2-1"
    entry_point: str = "train.py"
    """A path relative to the spec file, or the name of a bundled step script."""
    instance_type: TrainingInstance = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    """1: train.py trains one whole model per instance, so more instances would only repeat it."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=28 * 24 * 3600)
    spot: SpotTraining | None = None
    """Run the tuning trials on managed spot instances."""
    hyperparameters: dict[HyperparameterName, Scalar] = Field(default_factory=dict)
    """Static hyperparameters passed to every trial as --name value (not sagemaker_*, model-dir,
    train, validation, output-data-dir: SageMaker and train.py own those)."""

    @field_validator("instance_count")
    @classmethod
    def _one_instance(cls, count: int) -> int:
        if count > 1:
            raise PydanticCustomError(
                "single_instance_training",
                "instance_count {count}: train.py trains the same full model on every instance, so "
                "{count} instances would pay for {count} identical trainings; use 1 (distributed "
                "LightGBM training is not supported yet)",
                {"count": count},
            )
        return count
