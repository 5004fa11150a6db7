"""The production settings as SDK objects: NetworkConfig and VpcConfig, KMS keys, CacheConfig,
StepRetryPolicy and SageMakerJobStepRetryPolicy, for one section's jobs and steps.

A setting that is off produces nothing (no key in the request), so a spec without these settings
compiles to the definition it always did.
"""

from __future__ import annotations

from typing import Any

from sagemaker.network import NetworkConfig
from sagemaker.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.steps import CacheConfig

from ..spec.cache import CACHE_SECTIONS
from .context import BuildContext

_STEP_EXCEPTIONS = {e.value: e for e in StepExceptionTypeEnum}
_JOB_EXCEPTIONS = {e.value: e for e in SageMakerJobExceptionTypeEnum}


def network_config(ctx: BuildContext, section: str) -> NetworkConfig | None:
    """A processing job's NetworkConfig (None when every setting is off)."""
    net = ctx.spec.network.settings(section)
    if not (net.in_vpc or net.isolation or net.encrypt):
        return None
    return NetworkConfig(
        enable_network_isolation=net.isolation,
        security_group_ids=list(net.security_group_ids) or None,
        subnets=list(net.subnets) or None,
        encrypt_inter_container_traffic=net.encrypt,
    )


def estimator_network(ctx: BuildContext, section: str) -> dict[str, Any]:
    """Estimator keyword arguments: VPC, isolation and inter-container encryption."""
    net = ctx.spec.network.settings(section)
    kwargs: dict[str, Any] = {}
    if net.in_vpc:
        kwargs.update(subnets=list(net.subnets), security_group_ids=list(net.security_group_ids))
    if net.isolation:
        kwargs["enable_network_isolation"] = True
    if net.encrypt:
        kwargs["encrypt_inter_container_traffic"] = True
    return kwargs


def model_network(ctx: BuildContext) -> dict[str, Any]:
    """Model keyword arguments for the serving container (CreateModel)."""
    net = ctx.spec.network.settings("model")
    kwargs: dict[str, Any] = {}
    if net.in_vpc:
        kwargs["vpc_config"] = {
            "Subnets": list(net.subnets),
            "SecurityGroupIds": list(net.security_group_ids),
        }
    if net.isolation:
        kwargs["enable_network_isolation"] = True
    return kwargs


def kms_keys(ctx: BuildContext, section: str) -> dict[str, Any]:
    """volume_kms_key and output_kms_key keyword arguments (only those that are set)."""
    volume, output = ctx.spec.encryption.keys(section)
    return {k: v for k, v in (("volume_kms_key", volume), ("output_kms_key", output)) if v}


def cache_config(ctx: BuildContext, section: str) -> CacheConfig | None:
    assert section in CACHE_SECTIONS
    enabled, expire_after = ctx.spec.cache.config(section)
    return CacheConfig(enable_caching=True, expire_after=expire_after) if enabled else None


def retry_policies(ctx: BuildContext, section: str) -> list[Any] | None:
    """The section's retry policies as SDK objects (None: the step gets no RetryPolicies)."""
    out: list[Any] = []
    for policy in ctx.spec.retries.policies_for(section):
        limits = {
            "interval_seconds": policy.interval_seconds,
            "backoff_rate": policy.backoff_rate,
            "max_attempts": policy.max_attempts,
            "expire_after_mins": policy.expire_after_minutes,
        }
        if policy.for_jobs:
            out.append(
                SageMakerJobStepRetryPolicy(
                    exception_types=[_JOB_EXCEPTIONS[e] for e in policy.exceptions], **limits
                )
            )
        else:
            out.append(
                StepRetryPolicy(exception_types=[_STEP_EXCEPTIONS[e] for e in policy.exceptions], **limits)
            )
    return out or None


def step_settings(ctx: BuildContext, section: str) -> dict[str, Any]:
    """cache_config and retry_policies keyword arguments of a job step (only those that are set)."""
    kwargs: dict[str, Any] = {}
    cache = cache_config(ctx, section)
    if cache is not None:
        kwargs["cache_config"] = cache
    retries = retry_policies(ctx, section)
    if retries:
        kwargs["retry_policies"] = retries
    return kwargs
