"""`data:` — the input table, its target and how it is split."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import Section


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


class DataSection(Section):
    input: str
    """Input CSV: an s3:// URI, or a key relative to `storage.read`."""
    target_column: str = Field(min_length=1)
    positive_class: str | int | bool
    """Value of the target column that is the positive (1) class, e.g. '>50K'."""
    header: bool = True
    """Whether the CSV starts with a header row."""
    columns: list[str] | None = Field(default=None, min_length=1)
    """Column names in file order: required when `header` is false and when `clarify` is used."""
    categorical_columns: Literal["auto"] | list[str] = "auto"
    drop_columns: list[str] = Field(default_factory=list)
    split: SplitRatios = Field(default_factory=lambda: SplitRatios(train=0.8, validation=0.1, test=0.1))
    stratify: bool = True
    seed: int = Field(default=42, ge=0)

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
