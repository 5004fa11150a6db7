"""Target-tracking autoscaling of the endpoint's variants (Application Auto Scaling).

Shipped beside deploy_endpoint.py in the Lambda's zip. Event field ``autoscaling``:
``{"min_instances", "max_instances", "metric", "target_value"}`` and optional
``scale_in_cooldown`` / ``scale_out_cooldown`` (seconds). For every production variant of the
deployed config it registers ResourceId ``endpoint/<endpoint>/variant/<variant>``, ScalableDimension
``sagemaker:variant:DesiredInstanceCount`` (SageMaker Developer Guide, "Register a model") and puts
a ``TargetTrackingScaling`` policy named ``lgbm-pipeline-target-tracking`` with the predefined metric.

When: "Before you can use auto scaling, you must have already created an Amazon SageMaker AI model
endpoint" (Developer Guide, "Auto scaling prerequisites"), and the variants to register are those of
the endpoint's current config; a new config's variants exist only once its update is done. So it
is applied when DescribeEndpoint reports the endpoint ``InService`` on the deployed config. A Lambda
cannot wait the minutes an endpoint takes: it polls within its remaining time (minus a margin) and
otherwise answers ``"autoscaling": "pending"``. Every step is idempotent (DescribeScalableTargets and
DescribeScalingPolicies first; a request only for what is missing or different), so the next
invocation for the same package (the next pipeline execution's deploy step, the approval rule, or a
rule on "SageMaker Endpoint State Change" events, see deploy_endpoint.py) applies it; an up-to-date
endpoint sends no register or put request.

Before an update: "If the update would change the instance type for any model that is a target for
auto scaling, the update fails" and removing such a variant needs its deregistration first
(Developer Guide, "Update endpoints that use auto scaling"); ``release`` deregisters exactly those
targets ("Deregistering a scalable target deletes the scaling policies ... associated with it",
DeregisterScalableTarget). A changed model in the same variant needs nothing.
"""

from __future__ import annotations

import time
from typing import Any, Callable

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_NAME = "lgbm-pipeline-target-tracking"
METRICS = (
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution",
)
POLL_SECONDS = 20
COOLDOWNS = {"scale_in_cooldown": "ScaleInCooldown", "scale_out_cooldown": "ScaleOutCooldown"}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def parse(value: Any, problems: list[str]) -> dict[str, Any] | None:
    """The event's ``autoscaling`` (None when absent); problems are appended."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("autoscaling must be an object")
        return None
    low, high, target = value.get("min_instances"), value.get("max_instances"), value.get("target_value")
    if not (_count(low) and _count(high) and low <= high):
        problems.append(
            f"autoscaling needs integers 1 <= min_instances <= max_instances, got {low!r}, {high!r}"
        )
    if value.get("metric", METRICS[0]) not in METRICS:
        problems.append(f"autoscaling.metric must be one of {', '.join(METRICS)}")
    if not isinstance(target, (int, float)) or isinstance(target, bool) or target <= 0:
        problems.append(f"autoscaling.target_value must be a number > 0, got {target!r}")
    for key in COOLDOWNS:
        seconds = value.get(key)
        if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0):
            problems.append(f"autoscaling.{key} must be a whole number of seconds >= 0, got {seconds!r}")
    return dict(value, metric=value.get("metric", METRICS[0]))


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _target(client: Any, rid: str) -> dict[str, Any] | None:
    found = client.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    return found[0] if found else None


def release(
    client: Any, endpoint: str, current: dict[str, Any] | None, variants: list[dict[str, Any]]
) -> list[str]:
    """Deregister the scalable targets an update to ``variants`` would break (a variant removed or
    its instance type changed); returns their resource ids."""
    wanted = {v["VariantName"]: v.get("InstanceType") for v in variants}
    released = []
    for variant in (current or {}).get("ProductionVariants", []):
        name = variant.get("VariantName")
        if name in wanted and wanted[name] == variant.get("InstanceType"):
            continue
        rid = resource_id(endpoint, name)
        if _target(client, rid) is not None:
            client.deregister_scalable_target(
                ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
            )
            released.append(rid)
    return released


def _policy_configuration(settings: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TargetValue": float(settings["target_value"]),
        "PredefinedMetricSpecification": {"PredefinedMetricType": settings["metric"]},
    }
    for key, name in COOLDOWNS.items():
        if settings.get(key) is not None:
            config[name] = settings[key]
    return config


def _apply(client: Any, endpoint: str, variant: str, settings: dict[str, Any]) -> bool:
    """Register the variant and put its policy where missing or different; True if anything changed."""
    rid, changed = resource_id(endpoint, variant), False
    low, high = settings["min_instances"], settings["max_instances"]
    target = _target(client, rid)
    if target is None or (target.get("MinCapacity"), target.get("MaxCapacity")) != (low, high):
        client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=rid,
            ScalableDimension=DIMENSION,
            MinCapacity=low,
            MaxCapacity=high,
        )
        changed = True
    wanted = _policy_configuration(settings)
    policies = client.describe_scaling_policies(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, PolicyNames=[POLICY_NAME]
    )["ScalingPolicies"]
    have = policies[0].get("TargetTrackingScalingPolicyConfiguration", {}) if policies else None
    if have is None or any(have.get(k) != v for k, v in wanted.items()):
        client.put_scaling_policy(
            PolicyName=POLICY_NAME,
            ServiceNamespace=NAMESPACE,
            ResourceId=rid,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=wanted,
        )
        changed = True
    return changed


def ensure(
    client: Any,
    sagemaker: Any,
    plan: dict[str, Any],
    variants: list[str],
    wait_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Apply the autoscaling to ``variants`` (the deployed config's variant names) once the endpoint
    is InService on that config, polling
    DescribeEndpoint for at most ``wait_seconds``. Returns "applied", "unchanged" or "pending"."""
    deadline = clock() + wait_seconds
    endpoint, config = plan["endpoint_name"], plan["endpoint_config_name"]
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        if described.get("EndpointStatus") == "InService" and described.get("EndpointConfigName") == config:
            break
        if described.get("EndpointStatus") in ("Failed", "OutOfService") or clock() + POLL_SECONDS > deadline:
            return "pending"
        sleep(POLL_SECONDS)
    changed = [_apply(client, endpoint, name, plan["autoscaling"]) for name in variants]
    return "applied" if any(changed) else "unchanged"


def apply_to_endpoint(client: Any, sagemaker: Any, endpoint: str, settings: dict[str, Any]) -> str:
    """Autoscale the instance variants of the config ``endpoint`` runs now (an "endpoint in
    service" event); ``ensure``'s answer."""
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    plan = {
        "endpoint_name": endpoint,
        "endpoint_config_name": config["EndpointConfigName"],
        "autoscaling": settings,
    }
    names = [v["VariantName"] for v in config.get("ProductionVariants", []) if "ServerlessConfig" not in v]
    return ensure(client, sagemaker, plan, names)
