"""The endpoint options of `deploy:`: data capture, autoscaling, A/B variants and serverless.

Each maps onto one SageMaker or Application Auto Scaling request field (botocore's service models,
``sagemaker`` CreateEndpointConfig and ``application-autoscaling`` RegisterScalableTarget /
PutScalingPolicy); the limits below are those models' (min/max/pattern) unless said otherwise.
The deploy section (deploy.py) checks how they combine.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from .base import Section
from .encryption import OutputKey
from .types import INT32_MAX, S3Uri

# botocore sagemaker VariantName: pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}, max 63.
_VARIANT = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# botocore sagemaker CsvContentType / JsonContentType: 1-256 characters of this pattern.
_CONTENT_TYPE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*/[a-zA-Z0-9](-*[a-zA-Z0-9.])*$")
SERVERLESS_MEMORY = (1024, 2048, 3072, 4096, 5120, 6144)
"""ProductionVariantServerlessConfig.MemorySizeInMB: "Valid values are in 1 GB increments: 1024 MB,
2048 MB, 3072 MB, 4096 MB, 5120 MB, or 6144 MB." (botocore sagemaker service model)"""
MAX_INSTANCES = 100
"""The bound deploy.instance_count already has; Application Auto Scaling's MaxCapacity documentation:
"service quotas might impose lower limits" (your account's per-instance-type endpoint quota)."""


def fail(problems: list[tuple[tuple[str | int, ...], str, str, dict[str, Any], Any]]) -> ValidationError:
    """A ValidationError with each problem at its own key: (loc, type, message template, ctx, input).
    Raised from an ``after`` model validator, pydantic prefixes the model's own location."""
    return ValidationError.from_exception_data(
        "deploy",
        [
            InitErrorDetails(type=PydanticCustomError(kind, message, ctx), loc=loc, input=value)
            for loc, kind, message, ctx, value in problems
        ],
    )


def _variant_name(value: str) -> str:
    if not _VARIANT.fullmatch(value):
        raise PydanticCustomError(
            "variant_name",
            "'{value}' is not a SageMaker variant name: 1-63 letters, digits and hyphens, starting and "
            "ending with a letter or digit (for example challenger)",
            {"value": value},
        )
    return value


def _content_type(value: str) -> str:
    if len(value) > 256 or not _CONTENT_TYPE.fullmatch(value):
        raise PydanticCustomError(
            "content_type",
            "'{value}' is not a content type SageMaker's CaptureContentTypeHeader takes "
            "(type/subtype, letters, digits and hyphens, at most 256 characters; e.g. text/csv)",
            {"value": value},
        )
    return value


VariantName = Annotated[str, AfterValidator(_variant_name)]
ContentType = Annotated[str, AfterValidator(_content_type)]


class CaptureContentTypes(Section):
    """CaptureContentTypeHeader: the content types captured as text (others are base64-encoded)."""

    csv: list[ContentType] = Field(default_factory=lambda: ["text/csv"], min_length=1, max_length=10)
    """CsvContentTypes (1-10): captured as CSV text. Default: text/csv (the SageMaker SDK's)."""
    json_types: list[ContentType] = Field(
        default_factory=lambda: ["application/json"], min_length=1, max_length=10, alias="json"
    )
    """JsonContentTypes (1-10): captured as JSON text. Default: application/json (the SageMaker SDK's)."""


class DataCapture(Section):
    """DataCaptureConfig on CreateEndpointConfig: SageMaker writes a sample of the endpoint's
    requests and responses to S3 as JSON Lines (defaults are the SageMaker SDK's DataCaptureConfig)."""

    sampling_percentage: int = Field(default=20, ge=0, le=100)
    """InitialSamplingPercentage: the percentage of requests captured (0-100)."""
    destination: S3Uri | None = None
    """DestinationS3Uri (at most 512 characters). Default: <storage.write>/data-capture; SageMaker
    adds <endpoint>/<variant>/yyyy/mm/dd/hh/ below it. The endpoint's model execution role
    (pipeline.role_arn) writes there: it needs s3:PutObject on it (not the deploy Lambda)."""
    capture: list[Literal["input", "output"]] = Field(
        default_factory=lambda: ["input", "output"], min_length=1, max_length=2
    )
    """CaptureOptions: what to capture, the request (input), the response (output) or both."""
    content_types: CaptureContentTypes = Field(default_factory=CaptureContentTypes)
    kms_key_id: OutputKey | None = None
    """KmsKeyId: the KMS key SageMaker encrypts the captured data with (server-side, in S3)."""

    @model_validator(mode="after")
    def _distinct(self) -> DataCapture:
        if len(set(self.capture)) != len(self.capture):
            raise fail(
                [
                    (
                        ("capture",),
                        "capture_twice",
                        "lists a mode twice; write [input], [output] or [input, output]",
                        {},
                        self.capture,
                    )
                ]  # fmt: skip
            )
        return self


class Autoscaling(Section):
    """Application Auto Scaling of each production variant: RegisterScalableTarget (ResourceId
    endpoint/<endpoint>/variant/<variant>, ScalableDimension sagemaker:variant:DesiredInstanceCount)
    and a TargetTrackingScaling PutScalingPolicy."""

    min_instances: int = Field(ge=1, le=MAX_INSTANCES)
    """MinCapacity. SageMaker Developer Guide, "Register a model": "This value must be set to at least 1"."""
    max_instances: int = Field(ge=1, le=MAX_INSTANCES)
    """MaxCapacity (at least min_instances; at most 100, as deploy.instance_count)."""
    metric: Literal[
        "SageMakerVariantInvocationsPerInstance", "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    ] = "SageMakerVariantInvocationsPerInstance"
    """PredefinedMetricType: the predefined metrics of the DesiredInstanceCount dimension in botocore's
    application-autoscaling MetricType enum."""
    target_value: float = Field(gt=0)
    """TargetValue: the metric's value to hold (e.g. invocations per instance per minute)."""
    scale_in_cooldown: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """ScaleInCooldown in seconds (unset: Application Auto Scaling's default)."""
    scale_out_cooldown: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """ScaleOutCooldown in seconds (unset: Application Auto Scaling's default)."""

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.min_instances > self.max_instances:
            raise fail(
                [
                    (
                        ("max_instances",),
                        "autoscaling_range",
                        "max_instances ({high}) is below min_instances ({low}); raise max_instances to at least {low}",
                        {"high": self.max_instances, "low": self.min_instances},
                        self.max_instances,
                    )
                ]  # fmt: skip
            )
        return self


class KeepCurrent(Section):
    """The variant the endpoint serves now stays, beside the new model, under this name and weight."""

    name: VariantName
    weight: float = Field(gt=0)
    """InitialVariantWeight: its traffic share is weight / (weight + variants.weight)."""


class Variants(Section):
    """Production variants for A/B tests: the new model's variant, and optionally the current one."""

    name: VariantName
    """VariantName of the new model's variant."""
    weight: float = Field(default=1.0, gt=0)
    """InitialVariantWeight of the new model's variant (traffic share weight / sum of weights)."""
    keep_current: KeepCurrent | None = None
    """Keep the endpoint's current variant (the one named keep_current.name, else its only variant)
    serving its model beside the new one; nothing is kept when the endpoint does not exist yet."""

    @model_validator(mode="after")
    def _unique(self) -> Variants:
        if self.keep_current is not None and self.keep_current.name.lower() == self.name.lower():
            raise fail(
                [
                    (
                        ("keep_current", "name"),
                        "variant_names",
                        "'{name}' is also the new model's variant name; give the two variants different names (SageMaker variant names are unique per endpoint)",
                        {"name": self.keep_current.name},
                        self.keep_current.name,
                    )
                ]  # fmt: skip
            )
        return self


class Serverless(Section):
    """ServerlessConfig of the variant: a serverless endpoint instead of instances."""

    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    """MemorySizeInMB: 1024 to 6144 in 1 GB steps."""
    max_concurrency: int = Field(ge=1, le=200)
    """MaxConcurrency: concurrent invocations (1-200)."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)
    """ProvisionedConcurrency (1-200, at most max_concurrency): kept warm."""

    @model_validator(mode="after")
    def _provisioned(self) -> Serverless:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise fail(
                [
                    (
                        ("provisioned_concurrency",),
                        "provisioned_concurrency",
                        '{p} is above max_concurrency ({m}); SageMaker: it "should be less than or equal to MaxConcurrency"',
                        {"p": self.provisioned_concurrency, "m": self.max_concurrency},
                        self.provisioned_concurrency,
                    )
                ]  # fmt: skip
            )
        return self
