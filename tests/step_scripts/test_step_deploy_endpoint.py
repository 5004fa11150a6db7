"""deploy_endpoint.py: the exact SageMaker requests for create, update, retry and bad events."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from step_script_helpers import botocore_session

ACCOUNT = "123456789012"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/census-models/3"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/census-sagemaker-execution"
EVENT = {
    "model_package_arn": ARN,
    "endpoint_name": "census-endpoint",
    "role_arn": ROLE,
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "endpoint_config_name": "census-endpoint-config",
}
MODEL = "census-models-v3"
CONFIG = "census-endpoint-config-v3"
NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
VARIANT = {
    "VariantName": "AllTraffic",
    "ModelName": MODEL,
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 1,
    "InitialVariantWeight": 1.0,
}


@pytest.fixture
def stubbed():
    client = botocore_session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def arn_of(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{name}"


def expect_approved(stubber, status: str = "Approved"):
    """The handler first reads the package's approval status (it deploys only Approved ones)."""
    stubber.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "census-models",
            "ModelPackageArn": ARN,
            "ModelPackageGroupName": "census-models",
            "ModelPackageVersion": 3,
            "CreationTime": NOW,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": status,
        },
        {"ModelPackageName": ARN},
    )


def not_found(stubber, operation: str, label: str, name: str, params: dict):
    stubber.add_client_error(
        operation,
        service_error_code="ValidationException",
        service_message=f'Could not find {label} "{name}".',
        http_status_code=400,
        expected_params=params,
    )


def expect_create_model(stubber):
    """DescribeModel first (a repeated deploy sends no create), then CreateModel."""
    not_found(stubber, "describe_model", "model", arn_of("model", MODEL), {"ModelName": MODEL})
    stubber.add_response(
        "create_model",
        {"ModelArn": arn_of("model", MODEL)},
        {"ModelName": MODEL, "PrimaryContainer": {"ModelPackageName": ARN}, "ExecutionRoleArn": ROLE},
    )


def expect_create_config(stubber):
    config = arn_of("endpoint-config", CONFIG)
    not_found(
        stubber, "describe_endpoint_config", "endpoint configuration", config, {"EndpointConfigName": CONFIG}
    )
    stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": config},
        {"EndpointConfigName": CONFIG, "ProductionVariants": [VARIANT]},
    )


def endpoint(status: str, config: str) -> dict:
    return {
        "EndpointName": "census-endpoint",
        "EndpointArn": arn_of("endpoint", "census-endpoint"),
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


def expect_no_endpoint(stubber):
    not_found(
        stubber,
        "describe_endpoint",
        "endpoint",
        arn_of("endpoint", "census-endpoint"),
        {"EndpointName": "census-endpoint"},
    )


def expect_endpoint(stubber, status: str, config: str, variants: list | None = None):
    """DescribeEndpoint, then DescribeEndpointConfig of the config it runs."""
    stubber.add_response("describe_endpoint", endpoint(status, config), {"EndpointName": "census-endpoint"})
    stubber.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": config,
            "EndpointConfigArn": arn_of("endpoint-config", config),
            "ProductionVariants": variants or [dict(VARIANT, ModelName="census-models-v2")],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": config},
    )


def test_create_path(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    expect_no_endpoint(stubber)
    expect_create_model(stubber)
    expect_create_config(stubber)
    stubber.add_response(
        "create_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    assert scripts.deploy_endpoint.handle(EVENT, client) == {
        "statusCode": 200,
        "endpoint_name": "census-endpoint",
        "endpoint_config_name": CONFIG,
        "model_name": MODEL,
        "action": "created",
        "status": "Creating",
    }


def test_update_path_when_the_endpoint_exists(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    expect_endpoint(stubber, "InService", "census-endpoint-config-v2")
    expect_create_model(stubber)
    expect_create_config(stubber)
    stubber.add_response(
        "update_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    result = scripts.deploy_endpoint.handle(EVENT, client)
    assert (result["action"], result["status"], result["endpoint_config_name"]) == (
        "updated",
        "Updating",
        CONFIG,
    )


def test_retry_reuses_model_and_config_left_by_a_failed_attempt(scripts, stubbed):
    """An earlier attempt created the model and config and failed before CreateEndpoint: both are
    described, found the same, and reused; no create is sent for them."""
    client, stubber = stubbed
    expect_approved(stubber)
    expect_no_endpoint(stubber)
    stubber.add_response(
        "describe_model",
        {
            "ModelName": MODEL,
            "PrimaryContainer": {"ModelPackageName": ARN},
            "ExecutionRoleArn": ROLE,
            "CreationTime": NOW,
            "ModelArn": arn_of("model", MODEL),
        },
        {"ModelName": MODEL},
    )
    stubber.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": arn_of("endpoint-config", CONFIG),
            "ProductionVariants": [VARIANT],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": CONFIG},
    )
    stubber.add_response(
        "create_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    assert scripts.deploy_endpoint.handle(EVENT, client)["action"] == "created"


def test_create_race_compares_with_the_winner(scripts, stubbed):
    """Another invocation created the model between DescribeModel and CreateModel: compared, reused."""
    client, stubber = stubbed
    expect_approved(stubber)
    expect_no_endpoint(stubber)
    not_found(stubber, "describe_model", "model", arn_of("model", MODEL), {"ModelName": MODEL})
    stubber.add_client_error(
        "create_model",
        service_error_code="ValidationException",
        service_message=f'Cannot create already existing model "{arn_of("model", MODEL)}".',
        http_status_code=400,
    )
    stubber.add_response(
        "describe_model",
        {
            "ModelName": MODEL,
            "PrimaryContainer": {"ModelPackageName": ARN},
            "ExecutionRoleArn": ROLE,
            "CreationTime": NOW,
            "ModelArn": arn_of("model", MODEL),
        },
        {"ModelName": MODEL},
    )
    expect_create_config(stubber)
    stubber.add_response(
        "create_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    assert scripts.deploy_endpoint.handle(EVENT, client)["action"] == "created"


def test_retry_after_the_endpoint_call_went_through(scripts, stubbed):
    """The previous attempt already started the update: report it, send no second update."""
    client, stubber = stubbed
    expect_approved(stubber)
    expect_endpoint(stubber, "Updating", CONFIG, [VARIANT])
    stubber.add_response(
        "describe_model",
        {"ModelName": MODEL, "PrimaryContainer": {"ModelPackageName": ARN}, "ExecutionRoleArn": ROLE,
         "CreationTime": NOW, "ModelArn": arn_of("model", MODEL)},
        {"ModelName": MODEL},
    )  # fmt: skip
    stubber.add_response(
        "describe_endpoint_config",
        {"EndpointConfigName": CONFIG, "EndpointConfigArn": arn_of("endpoint-config", CONFIG),
         "ProductionVariants": [VARIANT], "CreationTime": NOW},
        {"EndpointConfigName": CONFIG},
    )  # fmt: skip
    result = scripts.deploy_endpoint.handle(EVENT, client)
    assert (result["action"], result["status"]) == ("updated", "Updating")


def test_endpoint_mid_update_is_reported_clearly(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    expect_endpoint(stubber, "Updating", "census-endpoint-config-v2")
    expect_create_model(stubber)
    expect_create_config(stubber)
    with pytest.raises(
        scripts.deploy_endpoint.DeployError, match="is Updating .* retry when it is InService"
    ):
        scripts.deploy_endpoint.handle(EVENT, client)


def test_failed_endpoint_is_reported_clearly(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    failed = dict(endpoint("Failed", "census-endpoint-config-v2"), FailureReason="image pull failed")
    stubber.add_response("describe_endpoint", failed, {"EndpointName": "census-endpoint"})
    stubber.add_response(
        "describe_endpoint_config",
        {"EndpointConfigName": "census-endpoint-config-v2", "EndpointConfigArn": arn_of("endpoint-config", "x"),
         "ProductionVariants": [VARIANT], "CreationTime": NOW},
        {"EndpointConfigName": "census-endpoint-config-v2"},
    )  # fmt: skip
    expect_create_model(stubber)
    expect_create_config(stubber)
    with pytest.raises(scripts.deploy_endpoint.DeployError, match="is Failed: image pull failed"):
        scripts.deploy_endpoint.handle(EVENT, client)


def test_same_named_model_for_another_package_is_an_error(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    expect_no_endpoint(stubber)
    other = ARN.replace("/3", "/33")
    stubber.add_response(
        "describe_model",
        {
            "ModelName": MODEL,
            "PrimaryContainer": {"ModelPackageName": other},
            "ExecutionRoleArn": ROLE,
            "CreationTime": NOW,
            "ModelArn": arn_of("model", MODEL),
        },
        {"ModelName": MODEL},
    )
    with pytest.raises(scripts.deploy_endpoint.DeployError, match="already exists but serves"):
        scripts.deploy_endpoint.handle(EVENT, client)


def test_other_aws_errors_propagate(scripts, stubbed):
    client, stubber = stubbed
    expect_approved(stubber)
    expect_no_endpoint(stubber)
    stubber.add_client_error(
        "describe_model",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=403,
    )
    with pytest.raises(client.exceptions.ClientError, match="not allowed"):
        scripts.deploy_endpoint.handle(EVENT, client)


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        ({"model_package_arn": None, "role_arn": ""}, ["missing key(s): model_package_arn, role_arn"]),
        ({"instance_count": 0}, ["instance_count must be a positive integer, got 0"]),
        ({"instance_count": "two"}, ["instance_count must be a positive integer, got 'two'"]),
        ({"instance_count": True}, ["instance_count must be a positive integer, got True"]),
        ({"model_package_arn": ARN.rsplit("/", 1)[0]}, ["is not a versioned model package ARN"]),
        (
            {"role_arn": "census-role", "instance_type": "m5.large", "endpoint_name": "census_endpoint"},
            ["is not an IAM role ARN", "is not a SageMaker instance type", "endpoint_name 'census_endpoint'"],
        ),
    ],
)
def test_bad_event_lists_every_problem_and_calls_nothing(scripts, stubbed, change, messages):
    client, _ = stubbed  # no responses queued: any AWS call would fail the test
    event = {**EVENT, **change}
    with pytest.raises(ValueError, match="invalid deploy event") as exc:
        scripts.deploy_endpoint.handle(event, client)
    for message in messages:
        assert message in str(exc.value)


def test_event_must_be_an_object(scripts):
    with pytest.raises(ValueError, match="event must be a JSON object"):
        scripts.deploy_endpoint.parse_event(["not", "a", "dict"])


def test_instance_count_may_arrive_as_a_string(scripts):
    plan = scripts.deploy_endpoint.parse_event({**EVENT, "instance_count": "2", "endpoint_config_name": None})
    assert plan["instance_count"] == 2
    assert plan["endpoint_config_name"] == "census-endpoint-v3"  # prefix defaults to the endpoint name


@pytest.mark.parametrize(
    "prefix",
    ["census", "census_endpoint config", "-x-", "a" * 80, "b" * 61, "prefix!" * 12, "é"],
)
@pytest.mark.parametrize("version", [1, 3, 12345])
def test_names_follow_sagemaker_rules(scripts, prefix, version):
    name = scripts.deploy_endpoint.sagemaker_name(prefix, version)
    assert len(name) <= 63
    assert scripts.deploy_endpoint.NAME_RE.match(name), name
    assert name.endswith(f"-v{version}")


def test_long_names_stay_distinct(scripts):
    name = scripts.deploy_endpoint.sagemaker_name
    assert name("a" * 70 + "x", 3) != name("a" * 70 + "y", 3)
    assert name("census-endpoint-config", 3) == "census-endpoint-config-v3"


def test_lambda_handler_against_moto(scripts, monkeypatch):
    """The Lambda entry point builds its own client (region from the environment) and creates."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        sm.create_model_package_group(ModelPackageGroupName="census-models")
        arn = sm.create_model_package(
            ModelPackageGroupName="census-models",
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {"Image": "111.dkr.ecr.us-east-1.amazonaws.com/x:1", "ModelDataUrl": "s3://b/m.tar.gz"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        result = scripts.deploy_endpoint.lambda_handler({**EVENT, "model_package_arn": arn}, None)
        model = sm.describe_model(ModelName="census-models-v1")
        config = sm.describe_endpoint_config(EndpointConfigName="census-endpoint-config-v1")
        live = sm.describe_endpoint(EndpointName="census-endpoint")
    assert result["action"] == "created"
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert model["ExecutionRoleArn"] == ROLE
    assert config["ProductionVariants"][0]["ModelName"] == "census-models-v1"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert live["EndpointConfigName"] == "census-endpoint-config-v1"
