"""Typed handles between step builders: what each built step offers the steps after it.

A builder takes the handles it needs and returns its own, so the wiring in ``pipeline.py`` is the
data flow, and no builder looks up another step by a string key. Values typed ``Any`` are SDK
pipeline expressions (``Properties``, ``Join``) that resolve at execution time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preprocessed:
    """The preprocessing step and the S3 URIs of its splits."""

    step: Any
    train: Any
    validation: Any
    test: Any
    clarify: Any
    """Test split without header, target first: the Clarify dataset (and the transform input)."""
    explain: Any = None
    """A stratified sample of `clarify` (clarify.explainability.max_rows), when explainability runs."""


@dataclass(frozen=True)
class Tuned:
    """The tuning step and the S3 URI of the best trial's model.tar.gz."""

    step: Any
    best_model_uri: Any


@dataclass(frozen=True)
class Modeled:
    """The CreateModel step for the best trial, its SDK Model and its model name."""

    step: Any
    model: Any
    model_name: Any


@dataclass(frozen=True)
class Evaluated:
    """The evaluation step, its report's PropertyFile and the report's S3 URI."""

    step: Any
    report: Any
    report_uri: Any


@dataclass(frozen=True)
class Checked:
    """A bias or explainability check, whichever engine ran it."""

    step: Any
    kind: str
    """'bias' or 'explainability'."""
    calculated_constraints_uri: Any
    drift_baseline_uri: Any
    config_file_uri: Any | None = None
    """The monitoring analysis config later drift checks use (only SageMaker Clarify writes one)."""


@dataclass(frozen=True)
class Checks:
    """The configured checks (each may be absent)."""

    bias: Checked | None = None
    explainability: Checked | None = None

    @property
    def steps(self) -> list[Any]:
        return [c.step for c in (self.bias, self.explainability) if c is not None]


@dataclass(frozen=True)
class Registered:
    """The RegisterModel step collection and the new package's ARN."""

    step: Any
    model_package_arn: Any


@dataclass(frozen=True)
class Deployed:
    step: Any


@dataclass(frozen=True)
class Transformed:
    """The batch transform step and the S3 prefix its predictions are written to."""

    step: Any
    output_uri: Any
