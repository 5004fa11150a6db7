"""Least-privilege IAM policies derived from a compiled definition: one for the pipeline's execution
role (SageMaker Pipelines creating the steps' jobs, and the jobs themselves), one for the deploy
Lambda's role (the calls step_scripts/deploy_endpoint.py makes).

Derived, not listed by hand: the actions follow the step types present; S3 from the locations the
steps read and write (content-addressed artifacts as their ``artifacts/`` prefix, per-execution
outputs and checkpoints as their literal prefix); ECR from the images; KMS from the volume and output
keys; EC2 network interfaces from the VPC configs; ``iam:PassRole`` for the roles the requests pass;
Lambda from the step's FunctionArn; the model package group and endpoint names from the spec. Job names are chosen by SageMaker Pipelines at run time, so job resources are scoped by type,
account and region. Clarify's shadow endpoints use Clarify's default name prefix ``sm-clarify``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from ..lint.requests import walk_steps
from .target import Target

VERSION = "2012-10-17"
# Where SageMaker writes: job outputs, checkpoints, and the deploy step's data capture destination
# (data_capture_config, passed on as DataCaptureConfig: SageMaker writes the captured requests there on the endpoint's behalf, so the
# execution role, which the endpoint's model runs as, gets s3:PutObject on it, and its KmsKeyId is
# an output key; the deploy Lambda only passes the setting on and never touches the objects).
OUTPUT_KEYS = (
    "ProcessingOutputConfig",
    "OutputDataConfig",
    "TransformOutput",
    "CheckpointConfig",
    "data_capture_config",  # the Deploy step's event field: CreateEndpointConfig's DataCaptureConfig
)
_ARTIFACTS = re.compile(r"^(.*?/artifacts/)[0-9a-f]{64}/")
_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
STEP_ACTIONS = {
    "Processing": ("processing-job", ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob")),
    "ClarifyCheck": ("processing-job", ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob")),
    "QualityCheck": ("processing-job", ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob")),
    "Tuning": (
        "hyper-parameter-tuning-job",
        (
            "CreateHyperParameterTuningJob",
            "DescribeHyperParameterTuningJob",
            "StopHyperParameterTuningJob",
            "ListTrainingJobsForHyperParameterTuningJob",
        ),
    ),
    "Training": ("training-job", ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob")),
    "Model": ("model", ("CreateModel",)),
    "Transform": ("transform-job", ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob")),
}
CHECKS = {"ClarifyCheck", "QualityCheck"}
"""Check steps: a processing job compared with the drift baselines of the group's latest Approved
package (ListModelPackages, DescribeModelPackage), as SageMaker Pipelines' check steps do."""
LOOKUP_FLAG = "--model-package-group"
"""A builtin engine's job (clarify_check.py, data_quality_check.py) given this argument makes the
same lookup itself, with boto3, as the execution role."""
CLARIFY_ENDPOINT = ("CreateEndpoint", "DescribeEndpoint", "DeleteEndpoint", "InvokeEndpoint")
CLARIFY_CONFIG = ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig")
HANDLER_ENDPOINT = ("CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint")
# deploy.autoscaling: step_scripts/deploy_scaling.py's Application Auto Scaling calls, and what the
# SageMaker Developer Guide's "Auto scaling prerequisites" page lists for the caller besides them:
# sagemaker:DescribeEndpoint, DescribeEndpointConfig, UpdateEndpointWeightsAndCapacities;
# cloudwatch:PutMetricAlarm, DescribeAlarms, DeleteAlarms (target tracking's alarms); and
# iam:CreateServiceLinkedRole for AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint,
# conditioned on iam:AWSServiceName sagemaker.application-autoscaling.amazonaws.com ("Application
# Auto Scaling requires permissions to create a service-linked role the first time any user in your
# account calls RegisterScalableTarget for a given service", Application Auto Scaling User Guide,
# "Service-linked roles"). Describe* take no resource; the writes take scalable-target ARNs.
SCALING_WRITE = ("RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget")
SCALING_READ = ("DescribeScalableTargets", "DescribeScalingPolicies")
SCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SCALING_ROLE = (
    f"role/aws-service-role/{SCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def _statement(
    sid: str, actions: Any, resources: Any, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)) if isinstance(resources, list | set | tuple) else resources,
    }
    if condition:
        out["Condition"] = condition
    return out


def _sid(resource: str) -> str:
    """``StepProcessingJobs`` for ``arn:...:processing-job/*``."""
    kind = resource.rsplit(":", 1)[-1].split("/", 1)[0]
    return "Step" + "".join(w.capitalize() for w in kind.split("-")) + "s"


def _s3_locations(node: Any, writing: bool = False) -> Iterator[tuple[str, bool, bool]]:
    """(literal s3:// prefix, is an output, continues with run-time parts) of every S3 location."""
    if isinstance(node, dict):
        join = node.get("Std:Join")
        if isinstance(join, dict) and isinstance(join.get("Values"), list):
            literal = []
            for value in join["Values"]:
                if not isinstance(value, str | int | float):
                    break
                literal.append(str(value))
            text = str(join.get("On", "")).join(literal)
            if text.startswith("s3://"):
                yield text, writing, len(literal) < len(join["Values"])
                return
        for key, value in node.items():
            yield from _s3_locations(value, writing or key in OUTPUT_KEYS)
    elif isinstance(node, list):
        for item in node:
            yield from _s3_locations(item, writing)
    elif isinstance(node, str) and node.strip('"').startswith("s3://"):  # hyperparameters are JSON-quoted
        yield node.strip('"'), writing, False


def _narrowest(patterns: set[str]) -> list[str]:
    """Drop every pattern another pattern (``prefix*``) already covers."""
    keep = sorted(patterns)
    return [p for p in keep if not any(o != p and o.endswith("*") and p.startswith(o[:-1]) for o in keep)]


def s3_statements(definition: dict[str, Any]) -> list[dict[str, Any]]:
    reads: set[str] = set()
    writes: set[str] = set()
    defaults = [p.get("DefaultValue") for p in definition.get("Parameters", [])]  # e.g. InputDataUrl
    for uri, output, open_ended in [*_s3_locations(definition["Steps"]), *_s3_locations(defaults)]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        artifacts = _ARTIFACTS.match(key + "/")
        if artifacts:
            pattern = artifacts.group(1) + "*"
        elif open_ended or output:
            pattern = key.rstrip("/") + "/*"
        else:
            pattern = key + "*"
        (writes if output else reads).add(f"{bucket}/{pattern}")
    readable = _narrowest(reads | writes)
    statements = [
        _statement(
            "ReadInputsArtifactsAndEarlierOutputs", ["s3:GetObject"], [f"arn:aws:s3:::{p}" for p in readable]
        ),
        _statement("WriteStepOutputs", ["s3:PutObject"], [f"arn:aws:s3:::{p}" for p in _narrowest(writes)]),
    ]
    for bucket in sorted({p.split("/", 1)[0] for p in readable}):
        prefixes = sorted(p.split("/", 1)[1] for p in readable if p.startswith(bucket + "/"))
        sid = "List" + "".join(w.capitalize() for w in re.split(r"[^a-zA-Z0-9]+", bucket))
        statements.append(
            _statement(
                sid, ["s3:ListBucket"], f"arn:aws:s3:::{bucket}", {"StringLike": {"s3:prefix": prefixes}}
            )
        )
    return statements


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _passed_roles(definition: dict[str, Any]) -> set[str]:
    return {
        s for s in _strings(definition["Steps"]) if re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+", s)
    }


def _pass_role(roles: set[str] | list[str]) -> dict[str, Any]:
    return _statement(
        "PassRoleToSageMaker",
        ["iam:PassRole"],
        sorted(roles),
        {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


VOLUME_KEY = ("kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext")
OUTPUT_KEY = ("kms:GenerateDataKey", "kms:Decrypt")
VPC_DESCRIBE = (
    "DescribeNetworkInterfaces",
    "DescribeVpcs",
    "DescribeDhcpOptions",
    "DescribeSubnets",
    "DescribeSecurityGroups",
)
VPC_ENI = ("CreateNetworkInterfacePermission", "DeleteNetworkInterface", "DeleteNetworkInterfacePermission")


def _values_of(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, value in node.items():
            if k == key:
                yield value
            yield from _values_of(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values_of(item, key)


def _key_statements(sid: str, actions: tuple[str, ...], keys: set[str], region: str, account: str) -> list:
    """KMS keys by ARN or id; keys named by an alias through kms:ResourceAliases (IAM matches key
    ARNs, never alias ARNs)."""
    arns, aliases = set(), {}
    for key in keys:
        if key.startswith("arn:") and ":alias/" in key:
            where = ":".join(key.split(":")[3:5])
            aliases.setdefault(where, set()).add("alias/" + key.split(":alias/", 1)[1])
        elif key.startswith("alias/"):
            aliases.setdefault(f"{region}:{account}", set()).add(key)
        else:
            arns.add(key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}")
    out = [_statement(sid, actions, sorted(arns))] if arns else []
    for i, (where, names) in enumerate(sorted(aliases.items())):
        condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(names)}}
        out.append(_statement(f"{sid}ByAlias{i or ''}", actions, f"arn:aws:kms:{where}:key/*", condition))
    return out


def kms_statements(definition: dict[str, Any], region: str, account: str) -> list[dict[str, Any]]:
    """Volume keys (EBS: a grant) and output keys (S3 objects written and read back)."""
    steps = definition["Steps"]
    volume = {v for v in _values_of(steps, "VolumeKmsKeyId") if isinstance(v, str) and v}
    output = {v for v in _values_of(steps, "KmsKeyId") if isinstance(v, str) and v}
    return _key_statements("VolumeKeys", VOLUME_KEY, volume, region, account) + _key_statements(
        "OutputKeys", OUTPUT_KEY, output, region, account
    )


def vpc_statements(definition: dict[str, Any], region: str, account: str) -> list[dict[str, Any]]:
    """The network interfaces SageMaker creates for jobs in the spec's subnets and security groups."""
    configs = [c for c in _values_of(definition["Steps"], "VpcConfig") if isinstance(c, dict)]
    subnets = {s for c in configs for s in c.get("Subnets", []) if isinstance(s, str)}
    groups = {g for c in configs for g in c.get("SecurityGroupIds", []) if isinstance(g, str)}
    if not configs:
        return []
    ec2 = f"arn:aws:ec2:{region}:{account}"
    resources = [f"{ec2}:network-interface/*"]
    resources += [f"{ec2}:subnet/{s}" for s in subnets] + [f"{ec2}:security-group/{g}" for g in groups]
    return [
        _statement("VpcDescribe", [f"ec2:{a}" for a in VPC_DESCRIBE], "*"),
        _statement("VpcCreateNetworkInterfaces", ["ec2:CreateNetworkInterface"], resources),
        _statement("VpcManageNetworkInterfaces", [f"ec2:{a}" for a in VPC_ENI], f"{ec2}:network-interface/*"),
    ]


def looked_up_groups(steps: list[dict[str, Any]]) -> list[Any]:
    """The model package groups processing jobs look their baseline up in (LOOKUP_FLAG's values)."""
    groups: list[Any] = []
    for step in steps:
        if step["Type"] != "Processing":
            continue
        arguments = (step.get("Arguments") or {}).get("AppSpecification", {}).get("ContainerArguments") or []
        groups += [v for f, v in zip(arguments, arguments[1:], strict=False) if f == LOOKUP_FLAG]
    return groups


def execution_role_policy(target: Target) -> dict[str, Any]:
    """The policy for pipeline.role_arn: what the pipeline's steps and their jobs need."""
    definition, spec = target.definition, target.spec
    region, account = spec.pipeline.region, spec.pipeline.role_arn.split(":")[4]
    sm = f"arn:aws:sagemaker:{region}:{account}"
    steps = list(walk_steps(definition["Steps"]))
    types = {s["Type"] for s in steps}
    actions: dict[str, set[str]] = {}
    for kind in sorted(types & STEP_ACTIONS.keys()):
        resource, names = STEP_ACTIONS[kind]
        actions.setdefault(f"{sm}:{resource}/*", set()).update(f"sagemaker:{n}" for n in names)
    statements = [_statement(_sid(res), acts, res) for res, acts in sorted(actions.items())]
    groups = sorted(
        {str(s["Arguments"]["ModelPackageGroupName"]) for s in steps if s["Type"] == "RegisterModel"}
    )
    checked = {
        str(s["ModelPackageGroupName"])
        for s in steps
        if s["Type"] in CHECKS and s.get("ModelPackageGroupName")
    }
    groups += sorted(checked - set(groups))
    groups += sorted({g for g in looked_up_groups(steps) if isinstance(g, str)} - set(groups))
    if groups:
        statements.append(
            _statement(
                "ModelPackageGroup",
                ["sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup"],
                [f"{sm}:model-package-group/{g.lower()}" for g in groups],
            )
        )
        package_actions = {"sagemaker:DescribeModelPackage"}
        if "RegisterModel" in types:
            package_actions.add("sagemaker:CreateModelPackage")
        statements.append(
            _statement(
                "ModelPackages", package_actions, [f"{sm}:model-package/{g.lower()}/*" for g in groups]
            )
        )
    if types & CHECKS or looked_up_groups(steps):  # the previous baseline: the latest Approved package
        statements.append(_statement("FindLatestApprovedPackage", ["sagemaker:ListModelPackages"], "*"))
    if "ClarifyCheck" in types:
        statements.append(
            _statement(
                "ClarifyShadowEndpoint",
                [f"sagemaker:{a}" for a in CLARIFY_ENDPOINT],
                f"{sm}:endpoint/sm-clarify-*",
            )
        )
        statements.append(
            _statement(
                "ClarifyShadowEndpointConfig",
                [f"sagemaker:{a}" for a in CLARIFY_CONFIG],
                f"{sm}:endpoint-config/sm-clarify-*",
            )
        )
    functions = sorted({str(s["FunctionArn"]) for s in steps if s["Type"] == "Lambda"})
    if functions:
        statements.append(_statement("InvokeDeployFunction", ["lambda:InvokeFunction"], functions))
    statements.append(_pass_role(_passed_roles(definition) | {spec.pipeline.role_arn}))
    statements += s3_statements(definition)
    statements += kms_statements(definition, region, account)
    statements += vpc_statements(definition, region, account)
    repositories = sorted(
        {
            f"arn:aws:ecr:{m.group(2)}:{m.group(1)}:repository/{m.group(3)}"
            for m in (_IMAGE.match(s) for s in _strings(definition["Steps"]))
            if m
        }
    )
    if repositories:
        statements.append(_statement("PullImagesAuth", ["ecr:GetAuthorizationToken"], "*"))
        statements.append(
            _statement(
                "PullImages",
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                repositories,
            )
        )
    logs = f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*"
    statements.append(
        _statement(
            "JobLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [logs, f"{logs}:log-stream:*"],
        )
    )
    statements.append(
        _statement(
            "JobMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        )
    )
    return {"Version": VERSION, "Statement": statements}


def _name_prefix(prefix: str) -> str:
    """The common start of the handler's ``<prefix>-v<version>`` names over every version, lower-cased
    as SageMaker writes names in ARNs, then ``*``."""
    from ..step_scripts.deploy_endpoint import sagemaker_name

    names = [sagemaker_name(prefix, version) for version in (*range(1, 10), *(10**d for d in range(1, 10)))]
    return os.path.commonprefix(names).lower() + "*"


def lambda_role_policy(target: Target) -> dict[str, Any] | None:
    """The policy for deploy.function.role_arn (None without `deploy:`): the handler's SageMaker
    calls on this pipeline's group, models, endpoint configs and endpoint, and its own logs."""
    spec = target.spec
    if spec.deploy is None:
        return None
    deploy = spec.deploy
    parts = deploy.lambda_arn.split(":")
    region, account, function = parts[3], parts[4], parts[6]
    sm = f"arn:aws:sagemaker:{region}:{account}"
    group = spec.registry.model_package_group if spec.registry else "*"
    config_prefix = deploy.endpoint_config_name or deploy.endpoint_name
    endpoint = f"{sm}:endpoint/{deploy.endpoint_name.lower()}"
    config = f"{sm}:endpoint-config/{_name_prefix(config_prefix)}"
    logs = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}"
    statements = [
        _statement(
            "ReadModelPackage", ["sagemaker:DescribeModelPackage"], f"{sm}:model-package/{group.lower()}/*"
        ),
        _statement(
            "Model", ["sagemaker:CreateModel", "sagemaker:DescribeModel"], f"{sm}:model/{_name_prefix(group)}"
        ),
        _statement(
            "EndpointConfig", ["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"], config
        ),
        _statement("Endpoint", [f"sagemaker:{a}" for a in HANDLER_ENDPOINT], [endpoint, config]),
        _pass_role({spec.pipeline.role_arn}),
        _statement("CreateLogGroup", ["logs:CreateLogGroup"], logs),
        _statement("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{logs}:*"),
    ]
    if deploy.autoscaling is not None:
        statements += scaling_statements(region, account, endpoint)
    return {"Version": VERSION, "Statement": statements}


def scaling_statements(region: str, account: str, endpoint: str) -> list[dict[str, Any]]:
    """The deploy Lambda's autoscaling permissions (SCALING_* above)."""
    return [
        _statement(
            "AutoscalingTargets",
            [f"application-autoscaling:{a}" for a in SCALING_WRITE],
            f"arn:aws:application-autoscaling:{region}:{account}:scalable-target/*",
        ),
        _statement("AutoscalingRead", [f"application-autoscaling:{a}" for a in SCALING_READ], "*"),
        _statement("AutoscalingEndpointCapacity", ["sagemaker:UpdateEndpointWeightsAndCapacities"], endpoint),
        _statement(
            "AutoscalingAlarms",
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
            f"arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking*",
        ),
        _statement("AutoscalingDescribeAlarms", ["cloudwatch:DescribeAlarms"], "*"),
        _statement(
            "AutoscalingServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            f"arn:aws:iam::{account}:{SCALING_ROLE}",
            {"StringLike": {"iam:AWSServiceName": SCALING_SERVICE}},
        ),
    ]


def policies(target: Target) -> dict[str, Any]:
    """Both roles' policies, with the role ARNs they are for."""
    out: dict[str, Any] = {
        "execution_role": {"role_arn": target.spec.pipeline.role_arn, "policy": execution_role_policy(target)}
    }
    lambda_policy = lambda_role_policy(target)
    if lambda_policy is not None:
        function = target.spec.deploy.function if target.spec.deploy else None
        out["deploy_lambda_role"] = {
            "role_arn": function.role_arn if function else None,
            "policy": lambda_policy,
        }
    return out
