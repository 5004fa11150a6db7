"""`preprocessing:` — the processing job that cleans and splits the data."""

from __future__ import annotations

from pydantic import Field

from .base import Section
from .types import ProcessingInstance


class PreprocessingSection(Section):
    instance_type: ProcessingInstance = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    framework_version: str = "1.2-1"
    """Version of the SageMaker scikit-learn container."""
    script: str = "preprocessing.py"
    """A path relative to the spec file, or the name of a bundled step script."""
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
