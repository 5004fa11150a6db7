"""`tuning:` — the hyperparameter tuning job: strategy, budget, objective and ranges."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .hyperparameters import MAX_RANGES, HyperparameterName
from .objective import check_regex

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


def _parameter_value(value: object) -> object:
    """Range values travel as ParameterValue strings of at most 256 characters (botocore)."""
    if len(str(value)) > 256:
        raise PydanticCustomError(
            "parameter_value",
            "{value} is {length} characters written out; SageMaker range values are at most 256",
            {"value": f"{str(value)[:20]}...", "length": len(str(value))},
        )
    return value


RangeInt = Annotated[int, AfterValidator(_parameter_value)]


class IntegerRange(_NumericRange):
    type: Literal["integer"]
    min: RangeInt
    max: RangeInt

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
    values: list[Annotated[str | int | float | bool, AfterValidator(_parameter_value)]] = Field(
        min_length=1, max_length=30
    )  # ParameterValues: 1 to 30 values


Range = Annotated[Union[IntegerRange, ContinuousRange, CategoricalRange], Field(discriminator="type")]


class Objective(Section):
    name: str = Field(min_length=1, max_length=255)
    """Metric name, e.g. validation:f1."""
    regex: str = Field(min_length=1, max_length=500)
    """Regex with one capture group around the number the training log prints, e.g.
    'validation-f1: ([0-9.]+)' (no nested quantifiers such as (a+)+)."""
    type: Literal["Maximize", "Minimize"] = "Maximize"

    @field_validator("regex")
    @classmethod
    def _safe_regex(cls, value: str) -> str:
        return check_regex(value)


class TuningSection(Section):
    strategy: Literal["Random", "Bayesian", "Hyperband", "Grid"] = "Bayesian"
    max_jobs: int = Field(default=20, ge=1, le=750)
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    objective: Objective
    ranges: dict[HyperparameterName, Range] = Field(min_length=1, max_length=MAX_RANGES)
    """Hyperparameter name → range; at most 30 (SageMaker's ParameterRanges limit, all types together)."""
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
