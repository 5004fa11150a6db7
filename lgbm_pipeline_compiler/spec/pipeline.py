"""`pipeline:` — identity of the SageMaker pipeline."""

from __future__ import annotations

from pydantic import Field

from .aws import MAX_TAGS
from .base import Section
from .types import Region, RoleArn, TagKey, TagValue


class PipelineSection(Section):
    name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    """Pipeline name (letters, digits and hyphens)."""
    description: str = Field(default="", max_length=3072)  # CreatePipeline PipelineDescription
    """Shown in SageMaker Studio; not part of the definition JSON."""
    role_arn: RoleArn
    """IAM role that every job and the pipeline itself run as."""
    region: Region = "us-east-1"
    """AWS region whose container images the pipeline uses."""
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)
    """Tags applied when the pipeline is upserted (at most 50; keys ≤ 128, values ≤ 256 characters)."""
