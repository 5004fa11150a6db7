"""Lambda that deploys an approved model package version to a SageMaker real-time endpoint.

Event: ``model_package_arn`` (a versioned ARN, ``.../model-package/<group>/<version>``),
``endpoint_name``, ``role_arn``, ``instance_type``, ``instance_count``; optional
``endpoint_config_name`` (a name prefix, default: the endpoint name).

Creates model ``<group>-v<version>`` and endpoint config ``<prefix>-v<version>`` (sanitised to
SageMaker's name rules, at most 63 characters), then creates the endpoint, or updates it if it
exists. Safe to retry: a model or endpoint config left by an earlier attempt is reused after checking
that it is the same one, and an endpoint already moving to this config is reported, not touched.

Errors: a bad event raises ``ValueError`` listing every problem; a state that cannot be deployed to
(endpoint busy with another update, failed, or a same-named resource that differs) raises
``DeployError``; other AWS errors propagate. On success it returns ``{"statusCode": 200,
"endpoint_name", "endpoint_config_name", "model_name", "action": "created"|"updated", "status"}``.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

NAME_MAX = 63
VARIANT = "AllTraffic"
ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:model-package/"
    r"(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9][0-9]*)$"
)
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
NAME_RE = re.compile(r"^[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}$")
INSTANCE_RE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class DeployError(RuntimeError):
    """The endpoint cannot be deployed to in its current state."""


def sagemaker_name(prefix: str, version: int) -> str:
    """``<prefix>-v<version>`` made a valid SageMaker name of at most 63 characters."""
    tail = f"-v{version}"
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", prefix).strip("-") or "model"
    if len(base) + len(tail) > NAME_MAX:
        digest = hashlib.sha1(prefix.encode()).hexdigest()[:8]
        base = base[: NAME_MAX - len(tail) - len(digest) - 1].rstrip("-") + "-" + digest
    return base + tail


def parse_event(event: Any) -> dict[str, Any]:
    """Validate the event; return the deployment plan. Raises ValueError listing every problem."""
    if not isinstance(event, dict):
        raise ValueError(f"event must be a JSON object, got {type(event).__name__}")
    problems = []
    required = ("model_package_arn", "endpoint_name", "role_arn", "instance_type", "instance_count")
    missing = [key for key in required if event.get(key) in (None, "")]
    if missing:
        problems.append(f"missing key(s): {', '.join(missing)}")
    text = {key: str(event.get(key) or "").strip() for key in required}
    arn = ARN_RE.match(text["model_package_arn"])
    if text["model_package_arn"] and not arn:
        problems.append(
            f"model_package_arn '{text['model_package_arn']}' is not a versioned model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)"
        )
    if text["endpoint_name"] and not NAME_RE.match(text["endpoint_name"]):
        problems.append(f"endpoint_name '{text['endpoint_name']}' must be 1-63 letters, digits or hyphens")
    if text["role_arn"] and not ROLE_RE.match(text["role_arn"]):
        problems.append(f"role_arn '{text['role_arn']}' is not an IAM role ARN")
    if text["instance_type"] and not INSTANCE_RE.match(text["instance_type"]):
        problems.append(
            f"instance_type '{text['instance_type']}' is not a SageMaker instance type like ml.m5.large"
        )
    count = event.get("instance_count")
    if count not in (None, "") and (
        isinstance(count, bool) or not re.fullmatch(r"[1-9][0-9]*", str(count).strip())
    ):
        problems.append(f"instance_count must be a positive integer, got {count!r}")
    if problems:
        raise ValueError("invalid deploy event: " + "; ".join(problems))
    version = int(arn.group("version"))
    prefix = str(event.get("endpoint_config_name") or text["endpoint_name"]).strip()
    return {
        "model_package_arn": text["model_package_arn"],
        "region": arn.group("region"),
        "endpoint_name": text["endpoint_name"],
        "role_arn": text["role_arn"],
        "instance_type": text["instance_type"],
        "instance_count": int(str(count).strip()),
        "model_name": sagemaker_name(arn.group("group"), version),
        "endpoint_config_name": sagemaker_name(prefix, version),
    }


def _error(exc: Exception) -> tuple[str, str]:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def _already_exists(exc: Exception) -> bool:
    code, message = _error(exc)
    return code == "ValidationException" and "already exist" in message.lower()


def _not_found(exc: Exception) -> bool:
    code, message = _error(exc)
    return code == "ValidationException" and "could not find" in message.lower()


def ensure_model(client: Any, plan: dict[str, Any]) -> None:
    """Create the model, or reuse a same-named one that serves the same model package."""
    try:
        client.create_model(
            ModelName=plan["model_name"],
            PrimaryContainer={"ModelPackageName": plan["model_package_arn"]},
            ExecutionRoleArn=plan["role_arn"],
        )
    except Exception as exc:
        if not _already_exists(exc):
            raise
        existing = client.describe_model(ModelName=plan["model_name"])
        package = existing.get("PrimaryContainer", {}).get("ModelPackageName")
        if package != plan["model_package_arn"]:
            raise DeployError(
                f"model '{plan['model_name']}' already exists but serves '{package}', "
                f"not '{plan['model_package_arn']}'"
            ) from None


def ensure_endpoint_config(client: Any, plan: dict[str, Any]) -> None:
    """Create the endpoint config, or reuse a same-named one with the same model and instances."""
    variant = {
        "VariantName": VARIANT,
        "ModelName": plan["model_name"],
        "InstanceType": plan["instance_type"],
        "InitialInstanceCount": plan["instance_count"],
        "InitialVariantWeight": 1.0,
    }
    try:
        client.create_endpoint_config(
            EndpointConfigName=plan["endpoint_config_name"], ProductionVariants=[variant]
        )
    except Exception as exc:
        if not _already_exists(exc):
            raise
        existing = client.describe_endpoint_config(EndpointConfigName=plan["endpoint_config_name"])
        variants = existing.get("ProductionVariants", [])
        keys = ("ModelName", "InstanceType", "InitialInstanceCount")
        if len(variants) != 1 or any(variants[0].get(k) != variant[k] for k in keys):
            found = [{k: v.get(k) for k in keys} for v in variants]
            wanted = {k: variant[k] for k in keys}
            raise DeployError(
                f"endpoint config '{plan['endpoint_config_name']}' already exists with {found}, "
                f"not {wanted}; pass another endpoint_config_name prefix"
            ) from None


def deploy(client: Any, plan: dict[str, Any]) -> tuple[str, str]:
    """Create or update the endpoint; return (action, status)."""
    name, config = plan["endpoint_name"], plan["endpoint_config_name"]
    try:
        endpoint = client.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if not _not_found(exc):
            raise
        client.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return "created", "Creating"
    status, current = endpoint.get("EndpointStatus", ""), endpoint.get("EndpointConfigName")
    if current == config and status in ("Creating", "Updating", "SystemUpdating", "InService"):
        # An earlier attempt already started this deployment: report it, do not touch it.
        return ("created" if status == "Creating" else "updated"), status
    if status in BUSY:
        raise DeployError(f"endpoint '{name}' is {status} (config '{current}'); retry when it is InService")
    if status != "InService":
        reason = endpoint.get("FailureReason", "")
        raise DeployError(
            f"endpoint '{name}' is {status}{': ' + reason if reason else ''}; "
            "it cannot be updated, delete it or deploy to another endpoint_name"
        )
    try:
        client.update_endpoint(EndpointName=name, EndpointConfigName=config)
    except Exception as exc:
        code, message = _error(exc)
        if code == "ValidationException" and "in-progress" in message.lower():
            raise DeployError(f"endpoint '{name}' started another update meanwhile: {message}") from None
        raise
    return "updated", "Updating"


def handle(event: Any, client: Any) -> dict[str, Any]:
    """Deploy with an injected boto3 SageMaker client (pure apart from the client's calls)."""
    plan = parse_event(event)
    ensure_model(client, plan)
    ensure_endpoint_config(client, plan)
    action, status = deploy(client, plan)
    return {
        "statusCode": 200,
        "endpoint_name": plan["endpoint_name"],
        "endpoint_config_name": plan["endpoint_config_name"],
        "model_name": plan["model_name"],
        "action": action,
        "status": status,
    }


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point: region from AWS_REGION / AWS_DEFAULT_REGION, else the ARN's."""
    import boto3  # imported here so that handle() and parse_event() need no boto3

    plan = parse_event(event)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or plan["region"]
    return handle(event, boto3.client("sagemaker", region_name=region))
