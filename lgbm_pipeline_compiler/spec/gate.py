"""`quality_gate:` — the condition on the evaluation report that guards registration and deploy."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator
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
    comparison: Literal["GreaterThanOrEqualTo", "GreaterThan", "LessThan", "LessThanOrEqualTo", "Equals"] = (
        "GreaterThanOrEqualTo"
    )
    threshold: float

    @field_validator("threshold")
    @classmethod
    def _in_range(cls, threshold: float, info: ValidationInfo) -> float:
        metric = info.data.get("metric")
        if metric is None:
            return threshold
        lo, hi = METRIC_RANGES[metric]
        if not lo <= threshold <= hi:
            raise PydanticCustomError(
                "threshold_range",
                "threshold {t} is outside the range of {metric} [{lo}, {hi}]",
                {"t": threshold, "metric": metric, "lo": lo, "hi": hi},
            )
        return threshold

    @property
    def json_path(self) -> str:
        """Path of the metric in evaluation.json."""
        return f"classification_metrics.{self.metric}.value"
