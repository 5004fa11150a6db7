"""A pipeline execution's progress: its steps (ListPipelineExecutionSteps) polled until it ends,
then each failed step's reason and the CloudWatch log streams of its job.

Log groups are SageMaker's and Lambda's: /aws/sagemaker/ProcessingJobs, TrainingJobs and
TransformJobs with one stream per instance named ``{job name}/...``, and /aws/lambda/{function}.
A step's metadata carries its job's ARN, whose name SageMaker lower-cases, so the job is described
for its name as written before its streams are listed (DescribeLogStreams by prefix).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from .aws import Aws, ShipInputError, calling, error_code, error_message, not_found

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
MARKS = {"Starting": "·", "Executing": "▶", "Stopping": "■", "Stopped": "■", "Failed": "✗", "Succeeded": "✓"}
EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:(?P<region>[a-z0-9\-]+):\d{12}:pipeline/(?P<pipeline>[^/]+)/execution/(?P<id>[^/]+)$"
)
JOBS = {
    "processing-job": ("/aws/sagemaker/ProcessingJobs", "describe_processing_job", "ProcessingJobName"),
    "training-job": ("/aws/sagemaker/TrainingJobs", "describe_training_job", "TrainingJobName"),
    "transform-job": ("/aws/sagemaker/TransformJobs", "describe_transform_job", "TransformJobName"),
}
MAX_STREAMS = 5


def execution_region(arn: str) -> str:
    """The region of a pipeline execution ARN (bad input when it is not one)."""
    match = EXECUTION_ARN.fullmatch(arn)
    if not match:
        raise ShipInputError(
            f"{arn!r} is not a pipeline execution ARN; pass "
            "arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID (deploy --start prints it)"
        )
    return match.group("region")


@dataclass
class Snapshot:
    arn: str
    status: str
    failure_reason: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def snapshot(aws: Aws, arn: str) -> Snapshot:
    """The execution's status and its steps, oldest first."""
    client = aws.client("sagemaker")
    with calling("sagemaker:DescribePipelineExecution", arn):
        described = client.describe_pipeline_execution(PipelineExecutionArn=arn)
    steps: list[dict[str, Any]] = []
    token = None
    while True:
        with calling("sagemaker:ListPipelineExecutionSteps", arn):
            page = client.list_pipeline_execution_steps(
                PipelineExecutionArn=arn, SortOrder="Ascending", **({"NextToken": token} if token else {})
            )
        steps += page.get("PipelineExecutionSteps", [])
        token = page.get("NextToken")
        if not token:
            break
    return Snapshot(
        arn,
        str(described.get("PipelineExecutionStatus", "")),
        str(described.get("FailureReason") or ""),
        steps,
    )


def _seconds(step: dict[str, Any], now: datetime) -> str:
    start, end = step.get("StartTime"), step.get("EndTime")
    if not isinstance(start, datetime):
        return ""
    return f"{int(((end if isinstance(end, datetime) else now) - start).total_seconds())} s"


def progress_lines(snap: Snapshot, now: datetime | None = None) -> list[str]:
    """One line for the execution, one per step: mark, name, status, time so far."""
    now = now or datetime.now(timezone.utc)
    lines = [f"execution {snap.arn.rsplit('/', 1)[-1]}: {snap.status}"]
    width = max((len(s.get("StepName", "")) for s in snap.steps), default=0)
    for step in snap.steps:
        status = str(step.get("StepStatus", ""))
        cached = " (cached)" if step.get("CacheHitResult") else ""
        line = f"  {MARKS.get(status, '?')} {step.get('StepName', ''):<{width}}  {status:<9}  {_seconds(step, now)}"
        lines.append((line + cached).rstrip())
    return lines


def _job_arns(metadata: dict[str, Any]) -> list[str]:
    arns = [metadata.get(k, {}).get("Arn") for k in ("ProcessingJob", "TrainingJob", "TransformJob")]
    arns += [metadata.get(k, {}).get("CheckJobArn") for k in ("ClarifyCheck", "QualityCheck")]
    return [a for a in arns if isinstance(a, str) and a]


def _streams(aws: Aws, group: str, prefix: str = "") -> list[str]:
    """Streams of ``group`` named ``prefix...`` (the latest one without a prefix); none when the group
    does not exist yet."""
    query: dict[str, Any] = {"logStreamNamePrefix": prefix}
    if not prefix:
        query = {"orderBy": "LastEventTime", "descending": True, "limit": 1}
    try:
        found = aws.client("logs").describe_log_streams(logGroupName=group, **query)
    except ClientError as err:
        if not_found(err):
            return []
        raise
    return [s["logStreamName"] for s in found.get("logStreams", [])][:MAX_STREAMS]


def _job_logs(aws: Aws, arn: str) -> list[str]:
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    if kind not in JOBS:
        return []
    group, describe, key = JOBS[kind]
    with contextlib.suppress(ClientError, BotoCoreError):  # else the ARN's (lower-cased) name
        name = str(getattr(aws.client("sagemaker"), describe)(**{key: name}).get(key) or name)
    streams = _streams(aws, group, f"{name}/")
    shown = ", ".join(streams) if streams else f"none yet under {name}/"
    return [f"    logs: {group}: {shown}"]


def _tuning_logs(aws: Aws, arn: str) -> list[str]:
    name = arn.rsplit("/", 1)[-1]
    jobs = aws.client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, StatusEquals="Failed", MaxResults=MAX_STREAMS
    )
    out = []
    for job in jobs.get("TrainingJobSummaries", []):
        out.append(f"    trial {job['TrainingJobName']}: {job.get('FailureReason', '')}".rstrip(": "))
        streams = _streams(aws, JOBS["training-job"][0], f"{job['TrainingJobName']}/")
        out.append(f"    logs: {JOBS['training-job'][0]}: {', '.join(streams) or 'none yet'}")
    return out


def _lambda_logs(aws: Aws, arn: str) -> list[str]:
    group = f"/aws/lambda/{arn.split(':')[6]}"
    latest = _streams(aws, group)
    return [f"    logs: {group}: latest stream {latest[0] if latest else '(none yet)'}"]


def log_lines(aws: Aws, step: dict[str, Any]) -> list[str]:
    """Where a step's job logged (never raises: a lookup that fails says why)."""
    metadata = step.get("Metadata", {})
    try:
        out = [line for arn in _job_arns(metadata) for line in _job_logs(aws, arn)]
        if metadata.get("TuningJob", {}).get("Arn"):
            out += _tuning_logs(aws, metadata["TuningJob"]["Arn"])
        if metadata.get("Lambda", {}).get("Arn"):
            out += _lambda_logs(aws, metadata["Lambda"]["Arn"])
    except ClientError as err:
        return [f"    logs: cannot list log streams ({error_code(err)}: {error_message(err)})"]
    except BotoCoreError as err:
        return [f"    logs: cannot list log streams ({err})"]
    return out


def failure_lines(aws: Aws, snap: Snapshot) -> list[str]:
    """Each failed step's reason and log streams; the execution's own reason if no step says one."""
    lines = []
    for step in snap.steps:
        if step.get("StepStatus") == "Failed":
            lines.append(f"✗ {step.get('StepName')}: {step.get('FailureReason') or '(no reason given)'}")
            lines += log_lines(aws, step)
    if snap.status == "Failed" and not lines:
        lines.append(f"✗ execution failed: {snap.failure_reason or '(no reason given)'}")
    return lines


def watch(
    aws: Aws,
    arn: str,
    out: TextIO,
    poll: float = 15.0,
    live: bool = False,
    sleep: Callable[[float], Any] = time.sleep,
) -> Snapshot:
    """Poll until the execution ends. ``live`` redraws the display in place (a terminal); otherwise a
    line is printed for each step whose status changed, and for the execution's when it changes."""
    seen: dict[str, str] = {}
    drawn = 0
    status = None
    while True:
        snap = snapshot(aws, arn)
        lines = progress_lines(snap)
        if live:
            out.write((f"\x1b[{drawn}F\x1b[J" if drawn else "") + "\n".join(lines) + "\n")
            drawn = len(lines)
        else:
            if status is None:
                out.write(lines[0] + "\n")
            for step, line in zip(snap.steps, lines[1:], strict=True):
                if seen.get(step.get("StepName", "")) != step.get("StepStatus"):
                    out.write(line + "\n")
                    seen[step.get("StepName", "")] = str(step.get("StepStatus"))
            if status is not None and snap.status != status:
                out.write(lines[0] + "\n")
        status = snap.status
        out.flush()
        if snap.done:
            return snap
        sleep(poll)
