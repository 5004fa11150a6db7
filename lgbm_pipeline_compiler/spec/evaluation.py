"""`evaluation:` — the processing job that scores the best model on the test split."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section
from .types import ProcessingInstance

Metric = Literal["f1", "precision", "recall", "accuracy", "roc_auc"]


class EvaluationSection(Section):
    instance_type: ProcessingInstance = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=1)
    script: str = "evaluate.py"
    """A path relative to the spec file, or the name of a bundled step script."""
    image_uri: str | None = Field(
        default=None, max_length=255, pattern=r"^\S+/\S+(:\S+|@sha256:[0-9a-f]{64})$"
    )  # AppSpecification ImageUri: at most 255 characters
    """Image with LightGBM preinstalled; default: the training image, installing step_scripts/requirements.txt."""
    metrics: list[Metric] = Field(
        default_factory=lambda: ["f1", "precision", "recall", "accuracy", "roc_auc"]
    )
    """Metrics written to the evaluation report (and registered as model quality)."""
