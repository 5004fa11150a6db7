"""`registry:` — the model package group the gated model is registered in."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Section
from .types import InferenceInstance, TransformInstance

ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


class RegistrySection(Section):
    model_package_group: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    approval_status: ApprovalStatus = "PendingManualApproval"
    # InferenceSpecification (botocore): ContentType at most 256 characters; ResponseMIMEType at
    # most 1024, pattern [-\w]+\/.+
    content_types: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=lambda: ["text/csv", "application/json"], min_length=1
    )
    response_types: list[Annotated[str, Field(max_length=1024, pattern=r"^[-\w]+/.+$")]] = Field(
        default_factory=lambda: ["text/csv", "application/json"], min_length=1
    )
    inference_instances: list[InferenceInstance] = Field(
        default_factory=lambda: ["ml.m5.large"], min_length=1
    )
    transform_instances: list[TransformInstance] = Field(
        default_factory=lambda: ["ml.m5.large"], min_length=1
    )
    description: str = ""
