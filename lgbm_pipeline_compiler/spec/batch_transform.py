"""`batch_transform:` — score the test split with the registered model after the gate passes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .types import TransformInstance


class BatchTransformSection(Section):
    """A transform job over the test split, joined with its input and written next to the
    evaluation report: one line per test row, ``target,probability,label``."""

    instance_type: TransformInstance = "ml.m5.large"
    """An instance type CreateTransformJob accepts (no ml.t*, no ml.c5.large)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    max_payload_mb: int = Field(default=6, ge=1, le=100)
    """Largest mini-batch sent to the model, in MB (CreateTransformJob MaxPayloadInMB)."""
    max_concurrent_transforms: int = Field(default=1, ge=1, le=100)
    """Requests in flight per instance (the serving container runs one worker per vCPU)."""
    strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    """MultiRecord sends as many test rows per request as fit in max_payload_mb."""
    output: Literal["predictions", "joined"] = "predictions"
    """predictions: the target and the model's probability and label per row; joined: every
    input column, then probability and label."""

    @model_validator(mode="after")
    def _payload_budget(self) -> BatchTransformSection:
        # CreateTransformJob: "(MaxConcurrentTransforms * MaxPayloadInMB) must also not exceed 100 MB"
        if self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise PydanticCustomError(
                "transform_payload_budget",
                "max_concurrent_transforms × max_payload_mb is {product} MB; SageMaker allows at most "
                "100 MB in flight per instance: lower one of them",
                {"product": self.max_concurrent_transforms * self.max_payload_mb},
            )
        return self
