"""`tuning:` — the hyperparameter tuning job: strategy, budget, objective and ranges."""

from __future__ import annotations

import re
import warnings
from typing import Annotated, Literal, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import Section

Scaling = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


class _NumericRange(Section):
    scaling: Scaling = "Auto"

    @field_validator("min", check_fields=False)
    @classmethod
    def _min_fits_scaling(cls, lo: float, info: ValidationInfo) -> float:
        scaling = info.data.get("scaling")
        if scaling == "Logarithmic" and lo <= 0:
            raise PydanticCustomError(
                "log_scale",
                "Logarithmic scaling needs min > 0 (got {lo}); raise min or use Linear",
                {"lo": lo},
            )
        if scaling == "ReverseLogarithmic" and lo < 0:
            raise PydanticCustomError(
                "reverse_log_scale", "ReverseLogarithmic scaling needs min >= 0 (got {lo})", {"lo": lo}
            )
        return lo

    @field_validator("max", check_fields=False)
    @classmethod
    def _max_fits(cls, hi: float, info: ValidationInfo) -> float:
        lo = info.data.get("min")
        if lo is not None and lo > hi:
            raise PydanticCustomError(
                "range_order", "max ({hi}) is less than min ({lo}); swap them", {"lo": lo, "hi": hi}
            )
        if info.data.get("scaling") == "ReverseLogarithmic" and hi >= 1:
            raise PydanticCustomError(
                "reverse_log_scale",
                "ReverseLogarithmic scaling needs max < 1 (got {hi}); use Linear",
                {"hi": hi},
            )
        return hi


class IntegerRange(_NumericRange):
    type: Literal["integer"]
    min: int
    max: int

    @field_validator("scaling")
    @classmethod
    def _no_reverse_log(cls, value: str) -> str:
        if value == "ReverseLogarithmic":
            raise PydanticCustomError(
                "integer_scaling", "ReverseLogarithmic scaling is only for continuous ranges"
            )
        return value


class ContinuousRange(_NumericRange):
    type: Literal["continuous"]
    min: float
    max: float


class CategoricalRange(Section):
    type: Literal["categorical"]
    values: list[str | int | float | bool] = Field(min_length=1, max_length=30)


Range = Annotated[Union[IntegerRange, ContinuousRange, CategoricalRange], Field(discriminator="type")]


class Objective(Section):
    name: str = Field(min_length=1, max_length=255)
    """Metric name, e.g. validation:f1."""
    regex: str = Field(min_length=1, max_length=500)
    """Regex whose first group reads the metric from the training log."""
    type: Literal["Maximize", "Minimize"] = "Maximize"

    @field_validator("regex")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            with warnings.catch_warnings():  # e.g. FutureWarning "Possible nested set"
                warnings.simplefilter("ignore")
                groups = re.compile(value).groups
        except re.error as err:
            raise PydanticCustomError(
                "regex", "invalid regular expression: {err}", {"err": str(err)}
            ) from None
        if groups < 1:
            raise PydanticCustomError(
                "regex_group",
                "the regex needs a capture group around the number, e.g. 'validation-f1: ([0-9.]+)'",
            )
        return value


class TuningSection(Section):
    strategy: Literal["Random", "Bayesian", "Hyperband", "Grid"] = "Bayesian"
    max_jobs: int = Field(default=20, ge=1, le=750)
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    objective: Objective
    ranges: dict[str, Range] = Field(min_length=1)
    early_stopping: Literal["Off", "Auto"] = "Off"

    @field_validator("max_parallel_jobs")
    @classmethod
    def _within_budget(cls, parallel: int, info: ValidationInfo) -> int:
        total = info.data.get("max_jobs")
        if total is not None and parallel > total:
            raise PydanticCustomError(
                "parallel_jobs",
                "max_parallel_jobs ({p}) is greater than max_jobs ({m}); lower it to at most {m}",
                {"p": parallel, "m": total},
            )
        return parallel

    @model_validator(mode="after")
    def _grid(self) -> TuningSection:
        if self.strategy == "Grid":
            numeric = [n for n, r in self.ranges.items() if not isinstance(r, CategoricalRange)]
            if numeric:
                raise PydanticCustomError(
                    "grid_ranges",
                    "Grid search takes only categorical ranges; {names} are numeric",
                    {"names": ", ".join(numeric)},
                )
        return self
