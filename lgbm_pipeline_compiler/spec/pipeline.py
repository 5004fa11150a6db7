"""`pipeline:` — identity of the SageMaker pipeline."""

from __future__ import annotations

from pydantic import Field

from .base import Section
from .types import Region, RoleArn


class PipelineSection(Section):
    name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    """Pipeline name (letters, digits and hyphens)."""
    description: str = ""
    """Shown in SageMaker Studio; not part of the definition JSON."""
    role_arn: RoleArn
    """IAM role that every job and the pipeline itself run as."""
    region: Region = "us-east-1"
    """AWS region whose container images the pipeline uses."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags applied when the pipeline is upserted."""
