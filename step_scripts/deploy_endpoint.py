"""Lambda that deploys an approved model package version to a SageMaker real-time endpoint.

Event (the pipeline's Lambda step): ``model_package_arn`` (a versioned ARN,
``.../model-package/<group>/<version>``), ``endpoint_name``, ``role_arn``, ``instance_type``,
``instance_count`` (not for a serverless endpoint); optional ``endpoint_config_name`` (a name prefix,
default: the endpoint name) and the endpoint options ``variants``, ``serverless_config``,
``data_capture_config`` (deploy_variants.py) and ``autoscaling`` (deploy_scaling.py), the modules
shipped beside this one.

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
it if it exists, then (with ``autoscaling``) registers its variants once it is InService. Idempotent:
the model and endpoint config are described first and reused after checking that they are the same
ones, an endpoint already moving to this config is reported, not touched, and autoscaling is
requested only where missing or different; a repeated invocation sends no create, update, register
or put request (so the pipeline step and the approval rule may both fire for one package).

Errors: a bad event raises ``ValueError`` listing every problem; a state that cannot be deployed to
(endpoint busy with another update, failed, or a same-named resource that differs) raises
``DeployError``; other AWS errors propagate. On success it returns ``{"statusCode": 200,
"endpoint_name", "endpoint_config_name", "model_name", "action": "created"|"updated", "status"}``, and with
``autoscaling`` also ``"autoscaling": "applied"|"unchanged"|"pending"``.

IAM: the function's role needs sagemaker:DescribeModelPackage, sagemaker:CreateModel,
sagemaker:DescribeModel, sagemaker:CreateEndpointConfig, sagemaker:DescribeEndpointConfig,
sagemaker:CreateEndpoint, sagemaker:DescribeEndpoint, sagemaker:UpdateEndpoint, and iam:PassRole
on ``role_arn``; with ``autoscaling`` also Application Auto Scaling's (ship/iam.py derives them).

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
``INSTANCE_TYPE``, ``INSTANCE_COUNT`` (required, but for a serverless endpoint) and
``ENDPOINT_CONFIG_NAME`` (optional prefix), and the options as JSON: ``VARIANTS``,
``SERVERLESS_CONFIG``, ``DATA_CAPTURE_CONFIG``, ``AUTOSCALING``; the values the pipeline's deploy step
passes (`lgbm-pipeline deploy` sets them). The function also needs a resource-based policy that
lets events.amazonaws.com invoke it (``aws lambda add-permission --principal events.amazonaws.com
--source-arn <rule ARN>``). The package is described again before deploying, so a rule that also
matches other statuses deploys nothing but approved packages.

Autoscaling when the endpoint is ready (AWS). A second rule on the same function, for "SageMaker
Endpoint State Change" events of this endpoint (same Developer Guide page, section "Endpoint state
change": ``detail`` carries ``EndpointName``, ``EndpointConfigName``, ``EndpointStatus``
``IN_SERVICE``), applies the ``AUTOSCALING`` environment setting to the variants of the config the
endpoint runs, as soon as it is in service::

    {
      "source": ["aws.sagemaker"],
      "detail-type": ["SageMaker Endpoint State Change"],
      "detail": {"EndpointName": ["census-income-dev"], "EndpointStatus": ["IN_SERVICE"]}
    }
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

try:  # Lambda: the zip's root (deploy_endpoint.py and its modules) is on sys.path
    import deploy_scaling
    import deploy_variants
except ModuleNotFoundError:  # imported from the package: the local runner, ship, the tests
    from lgbm_pipeline_compiler.step_scripts import deploy_scaling, deploy_variants

NAME_MAX = 63
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
ENDPOINT_EVENT = "SageMaker Endpoint State Change"
WAIT_MARGIN_SECONDS = 30
"""Of the Lambda's remaining time, kept back when polling for the endpoint (autoscaling)."""
# The deploy settings of the EventBridge path: event key -> the Lambda's environment variable.
ENVIRONMENT = {
    "endpoint_name": "ENDPOINT_NAME",
    "role_arn": "ROLE_ARN",
    "instance_type": "INSTANCE_TYPE",
    "instance_count": "INSTANCE_COUNT",
}
OPTIONAL_ENVIRONMENT = {"endpoint_config_name": "ENDPOINT_CONFIG_NAME"}
JSON_ENVIRONMENT = {
    "variants": "VARIANTS",
    "serverless_config": "SERVERLESS_CONFIG",
    "data_capture_config": "DATA_CAPTURE_CONFIG",
    "autoscaling": "AUTOSCALING",
}
INSTANCE_KEYS = ("instance_type", "instance_count")
DeployError = deploy_variants.DeployError


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
    problems: list[str] = []
    serverless = event.get("serverless_config") is not None
    required = ("model_package_arn", "endpoint_name", "role_arn") + (() if serverless else INSTANCE_KEYS)
    missing = [key for key in required if event.get(key) in (None, "")]
    if missing:
        problems.append(f"missing key(s): {', '.join(missing)}")
    if serverless and any(event.get(key) not in (None, "") for key in INSTANCE_KEYS):
        problems.append("a serverless endpoint takes no instance_type or instance_count")
    text = {key: str(event.get(key) or "").strip() for key in (*required, *INSTANCE_KEYS)}
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
    options = deploy_variants.parse_options(event, problems)
    autoscaling = deploy_scaling.parse(event.get("autoscaling"), problems)
    if autoscaling is not None and serverless:
        problems.append("autoscaling applies to instances; a serverless endpoint takes none")
    if problems:
        raise ValueError("invalid deploy event: " + "; ".join(problems))
    version = int(arn.group("version"))
    prefix = str(event.get("endpoint_config_name") or text["endpoint_name"]).strip()
    return {
        **options,
        "autoscaling": autoscaling,
        "model_package_arn": text["model_package_arn"],
        "region": arn.group("region"),
        "endpoint_name": text["endpoint_name"],
        "role_arn": text["role_arn"],
        "instance_type": text["instance_type"] or None,
        "instance_count": None if serverless else int(str(count).strip()),
        "model_name": sagemaker_name(arn.group("group"), version),
        "endpoint_config_name": sagemaker_name(prefix, version),
    }


def is_approval_event(event: Any) -> bool:
    """An EventBridge "SageMaker Model Package State Change" event (the approval rule's)."""
    return isinstance(event, dict) and event.get("detail-type") == APPROVAL_EVENT


def is_endpoint_event(event: Any) -> bool:
    """An EventBridge "SageMaker Endpoint State Change" event (the autoscaling rule's)."""
    return isinstance(event, dict) and event.get("detail-type") == ENDPOINT_EVENT


def _environment_options(environ: Any) -> dict[str, Any]:
    """The JSON options of the function's environment (VARIANTS, AUTOSCALING, ...)."""
    options = {}
    for key, name in JSON_ENVIRONMENT.items():
        if str(environ.get(name) or "").strip():
            try:
                options[key] = json.loads(environ[name])
            except ValueError:
                raise ValueError(f"the environment variable {name} is not JSON: {environ[name]!r}") from None
    return options


def event_from_approval(event: dict[str, Any], environ: Any) -> dict[str, Any]:
    """The deploy event for an EventBridge model package event: the package from
    ``detail.ModelPackageArn``, the endpoint settings from the environment. Raises ValueError
    naming what is missing."""
    detail = event.get("detail")
    problems = []
    if not isinstance(detail, dict) or not str(detail.get("ModelPackageArn") or "").strip():
        problems.append("detail.ModelPackageArn is missing")
    options = _environment_options(environ)
    needed = {
        k: v for k, v in ENVIRONMENT.items() if "serverless_config" not in options or k not in INSTANCE_KEYS
    }
    missing = [name for name in needed.values() if not str(environ.get(name) or "").strip()]
    if missing:
        problems.append(
            f"the Lambda function lacks the environment variable(s) {', '.join(missing)}: set "
            f"{', '.join(needed.values())} (and optionally ENDPOINT_CONFIG_NAME) on the function "
            "to the values the pipeline's deploy step passes"
        )
    if problems:
        raise ValueError(f"invalid {APPROVAL_EVENT} event: " + "; ".join(problems))
    settings = {**needed, **OPTIONAL_ENVIRONMENT}
    deploy_event: dict[str, Any] = {
        key: str(environ[name]).strip() for key, name in settings.items() if environ.get(name)
    }
    deploy_event.update(options)
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


def ensure_model(client: Any, plan: dict[str, Any]) -> None:
    """Create the model, or reuse a same-named one that serves the same model package
    (DescribeModel first, so a repeated deploy sends no create)."""
    try:
        existing = client.describe_model(ModelName=plan["model_name"])
    except Exception as exc:
        if not deploy_variants.not_found(exc):
            raise
        try:
            client.create_model(
                ModelName=plan["model_name"],
                PrimaryContainer={"ModelPackageName": plan["model_package_arn"]},
                ExecutionRoleArn=plan["role_arn"],
            )
            return
        except Exception as exc:  # another invocation created it meanwhile: compare with that one
            if not deploy_variants.already_exists(exc):
                raise
            existing = client.describe_model(ModelName=plan["model_name"])
    package = existing.get("PrimaryContainer", {}).get("ModelPackageName")
    if package != plan["model_package_arn"]:
        raise DeployError(
            f"model '{plan['model_name']}' already exists but serves '{package}', "
            f"not '{plan['model_package_arn']}'"
        )


def describe_endpoint(client: Any, name: str) -> dict[str, Any] | None:
    """DescribeEndpoint, or None when there is no such endpoint."""
    try:
        return client.describe_endpoint(EndpointName=name)
    except Exception as exc:
        if not deploy_variants.not_found(exc):
            raise
        return None


def deploy(client: Any, plan: dict[str, Any], endpoint: dict[str, Any] | None) -> tuple[str, str]:
    """Create or update the endpoint (``endpoint``: its DescribeEndpoint); return (action, status)."""
    name, config = plan["endpoint_name"], plan["endpoint_config_name"]
    if endpoint is None:
        client.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return "created", "Creating"
    status = endpoint.get("EndpointStatus", "")
    if config in configs_of(endpoint) and status in ("Creating", "Updating", "SystemUpdating", "InService"):
        # An earlier attempt already started this deployment: report it, do not touch it.
        return ("created" if status == "Creating" else "updated"), status
    check_updatable(endpoint)
    try:
        client.update_endpoint(EndpointName=name, EndpointConfigName=config)
    except Exception as exc:
        code, message = deploy_variants._error(exc)
        if code == "ValidationException" and "in-progress" in message.lower():
            raise DeployError(f"endpoint '{name}' started another update meanwhile: {message}") from None
        raise
    return "updated", "Updating"


def configs_of(endpoint: dict[str, Any]) -> set[str]:
    """The config an endpoint runs and the one an in-progress deployment moves it to
    (DescribeEndpoint PendingDeploymentSummary: "only returned when the endpoint is creating or
    updating with a new endpoint configuration")."""
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    return {name for name in (endpoint.get("EndpointConfigName"), pending) if name}


def check_updatable(endpoint: dict[str, Any]) -> None:
    """Raise DeployError unless the endpoint is InService (an update needs it)."""
    name, status = endpoint.get("EndpointName"), endpoint.get("EndpointStatus", "")
    if status in BUSY:
        raise DeployError(
            f"endpoint '{name}' is {status} (config '{endpoint.get('EndpointConfigName')}'); retry when it is InService"
        )
    if status != "InService":
        reason = endpoint.get("FailureReason", "")
        raise DeployError(
            f"endpoint '{name}' is {status}{': ' + reason if reason else ''}; "
            "it cannot be updated, delete it or deploy to another endpoint_name"
        )


def handle(event: Any, client: Any, scaling: Any = None, wait_seconds: float = 0.0) -> dict[str, Any]:
    """Deploy with an injected boto3 SageMaker client and, for ``autoscaling``, an Application Auto
    Scaling client (pure apart from the clients' calls). A package that is not Approved is left
    alone: the answer says "skipped" and why. ``wait_seconds``: how long to poll for the endpoint
    before registering its autoscaling (deploy_scaling.py)."""
    plan = parse_event(event)
    if plan["autoscaling"] is not None and scaling is None:
        raise DeployError("the event asks for autoscaling but no Application Auto Scaling client was given")
    status = approval_status(client, plan)
    if status != APPROVED:
        return skipped(plan, status)
    endpoint = describe_endpoint(client, plan["endpoint_name"])
    current = deploy_variants.current_config(client, endpoint)
    deploy_variants.check_conversion(plan, current)
    ensure_model(client, plan)
    variants = deploy_variants.production_variants(plan, current)
    deploy_variants.ensure_endpoint_config(client, plan, variants)
    moving = endpoint is not None and plan["endpoint_config_name"] not in configs_of(endpoint)
    if plan["autoscaling"] is not None and moving:
        check_updatable(endpoint)
        deploy_scaling.release(scaling, plan["endpoint_name"], current, variants)
    action, status = deploy(client, plan, endpoint)
    result = {
        "statusCode": 200,
        "endpoint_name": plan["endpoint_name"],
        "endpoint_config_name": plan["endpoint_config_name"],
        "model_name": plan["model_name"],
        "action": action,
        "status": status,
    }
    if plan["autoscaling"] is not None:
        names = [v["VariantName"] for v in variants]
        result["autoscaling"] = deploy_scaling.ensure(scaling, client, plan, names, wait_seconds)
    return result


def handle_endpoint_event(event: dict[str, Any], environ: Any, client: Any, scaling: Any) -> dict[str, Any]:
    """A "SageMaker Endpoint State Change" event: apply the environment's AUTOSCALING to the variants
    of the config this function's endpoint (ENDPOINT_NAME) runs; anything else is ignored."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    name = str(environ.get("ENDPOINT_NAME") or "").strip()
    settings = _environment_options(environ).get("autoscaling")
    problems: list[str] = []
    settings = deploy_scaling.parse(settings, problems)
    if problems:
        raise ValueError("invalid AUTOSCALING environment variable: " + "; ".join(problems))
    if settings is None or not name or detail.get("EndpointName") != name:
        return {"statusCode": 200, "action": "ignored", "endpoint_name": detail.get("EndpointName")}
    status = deploy_scaling.apply_to_endpoint(scaling, client, name, settings)
    return {"statusCode": 200, "action": "autoscaling", "endpoint_name": name, "autoscaling": status}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point, for the pipeline's deploy event or an EventBridge "SageMaker Model
    Package State Change" or "SageMaker Endpoint State Change" event (settings from the
    environment). Region from AWS_REGION / AWS_DEFAULT_REGION, else the ARN's."""
    import boto3  # imported here so that handle() and parse_event() need no boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if is_endpoint_event(event):
        return handle_endpoint_event(
            event,
            os.environ,
            boto3.client("sagemaker", region_name=region),
            boto3.client("application-autoscaling", region_name=region),
        )
    if is_approval_event(event):
        event = event_from_approval(event, os.environ)
    plan = parse_event(event)
    region = region or plan["region"]
    scaling = boto3.client("application-autoscaling", region_name=region) if plan["autoscaling"] else None
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 0.0
    wait = max(0.0, remaining - WAIT_MARGIN_SECONDS)
    return handle(event, boto3.client("sagemaker", region_name=region), scaling, wait)
