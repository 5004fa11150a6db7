"""`deploy` against moto: the exact requests of a first deploy, a no-op deploy, a changed step
script, a changed handler, changed tags and function settings, and a started execution."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import zipfile
from datetime import datetime, timezone

import pytest
from ship.account import BUCKET, FUNCTION, HANDLER_EDIT, LAMBDA_ROLE, PIPELINE, REGION, SHIP_SPEC

from lgbm_pipeline_compiler.ship import aws as ship_aws
from lgbm_pipeline_compiler.ship.function import handler_files, handler_zip
from lgbm_pipeline_compiler.ship.plan import apply_plan, make_plan, render_plan

pytestmark = pytest.mark.xdist_group("ship-targets")  # one worker compiles the ship spec's variants


def deploy(aws, target) -> list[str]:
    """One `deploy` as the command runs it (a fresh connection, the plan, the changes); its report."""
    said: list[str] = []
    fresh = ship_aws.connect(REGION, aws.session)
    fresh.account()
    apply_plan(fresh, make_plan(fresh, target), said.append)
    return said


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def put_request(uri: str, data: bytes) -> dict:
    bucket, key = ship_aws.s3_parts(uri)
    digest = hashlib.sha256(data).hexdigest()
    return {
        "Bucket": bucket,
        "Key": key,
        "Body": f"sha256:{digest}",
        "ChecksumSHA256": b64sha(data),
        "Metadata": {"sha256": digest},
    }


def test_first_deploy_uploads_every_artifact_and_creates_the_function_and_the_pipeline(recorded, ship_target):
    aws, rec = recorded
    artifacts = sorted(ship_target.compiled.artifacts.items())
    assert len(artifacts) == 15 and any(a.name == "deploy_endpoint.py" for _, a in artifacts)

    said = deploy(aws, ship_target)

    n = len(artifacts)
    assert rec.operations() == [
        "sts:GetCallerIdentity",
        "s3:HeadBucket",
        *["s3:HeadObject"] * n,
        "lambda:GetFunction",
        "sagemaker:DescribePipeline",
        *["s3:PutObject"] * n,
        "lambda:CreateFunction",
        "sagemaker:CreatePipeline",
    ]
    assert rec.params("s3:PutObject") == [put_request(uri, a.data) for uri, a in artifacts]
    handler = ship_target.handler()
    assert handler is not None
    code = handler_zip(handler_files(ship_target))
    (create_function,) = rec.params("lambda:CreateFunction")
    assert create_function == {
        "FunctionName": FUNCTION,
        "Code": {"ZipFile": "sha256:" + hashlib.sha256(code).hexdigest()},
        "Publish": False,
        "Role": f"arn:aws:iam::123456789012:role/{LAMBDA_ROLE}",
        "Handler": "deploy_endpoint.lambda_handler",
        "Runtime": "python3.12",
        "Timeout": 120,
        "MemorySize": 256,
        "Environment": {
            "Variables": {
                "ENDPOINT_NAME": "census-ship-dev",
                "ROLE_ARN": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
                "INSTANCE_TYPE": "ml.m5.large",
                "INSTANCE_COUNT": "1",
            }
        },
    }
    (create_pipeline,) = rec.params("sagemaker:CreatePipeline")
    assert create_pipeline == {
        "PipelineName": PIPELINE,
        "PipelineDefinition": ship_target.text,
        "PipelineDescription": "ship tests",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        "Tags": [{"Key": "environment", "Value": "dev"}, {"Key": "project", "Value": "census-income"}],
    }
    assert said == [
        f"uploaded {n} artifact(s), 0 already in S3",
        f"created function {FUNCTION}",
        f"created pipeline {PIPELINE}",
    ]

    # What AWS now holds: the reviewed bytes.
    s3 = aws.session.client("s3")
    for uri, artifact in artifacts:
        bucket, key = ship_aws.s3_parts(uri)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == artifact.data
    sm = aws.session.client("sagemaker")
    assert sm.describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"] == ship_target.text
    function = aws.session.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["CodeSha256"] == b64sha(code)
    shipped = {a.name: a.data for _, a in artifacts}
    with zipfile.ZipFile(io.BytesIO(code)) as archive:  # the handler and the modules it imports
        assert archive.namelist() == ["deploy_endpoint.py", "deploy_scaling.py", "deploy_variants.py"]
        assert {name: archive.read(name) for name in archive.namelist()} == {
            name: shipped[name] for name in archive.namelist()
        }
    assert handler_zip(handler_files(ship_target)) == code  # byte-stable: the hash compares


def test_a_second_deploy_uploads_nothing_and_reports_no_change(recorded, ship_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    said = deploy(aws, ship_target)

    n = len(ship_target.compiled.artifacts)
    assert rec.operations() == [
        "sts:GetCallerIdentity",
        "s3:HeadBucket",
        *["s3:HeadObject"] * n,
        "lambda:GetFunction",
        "sagemaker:DescribePipeline",
        "sagemaker:ListTags",
    ]
    assert said == [
        f"uploaded 0 artifact(s), {n} already in S3",
        f"function {FUNCTION}: no change",
        f"pipeline {PIPELINE}: no change",
        "no change",
    ]


def test_changing_one_step_script_uploads_one_object_and_updates_the_pipeline(
    recorded, ship_target, script_changed_target
):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    said = deploy(aws, script_changed_target)

    assert rec.changes() == ["s3:PutObject", "sagemaker:UpdatePipeline"]
    (put,) = rec.params("s3:PutObject")
    (new_uri,) = set(script_changed_target.compiled.artifacts) - set(ship_target.compiled.artifacts)
    assert new_uri.endswith("/preprocessing.py")
    assert put == put_request(new_uri, script_changed_target.compiled.artifacts[new_uri].data)
    assert rec.params("sagemaker:UpdatePipeline") == [
        {
            "PipelineName": PIPELINE,
            "PipelineDefinition": script_changed_target.text,
            "PipelineDescription": "ship tests",
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        }
    ]
    assert said[-1] == f"updated pipeline {PIPELINE}: definition"
    deployed = aws.session.client("sagemaker").describe_pipeline(PipelineName=PIPELINE)
    assert deployed["PipelineDefinition"] == script_changed_target.text


def test_changing_the_handler_updates_the_functions_code_only(recorded, ship_target, handler_changed_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    handler = handler_changed_target.handler()
    assert handler is not None and handler.data.endswith(HANDLER_EDIT)
    assert handler_changed_target.text == ship_target.text  # the definition does not name the handler
    said = deploy(aws, handler_changed_target)

    assert rec.changes() == ["s3:PutObject", "lambda:UpdateFunctionCode"]
    assert rec.params("s3:PutObject")[0]["Key"].endswith("/deploy_endpoint.py")
    assert rec.params("lambda:UpdateFunctionCode") == [
        {
            "FunctionName": FUNCTION,
            "ZipFile": "sha256:"
            + hashlib.sha256(handler_zip(handler_files(handler_changed_target))).hexdigest(),
            "Publish": False,
        }
    ]
    assert said[1:] == [f"updated function {FUNCTION}: code", f"pipeline {PIPELINE}: no change"]
    function = aws.session.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["CodeSha256"] == b64sha(handler_zip(handler_files(handler_changed_target)))
    assert (function["Timeout"], function["MemorySize"]) == (120, 256)


def _with_spec(target, **changes):
    """The target with spec values changed that the definition does not hold (tags, description,
    the function's settings), as a spec edited that way loads."""
    spec = target.spec.model_copy(deep=True)
    for path, value in changes.items():
        node = spec
        *parents, last = path.split("__")
        for name in parents:
            node = getattr(node, name)
        setattr(node, last, value)
    return dataclasses.replace(target, spec=spec)


def test_changed_tags_are_added_to_the_existing_pipeline(recorded, ship_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()
    retagged = _with_spec(ship_target, pipeline__tags={"project": "census-income", "environment": "staging"})

    plan_text = render_plan(aws, make_plan(aws, retagged))
    assert f"~ pipeline {PIPELINE}: tag environment: dev → staging" in plan_text.splitlines()
    assert rec.changes() == []
    said = deploy(aws, retagged)

    assert rec.changes() == ["sagemaker:AddTags"]
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}"
    assert rec.params("sagemaker:AddTags") == [
        {"ResourceArn": arn, "Tags": [{"Key": "environment", "Value": "staging"}]}
    ]
    assert said[-1] == f"updated pipeline {PIPELINE}: tags environment"
    tags = aws.session.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"project": "census-income", "environment": "staging"}


def test_changed_function_settings_update_only_those_settings(recorded, ship_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    said = deploy(aws, _with_spec(ship_target, deploy__function__timeout_seconds=300))

    assert rec.changes() == ["lambda:UpdateFunctionConfiguration"]
    assert rec.params("lambda:UpdateFunctionConfiguration") == [{"FunctionName": FUNCTION, "Timeout": 300}]
    assert said[1] == f"updated function {FUNCTION}: Timeout"


def test_deploy_start_first_run_and_param_pass_the_overrides(recorded, capsys):
    from lgbm_pipeline_compiler.cli import main

    aws, rec = recorded

    code = main(["deploy", str(SHIP_SPEC), "--start", "--first-run", "--param", "F1Threshold=0.7"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert rec.operations()[-2:] == ["sagemaker:CreatePipeline", "sagemaker:StartPipelineExecution"]
    assert rec.params("sagemaker:StartPipelineExecution") == [
        {
            "PipelineName": PIPELINE,
            "PipelineParameters": [
                {"Name": "F1Threshold", "Value": "0.7"},
                {"Name": "RegisterNewModelBiasBaseline", "Value": "true"},
                {"Name": "RegisterNewModelExplainabilityBaseline", "Value": "true"},
                {"Name": "SkipModelBiasCheck", "Value": "true"},
                {"Name": "SkipModelExplainabilityCheck", "Value": "true"},
            ],
        }
    ]
    arn = captured.out.strip()
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/")
    described = aws.session.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineArn"].endswith(f"pipeline/{PIPELINE}")
    assert captured.err.splitlines()[-1] == (
        "started execution (F1Threshold=0.7, RegisterNewModelBiasBaseline=true, "
        "RegisterNewModelExplainabilityBaseline=true, SkipModelBiasCheck=true, SkipModelExplainabilityCheck=true)"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "--param", "F1Treshold=0.7"], "unknown parameter(s) F1Treshold"),
        (["--start", "--param", "F1Threshold"], "--param 'F1Threshold': expected NAME=VALUE"),
        (["--param", "F1Threshold=0.7"], "add --start"),
        (["--wait"], "add --start"),
    ],
)
def test_bad_execution_arguments_change_nothing(recorded, capsys, argv, message):
    from lgbm_pipeline_compiler.cli import main

    aws, rec = recorded
    code = main(["deploy", str(SHIP_SPEC), *argv])

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert err.startswith(f"{SHIP_SPEC}: error: ")
    assert rec.operations() == []  # refused before any request


def test_the_manifest_written_by_compile_lists_the_handler(ship_target, tmp_path):
    from lgbm_pipeline_compiler.emit import manifest

    entries = manifest(ship_target.compiled)["artifacts"]
    handler = [e for e in entries if e["path"].endswith("/deploy_endpoint.py")]
    assert len(handler) == 1
    assert handler[0]["sha256"] == hashlib.sha256(ship_target.handler().data).hexdigest()
    assert handler[0]["s3_uri"] not in json.dumps(ship_target.definition)
    assert handler[0]["s3_uri"].startswith(f"s3://{BUCKET}/census/dev/artifacts/")


def test_a_new_role_and_description_update_the_pipeline(recorded, ship_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()
    other = "arn:aws:iam::123456789012:role/PipelineRunner"
    changed = dataclasses.replace(_with_spec(ship_target, pipeline__description="reviewed"), role_arn=other)

    lines = render_plan(aws, make_plan(aws, changed)).splitlines()
    assert f"~ pipeline {PIPELINE}: role → {other}" in lines
    assert f"~ pipeline {PIPELINE}: description → 'reviewed'" in lines
    said = deploy(aws, changed)

    assert rec.changes() == ["sagemaker:UpdatePipeline"]
    assert rec.params("sagemaker:UpdatePipeline") == [
        {
            "PipelineName": PIPELINE,
            "PipelineDefinition": ship_target.text,
            "PipelineDescription": "reviewed",
            "RoleArn": other,
        }
    ]
    assert said[-1] == f"updated pipeline {PIPELINE}: description, role"


def _answer(session, operation: str, parsed: dict) -> None:
    """moto has no ListPipelineExecutionSteps (and runs no steps): these two SageMaker calls are
    answered as botocore's Stubber answers (a ``before-call`` response), for this session only."""
    from botocore.awsrequest import AWSResponse

    def answer(**_):
        return AWSResponse(None, 200, {}, None), parsed

    session.events.register_first(f"before-call.sagemaker.{operation}", answer)


def test_deploy_wait_shows_the_steps_and_the_failure_then_exits_1(recorded, capsys):
    from lgbm_pipeline_compiler.cli import main

    aws, rec = recorded
    job = f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/pipelines-abc-preprocess-xyz"
    _answer(aws.session, "DescribePipelineExecution", {"PipelineExecutionStatus": "Failed"})
    _answer(
        aws.session,
        "ListPipelineExecutionSteps",
        {
            "PipelineExecutionSteps": [
                {
                    "StepName": "Preprocess",
                    "StepStatus": "Failed",
                    "StartTime": datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc),
                    "EndTime": datetime(2026, 11, 30, 12, 0, 42, tzinfo=timezone.utc),
                    "FailureReason": "ClientError: the input is empty",
                    "Metadata": {"ProcessingJob": {"Arn": job}},
                }
            ]
        },
    )

    code = main(["deploy", str(SHIP_SPEC), "--start", "--wait", "--poll", "0"])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    (started,) = rec.params("sagemaker:StartPipelineExecution")
    execution = rec.params("sagemaker:DescribePipelineExecution")[0]["PipelineExecutionArn"].rsplit("/")[-1]
    assert err[-5:] == [
        "started execution (defaults)",
        f"execution {execution}: Failed",
        "  ✗ Preprocess  Failed     42 s",
        "✗ Preprocess: ClientError: the input is empty",
        "    logs: /aws/sagemaker/ProcessingJobs: none yet under pipelines-abc-preprocess-xyz/",
    ]
    assert started == {"PipelineName": PIPELINE}
    assert rec.operations()[-5:] == [
        "sagemaker:StartPipelineExecution",
        "sagemaker:DescribePipelineExecution",
        "sagemaker:ListPipelineExecutionSteps",
        "sagemaker:DescribeProcessingJob",
        "logs:DescribeLogStreams",
    ]


def test_objects_put_by_other_tools_are_kept_when_their_bytes_match(recorded, ship_target):
    """An object without our sha256 metadata (e.g. `aws s3 cp`) is read back and hashed: the same
    bytes are kept, other bytes at a content-addressed key are replaced."""
    aws, rec = recorded
    (same_uri, same), (other_uri, other), *_ = sorted(ship_target.compiled.artifacts.items())
    s3 = aws.session.client("s3")
    s3.put_object(Bucket=BUCKET, Key=ship_aws.s3_parts(same_uri)[1], Body=same.data)
    s3.put_object(Bucket=BUCKET, Key=ship_aws.s3_parts(other_uri)[1], Body=other.data[::-1])
    rec.clear()

    plan = make_plan(aws, ship_target)
    states = {u.uri: u.state for u in plan.uploads}
    assert (states[same_uri], states[other_uri]) == ("present", "different")
    assert (
        f"  + {other_uri} ({len(other.data):,} bytes, replaces other bytes)"
        in render_plan(aws, plan).splitlines()
    )
    apply_plan(aws, plan, lambda _: None)

    put_keys = [p["Key"] for p in rec.params("s3:PutObject")]
    assert ship_aws.s3_parts(same_uri)[1] not in put_keys
    assert ship_aws.s3_parts(other_uri)[1] in put_keys
    assert len(put_keys) == len(ship_target.compiled.artifacts) - 1
    assert s3.get_object(Bucket=BUCKET, Key=ship_aws.s3_parts(other_uri)[1])["Body"].read() == other.data
