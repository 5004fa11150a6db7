"""`registry:` — the model package group the gated model is registered in."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .base import Section
from .types import InferenceInstance, TransformInstance


def _entity_description(value: str) -> str:
    # EntityDescription (botocore): at most 1024 of [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}] (no C*: controls)
    bad = next((c for c in value if unicodedata.category(c)[0] == "C"), None)
    if len(value) > 1024 or bad is not None:
        raise PydanticCustomError(
            "entity_description",
            "the description must be at most 1024 characters without control characters "
            "(got {length} characters{bad}); shorten it or remove the control character",
            {"length": len(value), "bad": "" if bad is None else f", U+{ord(bad):04X}"},
        )
    return value


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
    description: Annotated[str, AfterValidator(_entity_description)] = ""
    """ModelPackageDescription: at most 1024 characters, no control characters."""
