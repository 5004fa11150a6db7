"""`training:` — the estimator every tuning trial runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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


class DistributedTraining(Section):
    """LightGBM's data-parallel training across the job's instances (training.instance_count >= 2):
    the train split is written as `shards` files, the train channel is ShardedByS3Key, and train.py
    forms LightGBM's network (tree_learner=data) from SM_HOSTS. Tuning trials are such jobs too."""

    strategy: Literal["data_parallel"]
    """`data_parallel`: each instance holds its share of the rows; LightGBM sums the histograms."""
    shards: int | None = Field(default=None, ge=2, le=10_000)
    """How many files the train split is written as (default: instance_count). ShardedByS3Key gives
    each instance whole files, about 1/n of them: a multiple of instance_count splits rows evenly."""


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
    """1, or with `distributed` at least 2 (without it, train.py would train the same whole model on
    every instance)."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=1, le=28 * 24 * 3600)
    spot: SpotTraining | None = None
    """Run the tuning trials on managed spot instances."""
    distributed: DistributedTraining | None = None
    """Data-parallel training across instance_count instances (LightGBM's distributed mode)."""
    hyperparameters: dict[HyperparameterName, Scalar] = Field(default_factory=dict)
    """Static hyperparameters passed to every trial as --name value (not sagemaker_*, model-dir,
    train, validation, output-data-dir: SageMaker and train.py own those)."""

    @property
    def train_shards(self) -> int:
        """How many files preprocessing writes the train split as (1: one train.csv)."""
        if self.distributed is None:
            return 1
        return self.distributed.shards or self.instance_count
