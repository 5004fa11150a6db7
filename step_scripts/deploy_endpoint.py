"""Lambda that deploys an approved model package version to a SageMaker real-time endpoint.

Event (the pipeline's Lambda step): ``model_package_arn`` (a versioned ARN,
``.../model-package/<group>/<version>``), ``endpoint_name``, ``role_arn``, ``instance_type``,
``instance_count``; optional ``endpoint_config_name`` (a name prefix, default: the endpoint name).

Only an ``Approved`` package is deployed. botocore's CreateModelPackage documentation of
ModelApprovalStatus: "For versioned models, the value of this parameter must be set to Approved to
deploy the model." The handler first calls DescribeModelPackage; when the package is
``PendingManualApproval`` or ``Rejected`` it changes nothing and returns ``{"statusCode": 200,
"action": "skipped", "status": <the approval status>, "endpoint_name", "endpoint_config_name",
"model_name", "reason"}``: a skipped deploy is not a failure, so the pipeline's Lambda step
succeeds. Approving the package later deploys it through the EventBridge rule below (locally,
``lgbm-pipeline registry approve ARN`` runs the deployment the pipeline left pending).

Otherwise it creates model ``<group>-v<version>`` and endpoint config ``<prefix>-v<version>``
(sanitised to SageMaker's name rules, at most 63 characters), then creates the endpoint, or updates
it if it exists. Safe to retry: a model or endpoint config left by an earlier attempt is reused
after checking that it is the same one, and an endpoint already moving to this config is reported,
not touched (so the pipeline step and the approval rule may both fire for one package).

Errors: a bad event raises ``ValueError`` listing every problem; a state that cannot be deployed to
(endpoint busy with another update, failed, or a same-named resource that differs) raises
``DeployError``; other AWS errors propagate. On success it returns ``{"statusCode": 200,
"endpoint_name", "endpoint_config_name", "model_name", "action": "created"|"updated", "status"}``.

IAM: the function's role needs sagemaker:DescribeModelPackage, sagemaker:CreateModel,
sagemaker:DescribeModel, sagemaker:CreateEndpointConfig, sagemaker:DescribeEndpointConfig,
sagemaker:CreateEndpoint, sagemaker:DescribeEndpoint, sagemaker:UpdateEndpoint, and iam:PassRole
on ``role_arn``.

Deploy on approval (AWS). SageMaker sends a "SageMaker Model Package State Change" event to
EventBridge whenever a model package changes; its ``detail`` carries ``ModelPackageGroupName``,
``ModelPackageVersion``, ``ModelPackageArn`` and ``ModelApprovalStatus`` (SageMaker Developer
Guide, "Events that Amazon SageMaker sends to Amazon EventBridge", section "Model package state
change": https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
A rule on the default event bus with this pattern, targeting this same function, deploys every
version of the group as soon as it is approved::

    {
      "source": ["aws.sagemaker"],
      "detail-type": ["SageMaker Model Package State Change"],
      "detail": {
        "ModelApprovalStatus": ["Approved"],
        "ModelPackageGroupName": ["census-income-lgbm"]
      }
    }

For that event ``lambda_handler`` takes the package ARN from ``detail.ModelPackageArn`` and the
rest from the function's environment variables: ``ENDPOINT_NAME``, ``ROLE_ARN``,
``INSTANCE_TYPE``, ``INSTANCE_COUNT`` (required) and ``ENDPOINT_CONFIG_NAME`` (optional prefix);
the values the pipeline's deploy step passes. The function also needs a resource-based policy that
lets events.amazonaws.com invoke it (``aws lambda add-permission --principal events.amazonaws.com
--source-arn <rule ARN>``). The package is described again before deploying, so a rule that also
matches other statuses deploys nothing but approved packages.
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
APPROVED = "Approved"
APPROVAL_EVENT = "SageMaker Model Package State Change"
# The deploy settings of the EventBridge path: event key -> the Lambda's environment variable.
ENVIRONMENT = {
    "endpoint_name": "ENDPOINT_NAME",
    "role_arn": "ROLE_ARN",
    "instance_type": "INSTANCE_TYPE",
    "instance_count": "INSTANCE_COUNT",
}
OPTIONAL_ENVIRONMENT = {"endpoint_config_name": "ENDPOINT_CONFIG_NAME"}


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


def is_approval_event(event: Any) -> bool:
    """An EventBridge "SageMaker Model Package State Change" event (the approval rule's)."""
    return isinstance(event, dict) and event.get("detail-type") == APPROVAL_EVENT


def event_from_approval(event: dict[str, Any], environ: Any) -> dict[str, Any]:
    """The deploy event for an EventBridge model package event: the package from
    ``detail.ModelPackageArn``, the endpoint settings from the environment. Raises ValueError
    naming what is missing."""
    detail = event.get("detail")
    problems = []
    if not isinstance(detail, dict) or not str(detail.get("ModelPackageArn") or "").strip():
        problems.append("detail.ModelPackageArn is missing")
    missing = [name for name in ENVIRONMENT.values() if not str(environ.get(name) or "").strip()]
    if missing:
        problems.append(
            f"the Lambda function lacks the environment variable(s) {', '.join(missing)}: set "
            f"{', '.join(ENVIRONMENT.values())} (and optionally ENDPOINT_CONFIG_NAME) on the function "
            "to the values the pipeline's deploy step passes"
        )
    if problems:
        raise ValueError(f"invalid {APPROVAL_EVENT} event: " + "; ".join(problems))
    settings = {**ENVIRONMENT, **OPTIONAL_ENVIRONMENT}
    deploy_event = {key: str(environ[name]).strip() for key, name in settings.items() if environ.get(name)}
    deploy_event["model_package_arn"] = str(detail["ModelPackageArn"]).strip()
    return deploy_event


def approval_status(client: Any, plan: dict[str, Any]) -> str:
    """The package's ModelApprovalStatus (DescribeModelPackage). A versioned package registered
    without one is PendingManualApproval."""
    package = client.describe_model_package(ModelPackageName=plan["model_package_arn"])
    return str(package.get("ModelApprovalStatus") or "PendingManualApproval")


def skipped(plan: dict[str, Any], status: str) -> dict[str, Any]:
    """The answer for a package that is not approved: nothing was created or changed."""
    arn = plan["model_package_arn"]
    return {
        "statusCode": 200,
        "action": "skipped",
        "status": status,
        "endpoint_name": plan["endpoint_name"],
        "endpoint_config_name": plan["endpoint_config_name"],
        "model_name": plan["model_name"],
        "reason": (
            f"{arn} is {status}; approve it (lgbm-pipeline registry approve {arn} locally, or "
            f"UpdateModelPackage ModelApprovalStatus={APPROVED} in AWS) to deploy"
        ),
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
    """Deploy with an injected boto3 SageMaker client (pure apart from the client's calls).
    A package that is not Approved is left alone: the answer says "skipped" and why."""
    plan = parse_event(event)
    status = approval_status(client, plan)
    if status != APPROVED:
        return skipped(plan, status)
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
    """AWS Lambda entry point, for the pipeline's deploy event or an EventBridge "SageMaker Model
    Package State Change" event (settings from the environment). Region from AWS_REGION /
    AWS_DEFAULT_REGION, else the ARN's."""
    import boto3  # imported here so that handle() and parse_event() need no boto3

    if is_approval_event(event):
        event = event_from_approval(event, os.environ)
    plan = parse_event(event)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or plan["region"]
    return handle(event, boto3.client("sagemaker", region_name=region))
