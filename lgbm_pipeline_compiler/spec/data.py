"""`data:` — the input table, its target and how it is split."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import Section
from .types import UINT32_MAX


class SplitRatios(Section):
    train: float = Field(gt=0, lt=1)
    validation: float = Field(gt=0, lt=1)
    test: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitRatios:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise PydanticCustomError(
                "ratio_sum",
                "train + validation + test must sum to 1 (got {total}); adjust one of the ratios",
                {"total": round(total, 10)},
            )
        return self


Label = str | int | bool


class DataSection(Section):
    input: str | list[str]
    """Input CSV file(s): s3:// URIs or keys relative to `storage.read`; one ending in `/` is a
    prefix (every object under it). Several files are read in order and concatenated."""
    target_column: str = Field(min_length=1)
    positive_class: Label | list[Label]
    """Value(s) of the target column that are the positive (1) class, e.g. '>50K'; list several
    spellings when files differ (adult.test writes '>50K.')."""
    header: bool = True
    """Whether each file starts with a header row."""
    comment: str | None = Field(default=None, min_length=1)
    """Lines starting with this text are skipped (adult.test begins with '|1x3 Cross validator')."""
    columns: list[str] | None = Field(default=None, min_length=1)
    """Column names in file order: required when `header` is false and when `clarify` is used."""
    categorical_columns: Literal["auto"] | list[str] = "auto"
    drop_columns: list[str] = Field(default_factory=list)
    split: SplitRatios = Field(default_factory=lambda: SplitRatios(train=0.8, validation=0.1, test=0.1))
    stratify: bool = True
    seed: int = Field(default=42, ge=0, le=UINT32_MAX)
    """Split seed (scikit-learn's random_state: 0 to 2**32 - 1)."""

    @field_validator("input")
    @classmethod
    def _inputs(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise PydanticCustomError("no_input", "list at least one input file", {})
            seen = [v for i, v in enumerate(value) if v in value[:i]]
            if seen:
                raise PydanticCustomError(
                    "duplicate_input", "input '{name}' is listed twice", {"name": seen[0]}
                )
        return value

    @property
    def inputs(self) -> list[str]:
        """`input` as a list."""
        return self.input if isinstance(self.input, list) else [self.input]

    @property
    def positive_classes(self) -> list[Label]:
        """`positive_class` as a list."""
        return self.positive_class if isinstance(self.positive_class, list) else [self.positive_class]

    @field_validator("columns", "drop_columns")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            seen = [c for i, c in enumerate(value) if c in value[:i]]
            if seen:
                raise PydanticCustomError(
                    "duplicate_column", "column '{name}' is listed twice", {"name": seen[0]}
                )
        return value

    @property
    def feature_columns(self) -> list[str] | None:
        """Feature names in order (file order minus target and dropped), when columns are known."""
        if self.columns is None:
            return None
        return [c for c in self.columns if c != self.target_column and c not in self.drop_columns]
