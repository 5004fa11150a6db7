"""`retries:` — step retry policies (RetryPolicies) for every step kind that takes them, per section.

Exception types are SageMaker Pipelines': ``Step.SERVICE_FAULT`` and ``Step.THROTTLING`` (creating
the job failed: StepRetryPolicy) and ``SageMaker.JOB_INTERNAL_ERROR``, ``SageMaker.CAPACITY_ERROR``
and ``SageMaker.RESOURCE_LIMIT`` (the job failed: SageMakerJobStepRetryPolicy, job steps only).
The SDK's limits: 1-20 attempts or 1-14400 minutes (one of the two), non-negative interval and rate.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .base import Section

StepException = Literal["Step.SERVICE_FAULT", "Step.THROTTLING"]
JobException = Literal["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"]
STEP_EXCEPTIONS: tuple[str, ...] = get_args(StepException)
JOB_SECTIONS = ("preprocessing", "training", "evaluation", "clarify", "data_quality", "batch_transform")
"""Sections whose steps run SageMaker jobs (SageMaker.* exception types apply)."""
RetrySectionName = Literal[
    "preprocessing",
    "training",
    "evaluation",
    "clarify",
    "data_quality",
    "model",
    "registry",
    "batch_transform",
]
RETRY_SECTIONS: tuple[str, ...] = get_args(RetrySectionName)


class RetryPolicy(Section):
    exceptions: list[StepException | JobException] = Field(min_length=1)
    """What to retry: Step.SERVICE_FAULT, Step.THROTTLING (creating the job), or
    SageMaker.JOB_INTERNAL_ERROR, SageMaker.CAPACITY_ERROR, SageMaker.RESOURCE_LIMIT (the job)."""
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    expire_after_minutes: int | None = Field(default=None, ge=1, le=14400)
    """Stop retrying after this many minutes (instead of `max_attempts`)."""
    interval_seconds: int = Field(default=1, ge=0, le=86400)
    backoff_rate: float = Field(default=2.0, ge=0, le=100)

    @model_validator(mode="after")
    def _one_limit_one_family(self) -> RetryPolicy:
        if (self.max_attempts is None) == (self.expire_after_minutes is None):
            raise PydanticCustomError(
                "retry_limit", "give exactly one of max_attempts and expire_after_minutes"
            )
        families = {e in STEP_EXCEPTIONS for e in self.exceptions}
        if len(families) > 1:
            raise PydanticCustomError(
                "retry_family",
                "Step.* and SageMaker.* exceptions are different policies (StepRetryPolicy, "
                "SageMakerJobStepRetryPolicy); split them into two list items",
            )
        if len(set(self.exceptions)) != len(self.exceptions):
            raise PydanticCustomError("retry_duplicate", "an exception type is listed twice")
        return self

    @property
    def for_jobs(self) -> bool:
        return self.exceptions[0] not in STEP_EXCEPTIONS


class RetriesSection(Section):
    policies: list[RetryPolicy] = Field(default_factory=list, max_length=10)
    """Policies of every step that takes them (jobs, the model, the registration); a SageMaker.*
    policy applies to job steps only."""
    overrides: dict[RetrySectionName, list[RetryPolicy]] = Field(default_factory=dict)
    """Per section, the policies that replace `policies`: preprocessing, training (the Tune step),
    evaluation, clarify (the builtin engine's jobs), data_quality (the dataset and builtin jobs),
    model, registry, batch_transform."""

    def policies_for(self, section: str) -> list[RetryPolicy]:
        chosen = self.overrides.get(section, self.policies)  # type: ignore[call-overload]
        return [p for p in chosen if section in JOB_SECTIONS or not p.for_jobs]
