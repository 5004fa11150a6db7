"""The SageMaker pipeline: created or updated with the canonical definition, the spec's description
and tags, and the role; then, on request, an execution started with parameter overrides.

UpdatePipeline takes no tags, so tags of an existing pipeline are added or changed with AddTags (as
the SageMaker SDK's ``Pipeline.upsert`` does); a tag the spec no longer lists is left in place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import Aws, ShipError, ShipInputError, aws_error, calling, error_code, error_message, not_found
from .target import Target

MAX_DEFINITION = 1_048_576  # CreatePipeline PipelineDefinition, characters
_ROLE_WORD = re.compile(r"\brole\b", re.IGNORECASE)


@dataclass
class PipelinePlan:
    action: str
    """"create", "update" or "none"."""
    arn: str = ""
    deployed: dict[str, Any] | None = None
    """The deployed definition (DescribePipeline), parsed."""
    changes: list[str] = field(default_factory=list)
    """Which of definition, description, role differ."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags to add or change (AddTags)."""
    deployed_tags: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.action != "none"


def _tags(client: Any, arn: str) -> dict[str, str]:
    out: dict[str, str] = {}
    token = None
    while True:
        with calling("sagemaker:ListTags", arn):
            page = client.list_tags(ResourceArn=arn, **({"NextToken": token} if token else {}))
        out.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        token = page.get("NextToken")
        if not token:
            return out


def plan_pipeline(aws: Aws, target: Target) -> PipelinePlan:
    """Compare the deployed pipeline (DescribePipeline, ListTags) with the target; reads only."""
    client = aws.client("sagemaker")
    try:
        found = client.describe_pipeline(PipelineName=target.name)
    except ClientError as err:
        if not_found(err):
            return PipelinePlan("create", tags=target.tags)
        raise aws_error(err, "sagemaker:DescribePipeline", target.name) from None
    except BotoCoreError as err:
        raise aws_error(err, "sagemaker:DescribePipeline", target.name) from None
    try:
        deployed = json.loads(found.get("PipelineDefinition") or "null")
    except json.JSONDecodeError:
        deployed = None
    changes = []
    if deployed != target.definition:
        changes.append("definition")
    if (found.get("PipelineDescription") or "") != target.description:
        changes.append("description")
    if found.get("RoleArn") != target.role_arn:
        changes.append("role")
    arn = str(found["PipelineArn"])
    existing = _tags(client, arn)
    tags = {k: v for k, v in target.tags.items() if existing.get(k) != v}
    action = "update" if changes or tags else "none"
    return PipelinePlan(action, arn, deployed, changes, tags, existing)


def _refused(err: ClientError, action: str, target: Target) -> ShipError:
    """CreatePipeline/UpdatePipeline's ValidationException: the role, else the definition."""
    message = error_message(err)
    if error_code(err) != "ValidationException":
        return aws_error(err, action, target.name)
    if target.role_arn in message or _ROLE_WORD.search(message):
        return ShipInputError(
            f"{action}: SageMaker rejected the role {target.role_arn} ({message}); pass a role that exists and "
            "trusts sagemaker.amazonaws.com (--role ARN or pipeline.role_arn)"
        )
    return ShipInputError(
        f"{action}: SageMaker rejected the definition ({message}); fix the spec (lgbm-pipeline validate "
        f"--deep {target.spec_path} checks it offline)"
    )


def apply_pipeline(aws: Aws, plan: PipelinePlan, target: Target) -> tuple[str, str]:
    """Create or update the pipeline as planned; returns (pipeline ARN, what was done in words)."""
    client = aws.client("sagemaker")
    text = target.text
    if len(text) > MAX_DEFINITION:
        raise ShipInputError(
            f"the definition is {len(text):,} characters; CreatePipeline takes at most {MAX_DEFINITION:,}"
        )
    tags = [{"Key": k, "Value": v} for k, v in sorted(plan.tags.items())]
    action = "sagemaker:CreatePipeline" if plan.action == "create" else "sagemaker:UpdatePipeline"
    try:
        if plan.action == "create":
            arn = client.create_pipeline(
                PipelineName=target.name,
                PipelineDefinition=text,
                PipelineDescription=target.description,
                RoleArn=target.role_arn,
                **({"Tags": tags} if tags else {}),
            )["PipelineArn"]
            return arn, f"created pipeline {target.name}"
        if plan.changes:
            client.update_pipeline(
                PipelineName=target.name,
                PipelineDefinition=text,
                PipelineDescription=target.description,
                RoleArn=target.role_arn,
            )
    except ClientError as err:
        raise _refused(err, action, target) from None
    except BotoCoreError as err:
        raise aws_error(err, action, target.name) from None
    if tags:
        with calling("sagemaker:AddTags", plan.arn):
            client.add_tags(ResourceArn=plan.arn, Tags=tags)
    done = list(plan.changes) + ([f"tags {', '.join(sorted(plan.tags))}"] if tags else [])
    return plan.arn, (
        f"updated pipeline {target.name}: {', '.join(done)}" if done else f"pipeline {target.name}: no change"
    )


def execution_parameters(target: Target, overrides: dict[str, str], first_run: bool) -> dict[str, str]:
    """The PipelineParameters to start with: --first-run's baseline switches, then --param values,
    each checked against the definition's declared parameters and types."""
    from ..local.baselines import first_run_parameters
    from ..local.definition import typed_parameters

    values = {**(first_run_parameters(target.definition) if first_run else {}), **overrides}
    typed = typed_parameters(target.definition, values)  # ValueError naming a bad name or value
    return {
        name: str(typed[name]).lower() if isinstance(typed[name], bool) else values[name] for name in values
    }


def start_execution(aws: Aws, target: Target, parameters: dict[str, str]) -> str:
    """StartPipelineExecution with ``parameters``; returns the execution ARN."""
    pairs = [{"Name": name, "Value": value} for name, value in sorted(parameters.items())]
    with calling("sagemaker:StartPipelineExecution", target.name):
        return str(
            aws.client("sagemaker").start_pipeline_execution(
                PipelineName=target.name, **({"PipelineParameters": pairs} if pairs else {})
            )["PipelineExecutionArn"]
        )
