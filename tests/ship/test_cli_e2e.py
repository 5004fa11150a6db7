"""End to end: the `lgbm-pipeline` command in its own process, against moto's standalone server on
loopback through boto3's standard chain (AWS_ENDPOINT_URL), from a spec to a started execution."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import boto3
import pytest
from ship.account import BUCKET, FUNCTION, LAMBDA_ROLE, LAMBDA_TRUST, REGION, SHIP_SPEC

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

PIPELINE = "census-ship-e2e"


def lgbm_pipeline(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lgbm_pipeline_compiler.cli", *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )


@pytest.fixture
def server_account(moto_env, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name=REGION)  # the server, through AWS_ENDPOINT_URL
    s3 = session.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    iam = session.client("iam")
    if LAMBDA_ROLE not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    return session


def test_deploy_start_first_run_then_plan_says_no_change(server_account):
    session = server_account

    deployed = lgbm_pipeline("deploy", str(SHIP_SPEC), "--var", "env=e2e", "--start", "--first-run")

    assert deployed.returncode == 0, deployed.stderr
    err = deployed.stderr.splitlines()
    assert "uploaded 15 artifact(s), 0 already in S3" in err
    assert f"created pipeline {PIPELINE}" in err
    assert err[-1].startswith("started execution (RegisterNewModelBiasBaseline=true, ")
    arn = deployed.stdout.strip()
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/")

    sm = session.client("sagemaker")
    parameters = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "RegisterNewModelBiasBaseline": "true",
        "RegisterNewModelExplainabilityBaseline": "true",
        "SkipModelBiasCheck": "true",
        "SkipModelExplainabilityCheck": "true",
    }
    definition = json.loads(sm.describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"])
    assert "s3://ship-test-artifacts/census/e2e" in json.dumps(definition)
    s3 = session.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="census/e2e/artifacts/")["Contents"]]
    assert len(keys) == 15
    for key in keys:  # content-addressed: a file's key holds its hash (a bundle's, the listing's)
        got = s3.get_object(Bucket=BUCKET, Key=key)
        digest = hashlib.sha256(got["Body"].read()).hexdigest()
        assert got["Metadata"] == {"sha256": digest}
        assert key.split("/")[3] == digest or key.split("/")[4] == "lib"
    function = session.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert (function["Timeout"], function["MemorySize"], function["Handler"]) == (
        120,
        256,
        "deploy_endpoint.lambda_handler",
    )

    planned = lgbm_pipeline("plan", str(SHIP_SPEC), "--var", "env=e2e")

    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[-1] == "no change"
    assert "uploads: 0 of 15 artifacts" in planned.stdout
