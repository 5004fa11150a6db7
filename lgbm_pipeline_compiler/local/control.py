"""A local SageMaker control plane: the calls the deploy Lambda makes, kept on disk.

It answers like boto3's SageMaker client (same method names, keyword arguments, response shapes
and errors) so the real handler in step_scripts/deploy_endpoint.py runs unchanged;
`lgbm-pipeline serve` then serves an endpoint. It refuses what SageMaker refuses, the way a boto3
client reports it:

- every request is checked against the operation's input shape in botocore's SageMaker service
  model with botocore's own ``ParamValidator`` (required members, types, unknown members), raising
  ``botocore.exceptions.ParamValidationError`` as boto3 does before sending anything; enum,
  pattern and maximum constraints, of nested members too (lint/requests.py), raise ``ClientError`` ``ValidationException`` in
  SageMaker's wording ("1 validation error detected: Value 'x' at 'modelApprovalStatus' failed to
  satisfy constraint: Member must satisfy enum value set: [...]");
- ``create_model`` from a versioned model package (``PrimaryContainer``/``Containers``
  ``ModelPackageName``) refuses an unknown package ("Model package ARN not found", moto 5's
  wording for DescribeModelPackage, moto/sagemaker/models.py) and a package that is not
  ``Approved``. botocore's CreateModelPackage documentation of ModelApprovalStatus: "For versioned
  models, the value of this parameter must be set to Approved to deploy the model."; the SageMaker
  SDK's ModelPackage._create_sagemaker_model approves a package before CreateModel for the same
  reason. AWS's exact message for this refusal is not documented: ours names the status and how
  to approve. moto does not model it (its create_model accepts any ModelPackageName);
- ``create_endpoint_config`` refuses a variant whose model does not exist, as moto and SageMaker do;
- creating a model, endpoint config or endpoint under an existing name raises
  'Cannot create already existing model "name".' (SageMaker's wording);
- unknown resources raise 'Could not find endpoint "name".' and the like.

Model packages live in the local registry (registry.py, same work dir): ``describe_model_package``,
``update_model_package`` and ``list_model_packages`` return DescribeModelPackage,
UpdateModelPackage and ListModelPackages output shapes.

``describe_endpoint_config`` returns the CreateEndpointConfig request as recorded (ProductionVariants
with VariantName, ModelName, InitialVariantWeight, InstanceType or ServerlessConfig; DataCaptureConfig)
plus EndpointConfigArn and CreationTime: DescribeEndpointConfig's shape. ``describe_endpoint`` adds
DescribeEndpoint's ProductionVariants summaries (weights, instance counts or serverless config) and
DataCaptureConfig summary computed from that config. Application Auto Scaling's local client
(autoscaling.py) sets a variant's instance count within its registered range.

Layout: {work_dir}/control/{models,endpoint-configs,endpoints}/{name}.json, and
{work_dir}/control/pending-deployments/{group}-{version}.json: the deploy events whose package was
not yet approved (written by the local Lambda executor, run by `lgbm-pipeline registry approve`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from ..emit import render_json
from . import paths
from .records import now
from .registry import LocalRegistry, RegistryError, parse_versioned

APPROVED = "Approved"
LIST_LIMIT = 100  # moto's default page size for ListModelPackages (PAGINATION_MODEL)


def _error(operation: str, message: str, code: str = "ValidationException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@functools.cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _operation(name: str) -> Any:
    """The operation's model in botocore's SageMaker service model (loaded once per process)."""
    return _service_model().operation_model(name)


def _enum_message(problem: Any, shape: Any) -> str:
    """The service's enum wording: every allowed value, no suggestion (the linter shortens both)."""
    for key in problem.member:
        kind = shape.type_name
        shape = shape.member if kind == "list" else shape.value if kind == "map" else shape.members[key]
    where = problem.path
    return (
        f"Value '{problem.value}' at '{where}' failed to satisfy constraint: Member must satisfy enum "
        f"value set: [{', '.join(shape.enum)}]"
    )


def validated(operation: str, params: dict[str, Any], model: Any = None) -> dict[str, Any]:
    """Refuse a request as boto3 (ParamValidationError) or the service (ValidationException) would:
    botocore's ParamValidator first, then every member's enum, pattern and maximum (length, count,
    value), nested ones too (lint/requests.py, in SageMaker's wording). ``model``: another service's
    model than SageMaker's (local/autoscaling.py passes application-autoscaling's)."""
    from botocore.validate import ParamValidator

    from ..lint.requests import check_value

    shape = (model or _service_model()).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())
    problems = [
        _enum_message(p, shape) if p.kind == "enum" else p.message
        for p in check_value(params, shape)
        if p.kind in ("enum", "max", "pattern")
    ]
    if problems:
        count = len(problems)
        raise _error(
            operation,
            f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}",
        )
    return params


def _timestamp(value: Any) -> dt.datetime:
    """A boto3 timestamp argument (datetime, ISO 8601 text or epoch seconds) or a record's time."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return _timestamp(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))


class LocalSageMaker:
    def __init__(self, work_dir: str | Path, registry: LocalRegistry | None = None):
        self.work_dir = Path(work_dir)
        self.root = self.work_dir / "control"
        self.registry = registry or LocalRegistry(work_dir)

    # -- storage --------------------------------------------------------------------------------

    def _path(self, kind: str, name: str) -> Path:
        return paths.inside(
            self.work_dir, f"{name}.json", what=kind[:-1].replace("-", " ") + " name",
            fix="use letters, digits and hyphens", prefix=["control", kind],
        )  # fmt: skip

    def _write(self, path: Path, record: dict[str, Any]) -> None:
        paths.write_atomic(self.work_dir, path, render_json(record).encode())

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.registry.region}:{self.registry.account}:{kind}/{name.lower()}"

    def _read(self, kind: str, name: str, operation: str, label: str) -> dict[str, Any]:
        path = self._path(kind, name)
        if not path.is_file():
            raise _error(operation, f'Could not find {label} "{name}".')
        return json.loads(paths.read_bytes(path))

    def _create(self, kind: str, name: str, operation: str, label: str, record: dict[str, Any]) -> None:
        path = self._path(kind, name)
        if path.exists():
            raise _error(operation, f'Cannot create already existing {label} "{name}".')
        self._write(path, {**record, "CreationTime": now()})

    # -- models, endpoint configs, endpoints ------------------------------------------------------

    def create_model(self, **request: Any) -> dict[str, Any]:
        validated("CreateModel", request)
        name = request["ModelName"]
        if self._path("models", name).exists():
            raise _error("CreateModel", f'Cannot create already existing model "{name}".')
        containers = ([request["PrimaryContainer"]] if "PrimaryContainer" in request else []) + list(
            request.get("Containers", [])
        )
        for container in containers:
            if "ModelPackageName" in container:
                self._deployable_package(container["ModelPackageName"], "CreateModel")
        arn = self._arn("model", name)
        self._create("models", name, "CreateModel", "model", {**request, "ModelArn": arn})
        return {"ModelArn": arn}

    def describe_model(self, **params: Any) -> dict[str, Any]:
        validated("DescribeModel", params)
        return self._read("models", params["ModelName"], "DescribeModel", "model")

    def create_endpoint_config(self, **request: Any) -> dict[str, Any]:
        validated("CreateEndpointConfig", request)
        name = request["EndpointConfigName"]
        if self._path("endpoint-configs", name).exists():
            raise _error(
                "CreateEndpointConfig", f'Cannot create already existing endpoint configuration "{name}".'
            )
        for variant in request["ProductionVariants"]:
            if "ModelName" in variant and not self._path("models", variant["ModelName"]).is_file():
                raise _error("CreateEndpointConfig", f'Could not find model "{variant["ModelName"]}".')
        arn = self._arn("endpoint-config", name)
        record = {**request, "EndpointConfigArn": arn}
        self._create("endpoint-configs", name, "CreateEndpointConfig", "endpoint configuration", record)
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, **params: Any) -> dict[str, Any]:
        validated("DescribeEndpointConfig", params)
        return self._read(
            "endpoint-configs",
            params["EndpointConfigName"],
            "DescribeEndpointConfig",
            "endpoint configuration",
        )

    def describe_endpoint(self, **params: Any) -> dict[str, Any]:
        """DescribeEndpoint's output: the record, and its config's variants and data capture as
        DescribeEndpoint summarises them (ProductionVariantSummary, DataCaptureConfigSummary)."""
        validated("DescribeEndpoint", params)
        record = self._read("endpoints", params["EndpointName"], "DescribeEndpoint", "endpoint")
        members = _operation("DescribeEndpoint").output_shape.members
        described = {k: v for k, v in record.items() if k in members}
        config = self._read(
            "endpoint-configs", record["EndpointConfigName"], "DescribeEndpoint", "endpoint configuration"
        )
        capacity = record.get("VariantCapacity", {})  # set by local Application Auto Scaling
        described["ProductionVariants"] = [
            _variant_summary(v, capacity) for v in config["ProductionVariants"]
        ]
        capture = config.get("DataCaptureConfig")
        if capture is not None:
            described["DataCaptureConfig"] = {
                "EnableCapture": capture.get("EnableCapture", True),
                "CaptureStatus": "Started" if capture.get("EnableCapture", True) else "Stopped",
                "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                "DestinationS3Uri": capture["DestinationS3Uri"],
                **({"KmsKeyId": capture["KmsKeyId"]} if "KmsKeyId" in capture else {}),
            }
        return described

    def set_variant_capacity(self, endpoint: str, variant: str, count: int) -> None:
        """The desired instance count of a variant, as Application Auto Scaling sets it (local/autoscaling.py)."""
        record = self._read("endpoints", endpoint, "UpdateEndpointWeightsAndCapacities", "endpoint")
        record["VariantCapacity"] = {**record.get("VariantCapacity", {}), variant: count}
        self._write(self._path("endpoints", endpoint), record)

    def create_endpoint(self, **request: Any) -> dict[str, Any]:
        validated("CreateEndpoint", request)
        name, config = request["EndpointName"], request["EndpointConfigName"]
        if self._path("endpoints", name).exists():
            raise _error("CreateEndpoint", f'Cannot create already existing endpoint "{name}".')
        self._read("endpoint-configs", config, "CreateEndpoint", "endpoint configuration")
        arn = self._arn("endpoint", name)
        record = {
            "EndpointName": name,
            "EndpointArn": arn,
            "EndpointConfigName": config,
            "EndpointStatus": "InService",
        }
        self._create("endpoints", name, "CreateEndpoint", "endpoint", record)
        return {"EndpointArn": arn}

    def update_endpoint(self, **request: Any) -> dict[str, Any]:
        validated("UpdateEndpoint", request)
        name, config = request["EndpointName"], request["EndpointConfigName"]
        record = self._read("endpoints", name, "UpdateEndpoint", "endpoint")
        self._read("endpoint-configs", config, "UpdateEndpoint", "endpoint configuration")
        record.update(EndpointConfigName=config, EndpointStatus="InService", LastModifiedTime=now())
        record.pop("VariantCapacity", None)  # the new config's InitialInstanceCount (not retained)
        self._write(self._path("endpoints", name), record)
        return {"EndpointArn": record.get("EndpointArn") or self._arn("endpoint", name)}

    def endpoint_model_package(self, endpoint_name: str) -> str:
        """The model package an endpoint serves (endpoint → config → model → package)."""
        endpoint = self.describe_endpoint(EndpointName=endpoint_name)
        config = self.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = self.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        return model["PrimaryContainer"]["ModelPackageName"]

    def endpoints(self) -> list[str]:
        folder = self.root / "endpoints"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    # -- model packages (the local registry) -----------------------------------------------------

    def _package(self, name: str, operation: str) -> dict[str, Any]:
        try:
            return self.registry.get(name)
        except RegistryError:
            raise _error(operation, f"Model package {name} not found") from None

    def _deployable_package(self, name: str, operation: str) -> dict[str, Any]:
        package = self._package(name, operation)
        status, arn = package["ModelApprovalStatus"], package["ModelPackageArn"]
        if status != APPROVED:
            raise _error(
                operation,
                f"Model package {arn} has ModelApprovalStatus {status}: a versioned model package "
                f"must be {APPROVED} before a model can be created from it. Approve it with "
                f"UpdateModelPackage(ModelPackageArn='{arn}', ModelApprovalStatus='{APPROVED}') "
                f"(locally: lgbm-pipeline registry approve {arn})",
            )
        return package

    def describe_model_package(self, **params: Any) -> dict[str, Any]:
        """DescribeModelPackage's output from the registered CreateModelPackage request."""
        validated("DescribeModelPackage", params)
        package = self._package(params["ModelPackageName"], "DescribeModelPackage")
        members = _operation("DescribeModelPackage").output_shape.members
        described = {k: v for k, v in package["Request"].items() if k in members}
        described.update(
            ModelPackageName=package["ModelPackageGroupName"],  # a versioned package: its group
            ModelPackageGroupName=package["ModelPackageGroupName"],
            ModelPackageVersion=package["ModelPackageVersion"],
            ModelPackageArn=package["ModelPackageArn"],
            CreationTime=package["CreationTime"],
            ModelPackageStatus="Completed",
            ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
            ModelApprovalStatus=package["ModelApprovalStatus"],
        )
        for key in ("LastModifiedTime", "ApprovalDescription"):
            if key in package:
                described[key] = package[key]
        return described

    def update_model_package(self, **params: Any) -> dict[str, Any]:
        """UpdateModelPackage: the approval status (and its description) of a versioned package."""
        validated("UpdateModelPackage", params)
        arn = params["ModelPackageArn"]
        package = self._package(arn, "UpdateModelPackage")
        if "ModelApprovalStatus" in params or "ApprovalDescription" in params:
            self.registry.set_status(
                arn,
                params.get("ModelApprovalStatus", package["ModelApprovalStatus"]),
                params.get("ApprovalDescription"),
            )
        return {"ModelPackageArn": package["ModelPackageArn"]}

    def list_model_packages(self, **params: Any) -> dict[str, Any]:
        """ListModelPackages over the local registry (which holds versioned packages only: without
        a group, SageMaker lists unversioned packages unless ModelPackageType is Versioned or Both)."""
        validated("ListModelPackages", params)
        group = params.get("ModelPackageGroupName")
        if group is not None:
            packages = self.registry.versions(group.rsplit("/", 1)[-1])
        elif params.get("ModelPackageType", "Unversioned") == "Unversioned":
            packages = []
        else:
            packages = [p for g in self.registry.groups() for p in self.registry.versions(g)]
        status, contains = params.get("ModelApprovalStatus"), params.get("NameContains")
        after, before = params.get("CreationTimeAfter"), params.get("CreationTimeBefore")
        packages = [
            p
            for p in packages
            if (status is None or p["ModelApprovalStatus"] == status)
            and (contains is None or contains in p["ModelPackageGroupName"])
            and (after is None or _timestamp(p["CreationTime"]) > _timestamp(after))
            and (before is None or _timestamp(p["CreationTime"]) < _timestamp(before))
        ]
        by_name = params.get("SortBy", "CreationTime") == "Name"
        packages.sort(
            key=lambda p: (
                p["ModelPackageGroupName"] if by_name else p["CreationTime"],
                p["ModelPackageVersion"],
            ),
            reverse=params.get("SortOrder", "Ascending") == "Descending",
        )
        token = params.get("NextToken")
        if token is not None and not str(token).isdigit():
            raise _error("ListModelPackages", f"Invalid pagination token {token!r}")
        start = int(token or 0)
        stop = start + params.get("MaxResults", LIST_LIMIT)
        result: dict[str, Any] = {"ModelPackageSummaryList": [_summary(p) for p in packages[start:stop]]}
        if stop < len(packages):
            result["NextToken"] = str(stop)
        return result

    # -- deployments waiting for approval -------------------------------------------------------

    def _pending_path(self, arn: str) -> Path:
        group, version = parse_versioned(arn)
        return paths.inside(
            self.work_dir, f"{group}-{version}.json", what="model package", fix="pass its ARN",
            prefix=["control", "pending-deployments"],
        )  # fmt: skip

    def record_pending_deployment(self, event: dict[str, Any], **context: Any) -> Path:
        """Keep a deploy event whose package is not approved yet (one per package version)."""
        path = self._pending_path(event["model_package_arn"])
        record = {"ModelPackageArn": event["model_package_arn"], "event": event, "recorded": now(), **context}
        self._write(path, record)
        return path

    def pending_deployment(self, arn: str) -> dict[str, Any] | None:
        path = self._pending_path(arn)
        return json.loads(paths.read_bytes(path)) if path.is_file() else None

    def clear_pending_deployment(self, arn: str) -> None:
        self._pending_path(arn).unlink(missing_ok=True)


def _variant_summary(variant: dict[str, Any], capacity: dict[str, int]) -> dict[str, Any]:
    """DescribeEndpoint's ProductionVariantSummary of a config's ProductionVariant."""
    weight = variant.get("InitialVariantWeight", 1.0)
    summary: dict[str, Any] = {
        "VariantName": variant["VariantName"],
        "CurrentWeight": weight,
        "DesiredWeight": weight,
    }
    if "ServerlessConfig" in variant:
        summary.update(
            CurrentServerlessConfig=variant["ServerlessConfig"],
            DesiredServerlessConfig=variant["ServerlessConfig"],
        )
    else:
        count = capacity.get(variant["VariantName"], variant.get("InitialInstanceCount", 1))
        summary.update(CurrentInstanceCount=count, DesiredInstanceCount=count)
    return summary


def _summary(package: dict[str, Any]) -> dict[str, Any]:
    """A ModelPackageSummary (no ModelPackageName for versioned packages, as SageMaker and moto)."""
    summary = {
        "ModelPackageGroupName": package["ModelPackageGroupName"],
        "ModelPackageVersion": package["ModelPackageVersion"],
        "ModelPackageArn": package["ModelPackageArn"],
        "CreationTime": package["CreationTime"],
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": package["ModelApprovalStatus"],
    }
    description = package["Request"].get("ModelPackageDescription")
    return {**summary, "ModelPackageDescription": description} if description else summary
