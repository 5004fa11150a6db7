"""A local Application Auto Scaling for SageMaker endpoint variants: the calls the deploy Lambda
makes (step_scripts/deploy_scaling.py), answered like boto3's ``application-autoscaling`` client.

Every request is checked against botocore's application-autoscaling service model as control.py
checks SageMaker's (ParamValidationError for shapes, ValidationException for enums, patterns and
maximums). Then as the service documents it (botocore's operation documentation):

- only SageMaker endpoint variants are modelled here: ServiceNamespace ``sagemaker``, ResourceId
  ``endpoint/<endpoint>/variant/<variant>``, ScalableDimension ``sagemaker:variant:DesiredInstanceCount``
  (SageMaker Developer Guide, "Register a model"); anything else is refused as not supported locally;
- the endpoint must exist and the variant be one of its current config's instance-based variants;
- RegisterScalableTarget: MinCapacity and MaxCapacity are "required when registering a new scalable
  target"; "Any parameters that you don't specify are not changed by this update request"; the
  resource's capacity is moved "to a value that is inside of this range" (here: the variant's
  desired instance count that ``describe_endpoint`` reports);
- DeregisterScalableTarget "deletes the scaling policies ... associated with it";
- PutScalingPolicy needs a registered target (ObjectNotFoundException), and a target-tracking
  policy its configuration; a policy of the same name on the target is replaced.

Records: {work_dir}/control/scalable-targets/{endpoint}/{variant}.json (the target, its policies).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..emit import render_json
from . import paths
from .control import LocalSageMaker, validated
from .records import now

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRICS = (
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution",
)
ROLE = "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


@functools.cache
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("application-autoscaling")


def _error(operation: str, message: str, code: str = "ValidationException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class LocalApplicationAutoScaling:
    def __init__(self, sagemaker: LocalSageMaker):
        self.sagemaker = sagemaker
        self.work_dir = sagemaker.work_dir

    def _request(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        validated(operation, params, _model())
        namespace, dimension = params.get("ServiceNamespace"), params.get("ScalableDimension", DIMENSION)
        if namespace != NAMESPACE or dimension != DIMENSION:
            raise _error(
                operation,
                f"the local Application Auto Scaling models SageMaker endpoint variants only "
                f"(ServiceNamespace {NAMESPACE}, ScalableDimension {DIMENSION}); got {namespace}, {dimension}",
            )
        return params

    def _variant(self, operation: str, resource_id: str) -> tuple[str, str]:
        parts = resource_id.split("/")
        if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant":
            raise _error(
                operation,
                f"Unsupported resource ID {resource_id}: a SageMaker variant is endpoint/<endpoint>/variant/<variant>",
            )
        return parts[1], parts[3]

    def _path(self, endpoint: str, variant: str) -> Path:
        return paths.inside(
            self.work_dir, f"{endpoint}/{variant}.json", what="scalable target",
            fix="use letters, digits and hyphens", prefix=["control", "scalable-targets"],
        )  # fmt: skip

    def _read(self, resource_id: str) -> dict[str, Any] | None:
        path = self._path(*self._variant("DescribeScalableTargets", resource_id))
        return json.loads(paths.read_bytes(path)) if path.is_file() else None

    def _write(self, resource_id: str, record: dict[str, Any]) -> None:
        path = self._path(*self._variant("RegisterScalableTarget", resource_id))
        paths.ensure_dir(self.work_dir, path.parent)
        paths.write_atomic(self.work_dir, path, render_json(record).encode())

    def _missing(self, operation: str, params: dict[str, Any]) -> ClientError:
        return _error(
            operation,
            f"No scalable target registered for service namespace: {params['ServiceNamespace']}, resource "
            f"ID: {params['ResourceId']}, scalable dimension: {params['ScalableDimension']}",
            "ObjectNotFoundException",
        )

    def _arn(self, kind: str, name: str) -> str:
        registry = self.sagemaker.registry
        return f"arn:aws:application-autoscaling:{registry.region}:{registry.account}:{kind}/{name}"

    # -- scalable targets ------------------------------------------------------------------------

    def register_scalable_target(self, **params: Any) -> dict[str, Any]:
        self._request("RegisterScalableTarget", params)
        rid = params["ResourceId"]
        endpoint, variant = self._variant("RegisterScalableTarget", rid)
        described = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        summary = {v["VariantName"]: v for v in described["ProductionVariants"]}
        if variant not in summary or "DesiredInstanceCount" not in summary[variant]:
            raise _error(
                "RegisterScalableTarget",
                f"endpoint {endpoint} has no instance-based variant {variant} (its variants: {sorted(summary)})",
            )
        record = self._read(rid) or {}
        if not record and ("MinCapacity" not in params or "MaxCapacity" not in params):
            raise _error(
                "RegisterScalableTarget", "MinCapacity and MaxCapacity are required for a new scalable target"
            )
        low = params.get("MinCapacity", record.get("MinCapacity"))
        high = params.get("MaxCapacity", record.get("MaxCapacity"))
        if low < 0 or low > high:
            raise _error(
                "RegisterScalableTarget",
                f"Minimum capacity {low} must be between 0 and the maximum capacity {high}",
            )
        target_id = record.get("ScalableTargetARN") or self._arn("scalable-target", f"{endpoint}-{variant}")
        record.update(
            ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, MinCapacity=low,
            MaxCapacity=high, ScalableTargetARN=target_id, CreationTime=record.get("CreationTime", now()),
            RoleARN=f"arn:aws:iam::{self.sagemaker.registry.account}:role/{ROLE}",
        )  # fmt: skip
        record.setdefault("Policies", {})
        self._write(rid, record)
        count = summary[variant]["DesiredInstanceCount"]
        if not low <= count <= high:
            self.sagemaker.set_variant_capacity(endpoint, variant, min(max(count, low), high))
        return {"ScalableTargetARN": target_id}

    def describe_scalable_targets(self, **params: Any) -> dict[str, Any]:
        self._request("DescribeScalableTargets", params)
        ids = params.get("ResourceIds")
        if ids is None:
            root = self.work_dir / "control" / "scalable-targets"
            ids = [f"endpoint/{p.parent.name}/variant/{p.stem}" for p in sorted(root.glob("*/*.json"))]
        members = _model().operation_model("DescribeScalableTargets").output_shape.members
        shape = members["ScalableTargets"].member.members
        records = [r for r in (self._read(rid) for rid in ids) if r is not None]
        return {"ScalableTargets": [{k: v for k, v in r.items() if k in shape} for r in records]}

    def deregister_scalable_target(self, **params: Any) -> dict[str, Any]:
        self._request("DeregisterScalableTarget", params)
        if self._read(params["ResourceId"]) is None:
            raise self._missing("DeregisterScalableTarget", params)
        self._path(*self._variant("DeregisterScalableTarget", params["ResourceId"])).unlink()
        return {}

    # -- scaling policies --------------------------------------------------------------------------

    def put_scaling_policy(self, **params: Any) -> dict[str, Any]:
        self._request("PutScalingPolicy", params)
        record = self._read(params["ResourceId"])
        if record is None:
            raise self._missing("PutScalingPolicy", params)
        kind = params.get("PolicyType", "StepScaling")
        config = params.get("TargetTrackingScalingPolicyConfiguration")
        if kind != "TargetTrackingScaling" or config is None:
            raise _error(
                "PutScalingPolicy",
                "the local Application Auto Scaling models TargetTrackingScaling policies with a "
                "TargetTrackingScalingPolicyConfiguration only",
            )
        metric = config.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
        if metric not in METRICS:
            raise _error(
                "PutScalingPolicy",
                f"{metric} is not a metric of {DIMENSION}; use one of {', '.join(METRICS)}",
            )
        name = params["PolicyName"]
        endpoint, variant = self._variant("PutScalingPolicy", params["ResourceId"])
        arn = self._arn("scalingPolicy", f"{endpoint}-{variant}:policyName/{name}")
        record["Policies"][name] = {
            "PolicyARN": arn, "PolicyName": name, "ServiceNamespace": NAMESPACE, "ResourceId": params["ResourceId"],
            "ScalableDimension": DIMENSION, "PolicyType": kind, "TargetTrackingScalingPolicyConfiguration": config,
            "Alarms": [], "CreationTime": now(),
        }  # fmt: skip
        self._write(params["ResourceId"], record)
        return {"PolicyARN": arn, "Alarms": []}

    def describe_scaling_policies(self, **params: Any) -> dict[str, Any]:
        self._request("DescribeScalingPolicies", params)
        rid = params.get("ResourceId")
        targets = self.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, **({"ResourceIds": [rid]} if rid else {})
        )
        names = params.get("PolicyNames")
        policies = [
            policy
            for target in targets["ScalableTargets"]
            for policy in (self._read(target["ResourceId"]) or {}).get("Policies", {}).values()
            if names is None or policy["PolicyName"] in names
        ]
        return {"ScalingPolicies": sorted(policies, key=lambda p: (p["ResourceId"], p["PolicyName"]))}
