"""`deploy --wait` and `status`: an execution's steps polled until it ends, then each failure's reason
and its job's CloudWatch log streams. moto has no ListPipelineExecutionSteps: SageMaker is a botocore
Stubber (requests checked against the service model), CloudWatch Logs is moto."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber
from ship.account import REGION

from lgbm_pipeline_compiler.ship import aws as ship_aws
from lgbm_pipeline_compiler.ship.watch import failure_lines, log_lines, progress_lines, snapshot, watch

ARN = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/census-ship-dev/execution/d6g1mxdt3kki"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
JOB = "pipelines-d6g1mxdt3kki-Evaluate-XyZ12abcDE"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/{JOB.lower()}"
EVALUATE_STREAM = f"{JOB}/algo-1-1796040000"
TRIAL = "d6g1mxdt3kki-Tune-abc-001-5f0c1a2b"
REASON = "AlgorithmError: See job logs for more information"


def step(name: str, status: str, start: int, end: int | None = None, **extra) -> dict:
    out = {"StepName": name, "StepStatus": status, "StartTime": T0 + timedelta(seconds=start)}
    if end is not None:
        out["EndTime"] = T0 + timedelta(seconds=end)
    return out | extra


EVALUATE_FAILED = step(
    "Evaluate", "Failed", 60, 90, FailureReason=REASON, Metadata={"ProcessingJob": {"Arn": JOB_ARN}}
)
POLLS = [
    ("Executing", [step("Preprocess", "Executing", 0)]),
    ("Executing", [step("Preprocess", "Succeeded", 0, 60), step("Evaluate", "Executing", 60)]),
    ("Failed", [step("Preprocess", "Succeeded", 0, 60), EVALUATE_FAILED]),
]


@pytest.fixture
def logs(moto_account):
    """The streams the failed jobs wrote (moto's CloudWatch Logs)."""
    client = boto3.client("logs", region_name=REGION)
    for group, stream in [
        ("/aws/sagemaker/ProcessingJobs", EVALUATE_STREAM),
        ("/aws/sagemaker/ProcessingJobs", "pipelines-other-Preprocess-aaaaaaaaaa/algo-1-1796040000"),
        ("/aws/sagemaker/TrainingJobs", f"{TRIAL}/algo-1-1796040100"),
    ]:
        if not client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            client.create_log_group(logGroupName=group)
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    return client


@pytest.fixture
def stubbed(logs):
    """(Aws whose SageMaker client is a Stubber, the Stubber)."""
    aws = ship_aws.connect(REGION, boto3.Session(region_name=REGION))
    stubber = Stubber(aws.client("sagemaker"))
    yield aws, stubber
    stubber.deactivate()


def add_poll(stubber: Stubber, status: str, steps: list[dict], reason: str = "") -> None:
    described = {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": status}
    if reason:
        described["FailureReason"] = reason
    stubber.add_response("describe_pipeline_execution", described, {"PipelineExecutionArn": ARN})
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": steps},
        {"PipelineExecutionArn": ARN, "SortOrder": "Ascending"},
    )


def add_describe_evaluate(stubber: Stubber) -> None:
    stubber.add_response(
        "describe_processing_job",
        {
            "ProcessingJobName": JOB,
            "ProcessingJobArn": JOB_ARN,
            "ProcessingJobStatus": "Failed",
            "CreationTime": T0,
            "AppSpecification": {
                "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn"
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
        },
        {"ProcessingJobName": JOB.lower()},
    )


RUNNING = re.compile(r"^  ▶ (\w+) +Executing  \d+ s$")


def test_watch_prints_each_step_change_until_the_execution_ends(stubbed):
    aws, stubber = stubbed
    for status, steps in POLLS:
        add_poll(stubber, status, steps)
    add_describe_evaluate(stubber)
    stubber.activate()
    out, slept = io.StringIO(), []

    final = watch(aws, ARN, out, poll=20.0, live=False, sleep=slept.append)
    failures = failure_lines(aws, final)

    stubber.assert_no_pending_responses()
    assert slept == [20.0, 20.0]
    lines = out.getvalue().splitlines()
    assert lines[0] == "execution d6g1mxdt3kki: Executing"
    assert RUNNING.match(lines[1]).group(1) == "Preprocess"
    assert lines[2] == "  ✓ Preprocess  Succeeded  60 s"
    assert RUNNING.match(lines[3]).group(1) == "Evaluate"
    assert lines[4:] == ["  ✗ Evaluate    Failed     30 s", "execution d6g1mxdt3kki: Failed"]
    assert failures == [
        f"✗ Evaluate: {REASON}",
        f"    logs: /aws/sagemaker/ProcessingJobs: {EVALUATE_STREAM}",
    ]


def test_live_display_redraws_in_place(stubbed):
    aws, stubber = stubbed
    for status, steps in POLLS:
        add_poll(stubber, status, steps)
    stubber.activate()
    out = io.StringIO()

    watch(aws, ARN, out, poll=1.0, live=True, sleep=lambda _: None)

    frames = out.getvalue().split("\x1b[")
    assert frames[0].startswith("execution d6g1mxdt3kki: Executing\n")
    # each later frame moves up over the previous one (2, then 3 lines) and clears to the end
    assert frames[1].startswith("2F") and frames[2].startswith("J") and frames[3].startswith("3F")
    assert frames[-1] == (
        "Jexecution d6g1mxdt3kki: Failed\n  ✓ Preprocess  Succeeded  60 s\n  ✗ Evaluate    Failed     30 s\n"
    )


def test_status_shows_a_failed_tuning_trials_reason_and_logs(stubbed, monkeypatch, capsys):
    from lgbm_pipeline_compiler.cli import main

    aws, stubber = stubbed
    tuning_arn = f"arn:aws:sagemaker:{REGION}:123456789012:hyper-parameter-tuning-job/d6g1mxdt3kki-tune-abc"
    add_poll(
        stubber,
        "Failed",
        [
            step("Preprocess", "Succeeded", 0, 60),
            step(
                "Tune",
                "Failed",
                60,
                600,
                FailureReason="No training job succeeded after 5 attempts.",
                Metadata={"TuningJob": {"Arn": tuning_arn}},
            ),
        ],
        reason="Step failure: One or multiple steps failed.",
    )
    stubber.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": TRIAL,
                    "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{TRIAL.lower()}",
                    "CreationTime": T0,
                    "TrainingJobStatus": "Failed",
                    "TunedHyperParameters": {"n_estimators": "12"},
                    "FailureReason": "AlgorithmError: ExecuteUserScriptError",
                }
            ]
        },
        {"HyperParameterTuningJobName": "d6g1mxdt3kki-tune-abc", "StatusEquals": "Failed", "MaxResults": 5},
    )
    stubber.activate()
    monkeypatch.setattr(ship_aws, "connect", lambda region, session=None, strict=True: aws)

    code = main(["status", ARN])

    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "execution d6g1mxdt3kki: Failed",
        "  ✓ Preprocess  Succeeded  60 s",
        "  ✗ Tune        Failed     540 s",
        "✗ Tune: No training job succeeded after 5 attempts.",
        f"    trial {TRIAL}: AlgorithmError: ExecuteUserScriptError",
        f"    logs: /aws/sagemaker/TrainingJobs: {TRIAL}/algo-1-1796040100",
    ]
    stubber.assert_no_pending_responses()


def test_a_failed_lambda_step_points_at_the_latest_stream_of_the_function(logs, moto_account):
    function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:lgbm-deploy-endpoint"
    aws = ship_aws.connect(REGION, boto3.Session(region_name=REGION))
    deploy_step = {
        "StepName": "Deploy",
        "StepStatus": "Failed",
        "Metadata": {"Lambda": {"Arn": function_arn}},
    }
    assert log_lines(aws, deploy_step) == [
        "    logs: /aws/lambda/lgbm-deploy-endpoint: latest stream (none yet)"
    ]
    logs.create_log_group(logGroupName="/aws/lambda/lgbm-deploy-endpoint")
    logs.create_log_stream(
        logGroupName="/aws/lambda/lgbm-deploy-endpoint", logStreamName="2026/11/30/[$LATEST]0a1b"
    )
    logs.put_log_events(
        logGroupName="/aws/lambda/lgbm-deploy-endpoint",
        logStreamName="2026/11/30/[$LATEST]0a1b",
        logEvents=[{"timestamp": 1796040000000, "message": "DeployError"}],
    )
    assert log_lines(aws, deploy_step) == [
        "    logs: /aws/lambda/lgbm-deploy-endpoint: latest stream 2026/11/30/[$LATEST]0a1b"
    ]


def test_an_execution_that_failed_before_any_step_says_why(stubbed):
    aws, stubber = stubbed
    add_poll(stubber, "Failed", [], reason="Pipeline execution failed: role cannot be assumed")
    stubber.activate()
    snap = snapshot(aws, ARN)
    assert progress_lines(snap) == ["execution d6g1mxdt3kki: Failed"]
    assert failure_lines(aws, snap) == [
        "✗ execution failed: Pipeline execution failed: role cannot be assumed"
    ]


def test_status_refuses_what_is_not_an_execution_arn(capsys):
    from lgbm_pipeline_compiler.cli import main

    code = main(["status", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/census-ship-dev"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/census-ship-dev: error: "
        "'arn:aws:sagemaker:us-east-1:123456789012:pipeline/census-ship-dev' is not a pipeline execution ARN; "
        "pass arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID (deploy --start prints it)"
    ]
