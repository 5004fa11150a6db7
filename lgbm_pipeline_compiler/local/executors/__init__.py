"""One executor per step type the compiler emits: (StepContext) -> SageMaker-like properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import StepContext
from . import catalog, clarify, condition, deploy, fail, processing, quality, transform, tuning

Executor = Callable[[StepContext], dict[str, Any]]

EXECUTORS: dict[str, Executor] = {
    "Processing": processing.run,
    "Tuning": tuning.run,
    "Model": catalog.create_model,
    "RegisterModel": catalog.register_model,
    "ClarifyCheck": clarify.run,
    "QualityCheck": quality.run,
    "Lambda": deploy.run,
    "Condition": condition.run,
    "Transform": transform.run,
    "Fail": fail.run,
}

KEEP_ON_RERUN: dict[str, str] = {"Tuning": tuning.TRIALS}
"""Step type → the subdir of its step dir a re-run keeps (the trials a resumed Tune step may reuse)."""
