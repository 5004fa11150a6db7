"""deploy_endpoint.py deploys only Approved packages: it skips the others (the Lambda step
succeeds), deploys once approved, and takes the EventBridge approval event too.

The same handler runs against a Stubber-backed botocore client (the exact requests), moto 5 (a
SageMaker with a model registry), and the local control plane.
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber
from lgbm_pipeline_compiler.step_scripts import deploy_endpoint
from moto import mock_aws
from step_script_helpers import botocore_session

from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry

ACCOUNT = "123456789012"  # moto's default account
GROUP = "census-models"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/census-sagemaker-execution"
EVENT = {
    "model_package_arn": ARN,
    "endpoint_name": "census-endpoint",
    "role_arn": ROLE,
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "endpoint_config_name": "census-endpoint-config",
}
MODEL, CONFIG = f"{GROUP}-v1", "census-endpoint-config-v1"
NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
INFERENCE = {
    "Containers": [
        {
            "Image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ModelDataUrl": "s3://bucket/runs/x/model.tar.gz",
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}
ENVIRONMENT = {
    "ENDPOINT_NAME": "census-endpoint",
    "ROLE_ARN": ROLE,
    "INSTANCE_TYPE": "ml.m5.large",
    "INSTANCE_COUNT": "1",
    "ENDPOINT_CONFIG_NAME": "census-endpoint-config",
}


def approval_event(arn: str = ARN, status: str = "Approved") -> dict:
    """A "SageMaker Model Package State Change" event, as in the SageMaker Developer Guide
    ("Events that Amazon SageMaker sends to Amazon EventBridge", Model package state change)."""
    return {
        "version": "0",
        "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": 1,
            "ModelPackageArn": arn,
            "CreationTime": "2024-01-01T00:00:00Z",
            "InferenceSpecification": INFERENCE,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ModelApprovalStatus": status,
        },
    }


def skipped(status: str, arn: str = ARN) -> dict:
    return {
        "statusCode": 200,
        "action": "skipped",
        "status": status,
        "endpoint_name": "census-endpoint",
        "endpoint_config_name": CONFIG,
        "model_name": MODEL,
        "reason": (
            f"{arn} is {status}; approve it (lgbm-pipeline registry approve {arn} locally, or "
            "UpdateModelPackage ModelApprovalStatus=Approved in AWS) to deploy"
        ),
    }


# -- the exact requests (Stubber) ----------------------------------------------------------------


@pytest.fixture
def stubbed():
    client = botocore_session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_describe_package(stubber, status: str) -> None:
    stubber.add_response(
        "describe_model_package",
        {
            "ModelPackageName": GROUP,
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": 1,
            "ModelPackageArn": ARN,
            "CreationTime": NOW,
            "InferenceSpecification": INFERENCE,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": status,
        },
        {"ModelPackageName": ARN},
    )


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_an_unapproved_package_is_described_and_nothing_else(stubbed, status):
    client, stubber = stubbed
    expect_describe_package(stubber, status)  # any other call would fail: nothing else is queued
    assert deploy_endpoint.handle(dict(EVENT), client) == skipped(status)


def test_an_approved_package_is_deployed_with_the_same_requests_as_before(stubbed):
    client, stubber = stubbed
    expect_describe_package(stubber, "Approved")
    stubber.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/census-endpoint".',
        400,
        expected_params={"EndpointName": "census-endpoint"},
    )
    stubber.add_client_error(
        "describe_model", "ValidationException", f'Could not find model "{MODEL}".', 400,
        expected_params={"ModelName": MODEL},
    )  # fmt: skip
    stubber.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{MODEL}"},
        {"ModelName": MODEL, "PrimaryContainer": {"ModelPackageName": ARN}, "ExecutionRoleArn": ROLE},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": MODEL, "InstanceType": "ml.m5.large",
               "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}  # fmt: skip
    stubber.add_client_error(
        "describe_endpoint_config", "ValidationException", f'Could not find endpoint configuration "{CONFIG}".',
        400, expected_params={"EndpointConfigName": CONFIG},
    )  # fmt: skip
    stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{CONFIG}"},
        {"EndpointConfigName": CONFIG, "ProductionVariants": [variant]},
    )
    stubber.add_response(
        "create_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/census-endpoint"},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    result = deploy_endpoint.handle(dict(EVENT), client)
    assert (result["action"], result["status"], result["model_name"]) == ("created", "Creating", MODEL)


def test_an_unknown_package_propagates_sagemakers_error(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_model_package", "ValidationException", f"Model package {ARN} not found", 400
    )
    with pytest.raises(client.exceptions.ClientError, match="not found"):
        deploy_endpoint.handle(dict(EVENT), client)


# -- moto: skip, approve, deploy; the EventBridge path ------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        arn = client.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification=INFERENCE,
        )["ModelPackageArn"]
        assert arn == ARN
        yield client


def moto_models(client) -> list[str]:
    return [m["ModelName"] for m in client.list_models()["Models"]]


def test_lambda_skips_until_approved_then_deploys(aws):
    assert deploy_endpoint.lambda_handler(dict(EVENT), None) == skipped("PendingManualApproval")
    assert moto_models(aws) == [] and aws.list_endpoints()["Endpoints"] == []
    aws.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Approved")
    result = deploy_endpoint.lambda_handler(dict(EVENT), None)
    assert (result["action"], result["model_name"], result["endpoint_config_name"]) == (
        "created",
        MODEL,
        CONFIG,
    )
    assert aws.describe_model(ModelName=MODEL)["PrimaryContainer"]["ModelPackageName"] == ARN
    assert aws.describe_endpoint(EndpointName="census-endpoint")["EndpointConfigName"] == CONFIG


def test_lambda_deploys_from_the_eventbridge_approval_event(aws, monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    aws.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Approved")
    result = deploy_endpoint.lambda_handler(approval_event(), None)
    assert (result["action"], result["endpoint_name"], result["endpoint_config_name"]) == (
        "created",
        "census-endpoint",
        CONFIG,
    )
    variant = aws.describe_endpoint_config(EndpointConfigName=CONFIG)["ProductionVariants"][0]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        MODEL,
        "ml.m5.large",
        1,
    )


def test_an_eventbridge_event_for_a_package_not_approved_deploys_nothing(aws, monkeypatch):
    """A rule matching Rejected too: the handler asks SageMaker, not the event."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    aws.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Rejected")
    assert deploy_endpoint.lambda_handler(approval_event(status="Rejected"), None) == skipped("Rejected")
    assert moto_models(aws) == []


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (["ENDPOINT_NAME", "ROLE_ARN", "INSTANCE_TYPE", "INSTANCE_COUNT"],
         "ENDPOINT_NAME, ROLE_ARN, INSTANCE_TYPE, INSTANCE_COUNT"),
        (["ROLE_ARN"], "environment variable(s) ROLE_ARN:"),
        (["INSTANCE_COUNT", "ENDPOINT_CONFIG_NAME"], "environment variable(s) INSTANCE_COUNT:"),
    ],
)  # fmt: skip
def test_eventbridge_event_without_settings_names_the_missing_variables(monkeypatch, unset, named):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name)
    with pytest.raises(ValueError, match="invalid SageMaker Model Package State Change event") as exc:
        deploy_endpoint.lambda_handler(approval_event(), None)  # raises before any AWS client exists
    assert named in str(exc.value)


def test_eventbridge_event_without_a_package_arn(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    event = approval_event()
    del event["detail"]["ModelPackageArn"]
    with pytest.raises(ValueError, match=r"detail\.ModelPackageArn is missing"):
        deploy_endpoint.lambda_handler(event, None)


def test_eventbridge_settings_are_validated_like_the_pipeline_event():
    environ = dict(ENVIRONMENT, INSTANCE_COUNT="two")
    event = deploy_endpoint.event_from_approval(approval_event(), environ)
    assert event == dict(EVENT, instance_count="two")
    with pytest.raises(ValueError, match="instance_count must be a positive integer, got 'two'"):
        deploy_endpoint.parse_event(event)


def test_only_the_model_package_event_is_taken_for_an_approval():
    assert deploy_endpoint.is_approval_event(approval_event())
    assert not deploy_endpoint.is_approval_event(dict(EVENT))
    assert not deploy_endpoint.is_approval_event(
        dict(approval_event(), **{"detail-type": "SageMaker Model State Change"})
    )


# -- the local control plane ---------------------------------------------------------------------


@pytest.fixture
def local(tmp_path):
    registry = LocalRegistry(tmp_path, "us-east-1", ACCOUNT)
    registry.register({"ModelPackageGroupName": GROUP, "ModelApprovalStatus": "PendingManualApproval",
                       "InferenceSpecification": INFERENCE})  # fmt: skip
    return LocalSageMaker(tmp_path, registry)


def test_locally_skips_until_approved_then_deploys(local):
    assert deploy_endpoint.handle(dict(EVENT), local) == skipped("PendingManualApproval")
    assert not (local.root / "models").exists() and local.endpoints() == []
    local.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Approved")
    result = deploy_endpoint.handle(dict(EVENT), local)
    assert (result["action"], result["model_name"], result["endpoint_config_name"]) == (
        "created",
        MODEL,
        CONFIG,
    )
    assert local.endpoint_model_package("census-endpoint") == ARN


def test_locally_the_eventbridge_event_deploys_the_approved_package(local):
    local.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Approved")
    event = deploy_endpoint.event_from_approval(approval_event(), ENVIRONMENT)
    assert deploy_endpoint.handle(event, local)["action"] == "created"
    assert local.endpoint_model_package("census-endpoint") == ARN


def test_locally_a_rejected_package_stays_undeployed(local):
    local.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Rejected")
    assert deploy_endpoint.handle(dict(EVENT), local) == skipped("Rejected")
    assert local.endpoints() == []
