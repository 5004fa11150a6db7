"""The deploy Lambda: created or updated from the shipped deploy_endpoint.py when the spec has
`deploy.function`, else only checked to exist.

The code is a byte-stable zip of exactly the manifest's handler bytes (deploy_endpoint.py and the
modules it imports, HANDLER_MODULES, at the zip's root, which Lambda puts on sys.path), so Lambda's
CodeSha256 tells whether the deployed code is the compiled one. Only what differs is updated: UpdateFunctionCode for
the code, UpdateFunctionConfiguration with just the changed settings.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..spec.deploy_function import HANDLER, HANDLER_MODULES, HANDLER_SCRIPT
from .aws import Aws, ShipError, ShipInputError, aws_error, calling, error_code, error_message, not_found
from .target import Target

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The handler's settings for the EventBridge approval path (step_scripts/deploy_endpoint.py ENVIRONMENT,
# OPTIONAL_ENVIRONMENT, JSON_ENVIRONMENT): environment variable -> the deploy event's key.
ENVIRONMENT = ("ENDPOINT_NAME", "ROLE_ARN", "INSTANCE_TYPE", "INSTANCE_COUNT", "ENDPOINT_CONFIG_NAME")
JSON_ENVIRONMENT = {
    "VARIANTS": "variants",
    "SERVERLESS_CONFIG": "serverless_config",
    "DATA_CAPTURE_CONFIG": "data_capture_config",
    "AUTOSCALING": "autoscaling",
}


def handler_zip(files: Mapping[str, bytes]) -> bytes:
    """The handler's files (name -> bytes) in a zip with fixed dates, modes and order: the same
    bytes every time."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out.getvalue()


def handler_files(target: Target) -> dict[str, bytes]:
    """deploy_endpoint.py and its modules as the compiled manifest ships them (the artifacts the
    definition does not name)."""
    handler = target.handler()
    text = json.dumps(target.definition)
    modules = {
        artifact.name: artifact.data
        for uri, artifact in target.compiled.artifacts.items()
        if artifact.name in HANDLER_MODULES and uri not in text
    }
    missing = sorted(set(HANDLER_MODULES) - set(modules)) + ([] if handler else [HANDLER_SCRIPT])
    if missing:  # compile ships them whenever deploy.function is set
        raise ShipError(f"the compiled manifest has no {', '.join(missing)} artifact; recompile the spec")
    return {HANDLER_SCRIPT: handler.data, **modules}


def _deploy_step_arguments(target: Target) -> dict[str, Any]:
    """The compiled Deploy Lambda step's arguments: what the pipeline passes the handler."""
    from ..lint.requests import walk_steps

    for step in walk_steps(target.definition["Steps"]):
        if step.get("Type") == "Lambda" and step.get("FunctionArn") == target.spec.deploy.lambda_arn:
            return step.get("Arguments", {})
    return {}


def code_sha256(code: bytes) -> str:
    """Lambda's CodeSha256: base64 of the SHA-256 of the deployment package."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


@dataclass(frozen=True)
class DesiredFunction:
    arn: str
    name: str
    region: str
    managed: bool
    code: bytes = b""
    configuration: dict[str, Any] = field(default_factory=dict)
    """Role, Handler, Runtime, Timeout, MemorySize and Environment, as GetFunction reports them."""


def desired_function(target: Target) -> DesiredFunction | None:
    """The function the spec's `deploy:` names, and what it should be; None without `deploy:`."""
    deploy = target.spec.deploy
    if deploy is None:
        return None
    parts = deploy.lambda_arn.split(":")
    name, region = parts[6], parts[3]
    settings = deploy.function
    if settings is None:
        return DesiredFunction(deploy.lambda_arn, name, region, managed=False)
    files = handler_files(target)
    variables = {"ENDPOINT_NAME": deploy.endpoint_name, "ROLE_ARN": target.spec.pipeline.role_arn}
    if deploy.serverless is None:
        variables.update(INSTANCE_TYPE=deploy.instance_type, INSTANCE_COUNT=str(deploy.instance_count))
    if deploy.endpoint_config_name:
        variables["ENDPOINT_CONFIG_NAME"] = deploy.endpoint_config_name
    arguments = _deploy_step_arguments(target)
    for variable, key in JSON_ENVIRONMENT.items():  # the options exactly as the deploy step passes them
        if key in arguments:
            variables[variable] = json.dumps(arguments[key], sort_keys=True, separators=(",", ":"))
    configuration = {
        "Role": settings.role_arn,
        "Handler": HANDLER,
        "Runtime": settings.runtime,
        "Timeout": settings.timeout_seconds,
        "MemorySize": settings.memory_mb,
        "Environment": {"Variables": variables},
    }
    return DesiredFunction(deploy.lambda_arn, name, region, True, handler_zip(files), configuration)


@dataclass
class FunctionPlan:
    desired: DesiredFunction
    action: str
    """"create", "update", "none" (up to date, or an existing function the spec does not manage)."""
    code_changed: bool = False
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Configuration key → (deployed, wanted)."""
    busy: bool = False
    """The function was still being created or updated (State Pending, LastUpdateStatus InProgress)."""

    def lines(self) -> list[str]:
        d = self.desired
        if self.action == "create":
            c = d.configuration
            return [
                f"+ create function {d.name} ({c['Runtime']}, {c['Timeout']} s, {c['MemorySize']} MB, "
                f"role {c['Role']}, code {code_sha256(d.code)})"
            ]
        if self.action == "none":
            return [
                f"  function {d.name}: {'no change' if d.managed else 'exists (not managed: no deploy.function)'}"
            ]
        out = []
        if self.code_changed:
            out.append(f"~ function {d.name}: code → {code_sha256(d.code)} ({HANDLER_SCRIPT})")
        for key, (old, new) in self.changes.items():
            out.append(f"~ function {d.name}: {key} {_show(old)} → {_show(new)}")
        return out


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "{}"
    return str(value)


def _deployed_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    out = {k: configuration.get(k) for k in ("Role", "Handler", "Runtime", "Timeout", "MemorySize")}
    out["Environment"] = {"Variables": dict(configuration.get("Environment", {}).get("Variables", {}))}
    return out


def plan_function(aws: Aws, desired: DesiredFunction) -> FunctionPlan:
    """Compare the deployed function (GetFunction) with the wanted one; reads only."""
    account = desired.arn.split(":")[4]
    if desired.managed and account != aws.account():
        raise ShipInputError(
            f"deploy.lambda_arn {desired.arn} is in account {account} but the credentials are account "
            f"{aws.account()}; deploy with credentials of {account}, or fix deploy.lambda_arn"
        )
    client = aws.client("lambda", desired.region)
    try:
        found = client.get_function(FunctionName=desired.arn if not desired.managed else desired.name)
    except ClientError as err:
        if not not_found(err):
            raise aws_error(err, "lambda:GetFunction", desired.arn) from None
        if desired.managed:
            return FunctionPlan(desired, "create")
        raise ShipInputError(
            f"lambda:GetFunction: the deploy function {desired.arn} (deploy.lambda_arn) does not exist; create "
            f"it from step_scripts/{HANDLER_SCRIPT}, or add deploy.function (role_arn, timeout_seconds, "
            "memory_mb) to have deploy create it"
        ) from None
    except BotoCoreError as err:
        raise aws_error(err, "lambda:GetFunction", desired.arn) from None
    configuration = found.get("Configuration", {})
    if not desired.managed:
        return FunctionPlan(desired, "none")
    arn = str(configuration.get("FunctionArn", ""))
    if arn and arn != desired.arn:
        raise ShipInputError(
            f"lambda:GetFunction: function {desired.name} is {arn}, not deploy.lambda_arn {desired.arn}; "
            "use credentials of the ARN's account and region, or fix deploy.lambda_arn"
        )
    deployed = _deployed_configuration(configuration)
    changes = {
        key: (deployed[key], value) for key, value in desired.configuration.items() if deployed[key] != value
    }
    code_changed = configuration.get("CodeSha256") != code_sha256(desired.code)
    action = "update" if changes or code_changed else "none"
    busy = configuration.get("State") == "Pending" or configuration.get("LastUpdateStatus") == "InProgress"
    return FunctionPlan(desired, action, code_changed, changes, busy)


def _role_refused(err: ClientError, action: str, role: str) -> ShipInputError | None:
    message = error_message(err)
    if error_code(err) == "InvalidParameterValueException" and "role" in message.lower():
        return ShipInputError(
            f"{action}: Lambda refused deploy.function.role_arn {role} ({message}); its trust policy must "
            "allow lambda.amazonaws.com to assume it (a role created seconds ago may need a retry)"
        )
    return None


def _wait(client: Any, waiter: str, name: str) -> None:
    """A botocore Lambda waiter (GetFunction every 2 s, at most 5 minutes)."""
    with calling(f"lambda:GetFunction (waiting: {waiter})", name):
        client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})


def apply_function(aws: Aws, plan: FunctionPlan) -> str:
    """Create or update the function as planned; returns what was done, in words."""
    d = plan.desired
    client = aws.client("lambda", d.region)
    if plan.action == "create":
        try:
            client.create_function(
                FunctionName=d.name, Code={"ZipFile": d.code}, Publish=False, **d.configuration
            )
        except ClientError as err:
            raise _role_refused(err, "lambda:CreateFunction", d.configuration["Role"]) or aws_error(
                err, "lambda:CreateFunction", d.name
            ) from None
        except BotoCoreError as err:
            raise aws_error(err, "lambda:CreateFunction", d.name) from None
        return f"created function {d.name}"
    if plan.action == "none":
        return f"function {d.name}: no change"
    done = []
    if plan.busy:  # Lambda refuses an update while another one (or the creation) is in progress
        _wait(client, "function_active_v2", d.name)
        _wait(client, "function_updated_v2", d.name)
    if plan.code_changed:
        with calling("lambda:UpdateFunctionCode", d.name):
            client.update_function_code(FunctionName=d.name, ZipFile=d.code, Publish=False)
        done.append("code")
    if plan.changes:
        if plan.code_changed:  # one update at a time: Lambda refuses a second while one is in progress
            _wait(client, "function_updated_v2", d.name)
        try:
            client.update_function_configuration(
                FunctionName=d.name, **{key: new for key, (_, new) in plan.changes.items()}
            )
        except ClientError as err:
            raise _role_refused(
                err, "lambda:UpdateFunctionConfiguration", d.configuration["Role"]
            ) or aws_error(err, "lambda:UpdateFunctionConfiguration", d.name) from None
        except BotoCoreError as err:
            raise aws_error(err, "lambda:UpdateFunctionConfiguration", d.name) from None
        done.append(", ".join(plan.changes))
    return f"updated function {d.name}: {'; '.join(done)}"
