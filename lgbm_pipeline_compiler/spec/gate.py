"""`quality_gate:` — the condition on the evaluation report that guards registration and deploy."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .evaluation import Metric

# every metric the evaluation report can carry, with its range
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "f1": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "roc_auc": (0.0, 1.0),
}


class QualityGateSection(Section):
    metric: Metric = "f1"
    comparison: Literal[
        "GreaterThanOrEqualTo", "GreaterThan", "LessThan", "LessThanOrEqualTo", "Equals"
    ] = "GreaterThanOrEqualTo"
    threshold: float

    @model_validator(mode="after")
    def _in_range(self) -> "QualityGateSection":
        lo, hi = METRIC_RANGES[self.metric]
        if not lo <= self.threshold <= hi:
            raise PydanticCustomError(
                "threshold_range",
                "threshold {t} is outside the range of {metric} [{lo}, {hi}]",
                {"t": self.threshold, "metric": self.metric, "lo": lo, "hi": hi},
            )
        return self

    @property
    def json_path(self) -> str:
        """Path of the metric in evaluation.json."""
        return f"classification_metrics.{self.metric}.value"
