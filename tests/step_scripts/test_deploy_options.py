"""The deploy Lambda's endpoint options: the exact SageMaker and Application Auto Scaling requests
(botocore Stubber: any request not queued fails the test), and idempotency (a repeated invocation
sends no create, update, register or put request)."""

from __future__ import annotations

import datetime

import pytest
from botocore.stub import Stubber
from lgbm_pipeline_compiler.step_scripts import deploy_endpoint, deploy_scaling
from step_script_helpers import botocore_session

ACCOUNT = "123456789012"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/census-models/3"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/census-sagemaker-execution"
NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
MODEL, OLD_MODEL = "census-models-v3", "census-models-v2"
CONFIG, OLD_CONFIG = "census-endpoint-v3", "census-endpoint-v2"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": "s3://bucket/census/data-capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}
SCALING = {"min_instances": 1, "max_instances": 4, "metric": "SageMakerVariantInvocationsPerInstance",
           "target_value": 70.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60}  # fmt: skip
EVENT = {
    "model_package_arn": ARN,
    "endpoint_name": "census-endpoint",
    "role_arn": ROLE,
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "data_capture_config": CAPTURE,
    "variants": {"name": "challenger", "weight": 0.2, "keep_current": {"name": "champion", "weight": 0.8}},
    "autoscaling": SCALING,
}
OLD_VARIANT = {"VariantName": "AllTraffic", "ModelName": OLD_MODEL, "InstanceType": "ml.m5.large",
               "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}  # fmt: skip
CHAMPION = dict(OLD_VARIANT, VariantName="champion", InitialVariantWeight=0.8)
CHALLENGER = {"VariantName": "challenger", "ModelName": MODEL, "InstanceType": "ml.m5.large",
              "InitialInstanceCount": 1, "InitialVariantWeight": 0.2}  # fmt: skip
POLICY = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    "ScaleInCooldown": 300,
    "ScaleOutCooldown": 60,
}
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _client(service: str):
    return botocore_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def clients():
    sm, aas = _client("sagemaker"), _client("application-autoscaling")
    with Stubber(sm) as sm_stub, Stubber(aas) as aas_stub:
        yield sm, sm_stub, aas, aas_stub
        sm_stub.assert_no_pending_responses()
        aas_stub.assert_no_pending_responses()


def arn_of(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{name}"


def missing(stub, operation: str, label: str, params: dict) -> None:
    name = next(iter(params.values()))
    stub.add_client_error(
        operation, "ValidationException", f'Could not find {label} "{name}".', 400, expected_params=params
    )


def approved(stub) -> None:
    stub.add_response(
        "describe_model_package",
        {"ModelPackageName": "census-models", "ModelPackageArn": ARN, "ModelPackageGroupName": "census-models",
         "ModelPackageVersion": 3, "CreationTime": NOW, "ModelPackageStatus": "Completed",
         "ModelPackageStatusDetails": {"ValidationStatuses": []}, "ModelApprovalStatus": "Approved"},
        {"ModelPackageName": ARN},
    )  # fmt: skip


def endpoint(stub, status: str, config: str) -> None:
    stub.add_response(
        "describe_endpoint",
        {"EndpointName": "census-endpoint", "EndpointArn": arn_of("endpoint", "census-endpoint"),
         "EndpointConfigName": config, "EndpointStatus": status, "CreationTime": NOW, "LastModifiedTime": NOW},
        {"EndpointName": "census-endpoint"},
    )  # fmt: skip


def config(stub, name: str, variants: list, capture: dict | None = None) -> None:
    answer = {"EndpointConfigName": name, "EndpointConfigArn": arn_of("endpoint-config", name),
              "ProductionVariants": variants, "CreationTime": NOW}  # fmt: skip
    if capture:
        answer["DataCaptureConfig"] = capture
    stub.add_response("describe_endpoint_config", answer, {"EndpointConfigName": name})


def model_exists(stub) -> None:
    stub.add_response(
        "describe_model",
        {"ModelName": MODEL, "PrimaryContainer": {"ModelPackageName": ARN}, "ExecutionRoleArn": ROLE,
         "CreationTime": NOW, "ModelArn": arn_of("model", MODEL)},
        {"ModelName": MODEL},
    )  # fmt: skip


def create_model(stub) -> None:
    missing(stub, "describe_model", "model", {"ModelName": MODEL})
    stub.add_response(
        "create_model",
        {"ModelArn": arn_of("model", MODEL)},
        {"ModelName": MODEL, "PrimaryContainer": {"ModelPackageName": ARN}, "ExecutionRoleArn": ROLE},
    )


def targets(stub, variant: str, found: list) -> None:
    stub.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": found},
        {"ServiceNamespace": "sagemaker", "ResourceIds": [f"endpoint/census-endpoint/variant/{variant}"],
         "ScalableDimension": DIMENSION},
    )  # fmt: skip


def target(variant: str, low: int = 1, high: int = 4) -> dict:
    return {"ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/census-endpoint/variant/{variant}",
            "ScalableDimension": DIMENSION, "MinCapacity": low, "MaxCapacity": high,
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/x", "CreationTime": NOW}  # fmt: skip


def policies(stub, variant: str, found: list) -> None:
    stub.add_response(
        "describe_scaling_policies",
        {"ScalingPolicies": found},
        {"ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/census-endpoint/variant/{variant}",
         "ScalableDimension": DIMENSION, "PolicyNames": ["lgbm-pipeline-target-tracking"]},
    )  # fmt: skip


def policy(variant: str) -> dict:
    return {"PolicyARN": f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:scalingPolicy:x", "CreationTime": NOW,
            "PolicyName": "lgbm-pipeline-target-tracking", "ServiceNamespace": "sagemaker",
            "ResourceId": f"endpoint/census-endpoint/variant/{variant}", "ScalableDimension": DIMENSION,
            "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": POLICY}  # fmt: skip


def register(stub, variant: str) -> None:
    rid = f"endpoint/census-endpoint/variant/{variant}"
    stub.add_response(
        "register_scalable_target",
        {"ScalableTargetARN": "arn:x"},
        {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": DIMENSION,
         "MinCapacity": 1, "MaxCapacity": 4},
    )  # fmt: skip
    policies(stub, variant, [])
    stub.add_response(
        "put_scaling_policy",
        {"PolicyARN": "arn:p", "Alarms": []},
        {"PolicyName": "lgbm-pipeline-target-tracking", "ServiceNamespace": "sagemaker", "ResourceId": rid,
         "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
         "TargetTrackingScalingPolicyConfiguration": POLICY},
    )  # fmt: skip


def test_ab_update_with_capture_keeps_the_current_variant_and_releases_its_scaling(clients):
    """The endpoint serves v2 as AllTraffic (autoscaled): the new config keeps it as champion beside
    the challenger, with data capture; AllTraffic disappears, so its scalable target is deregistered
    before UpdateEndpoint; the endpoint is Updating, so autoscaling is pending."""
    sm, sm_stub, aas, aas_stub = clients
    approved(sm_stub)
    endpoint(sm_stub, "InService", OLD_CONFIG)
    config(sm_stub, OLD_CONFIG, [OLD_VARIANT])
    create_model(sm_stub)
    missing(sm_stub, "describe_endpoint_config", "endpoint configuration", {"EndpointConfigName": CONFIG})
    sm_stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": arn_of("endpoint-config", CONFIG)},
        {
            "EndpointConfigName": CONFIG,
            "ProductionVariants": [CHAMPION, CHALLENGER],
            "DataCaptureConfig": CAPTURE,
        },
    )
    targets(aas_stub, "AllTraffic", [target("AllTraffic")])
    aas_stub.add_response(
        "deregister_scalable_target",
        {},
        {"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/census-endpoint/variant/AllTraffic",
         "ScalableDimension": DIMENSION},
    )  # fmt: skip
    sm_stub.add_response(
        "update_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    endpoint(sm_stub, "Updating", CONFIG)
    result = deploy_endpoint.handle(dict(EVENT), sm, aas)
    assert (result["action"], result["status"], result["autoscaling"]) == ("updated", "Updating", "pending")


def test_in_service_endpoint_gets_its_autoscaling_then_a_repeat_changes_nothing(clients):
    """Invoked again once the endpoint is InService on the new config: nothing is created or
    updated, each variant is registered and given its policy; a third invocation sends only reads."""
    sm, sm_stub, aas, aas_stub = clients
    for repeat in (False, True):
        approved(sm_stub)
        endpoint(sm_stub, "InService", CONFIG)
        config(sm_stub, CONFIG, [CHAMPION, CHALLENGER], CAPTURE)  # the config it runs
        model_exists(sm_stub)
        config(sm_stub, CONFIG, [CHAMPION, CHALLENGER], CAPTURE)  # the one it would create: the same
        endpoint(sm_stub, "InService", CONFIG)
        for variant in ("champion", "challenger"):
            if repeat:
                targets(aas_stub, variant, [target(variant)])
                policies(aas_stub, variant, [policy(variant)])
            else:
                targets(aas_stub, variant, [])
                register(aas_stub, variant)
        result = deploy_endpoint.handle(dict(EVENT), sm, aas)
        assert (result["action"], result["status"]) == ("updated", "InService")
        assert result["autoscaling"] == ("unchanged" if repeat else "applied")


def test_a_changed_range_or_policy_is_put_again(clients):
    sm, sm_stub, aas, aas_stub = clients
    endpoint(sm_stub, "InService", CONFIG)
    targets(aas_stub, "challenger", [target("challenger", 1, 2)])
    register(aas_stub, "challenger")
    plan = {"endpoint_name": "census-endpoint", "endpoint_config_name": CONFIG, "autoscaling": SCALING}
    assert deploy_scaling.ensure(aas, sm, plan, ["challenger"]) == "applied"


def test_polls_until_the_endpoint_is_in_service_within_the_budget(clients):
    sm, sm_stub, aas, aas_stub = clients
    endpoint(sm_stub, "Creating", CONFIG)
    endpoint(sm_stub, "Creating", CONFIG)
    endpoint(sm_stub, "InService", CONFIG)
    targets(aas_stub, "challenger", [target("challenger")])
    policies(aas_stub, "challenger", [policy("challenger")])
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    plan = {"endpoint_name": "census-endpoint", "endpoint_config_name": CONFIG, "autoscaling": SCALING}
    status = deploy_scaling.ensure(aas, sm, plan, ["challenger"], 60.0, sleep, lambda: now[0])
    assert (status, slept) == ("unchanged", [20, 20])


def test_gives_up_polling_when_the_budget_is_spent(clients):
    sm, sm_stub, aas, _ = clients
    endpoint(sm_stub, "Creating", CONFIG)
    endpoint(sm_stub, "Creating", CONFIG)
    now = [0.0]
    plan = {"endpoint_name": "census-endpoint", "endpoint_config_name": CONFIG, "autoscaling": SCALING}
    status = deploy_scaling.ensure(
        aas, sm, plan, ["challenger"], 30.0, lambda s: now.__setitem__(0, now[0] + s), lambda: now[0]
    )
    assert status == "pending"


SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
SERVERLESS_EVENT = {"model_package_arn": ARN, "endpoint_name": "census-endpoint", "role_arn": ROLE,
                    "serverless_config": SERVERLESS}  # fmt: skip


def test_serverless_endpoint_is_created_with_its_serverless_config(clients):
    sm, sm_stub, _, _ = clients
    approved(sm_stub)
    missing(sm_stub, "describe_endpoint", "endpoint", {"EndpointName": "census-endpoint"})
    create_model(sm_stub)
    missing(sm_stub, "describe_endpoint_config", "endpoint configuration", {"EndpointConfigName": CONFIG})
    variant = {"VariantName": "AllTraffic", "ModelName": MODEL, "ServerlessConfig": SERVERLESS,
               "InitialVariantWeight": 1.0}  # fmt: skip
    sm_stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": arn_of("endpoint-config", CONFIG)},
        {"EndpointConfigName": CONFIG, "ProductionVariants": [variant]},
    )
    sm_stub.add_response(
        "create_endpoint",
        {"EndpointArn": arn_of("endpoint", "census-endpoint")},
        {"EndpointName": "census-endpoint", "EndpointConfigName": CONFIG},
    )
    result = deploy_endpoint.handle(dict(SERVERLESS_EVENT), sm)
    assert (result["action"], "autoscaling" in result) == ("created", False)


def test_an_instance_endpoint_is_not_converted_to_serverless(clients):
    """SageMaker refuses it ("You cannot convert your instance-based, real-time endpoint to a
    serverless endpoint"): refused before anything is created."""
    sm, sm_stub, _, _ = clients
    approved(sm_stub)
    endpoint(sm_stub, "InService", OLD_CONFIG)
    config(sm_stub, OLD_CONFIG, [OLD_VARIANT])
    with pytest.raises(deploy_endpoint.DeployError, match="cannot convert an instance-based endpoint"):
        deploy_endpoint.handle(dict(SERVERLESS_EVENT), sm)


def test_keep_current_needs_to_know_which_variant(clients):
    sm, sm_stub, aas, _ = clients
    approved(sm_stub)
    endpoint(sm_stub, "InService", OLD_CONFIG)
    config(sm_stub, OLD_CONFIG, [OLD_VARIANT, dict(OLD_VARIANT, VariantName="b")])
    create_model(sm_stub)
    with pytest.raises(deploy_endpoint.DeployError, match=r"none is named 'champion'"):
        deploy_endpoint.handle(dict(EVENT), sm, aas)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variants": {"name": "a", "weight": 0}}, "variants.weight must be a number > 0"),
        ({"variants": {"name": "a", "keep_current": {"name": "b"}}}, "keep_current must be an object"),
        ({"autoscaling": dict(SCALING, min_instances=5)}, "1 <= min_instances <= max_instances"),
        ({"autoscaling": dict(SCALING, metric="CPU")}, "autoscaling.metric must be one of"),
        ({"serverless_config": SERVERLESS}, "a serverless endpoint takes no instance_type or instance_count"),
        ({"data_capture_config": {"EnableCapture": True}}, "data_capture_config must be an object with"),
    ],
)
def test_bad_options_are_refused_before_any_call(clients, change, message):
    sm, _, aas, _ = clients
    with pytest.raises(ValueError, match="invalid deploy event") as exc:
        deploy_endpoint.handle({**EVENT, **change}, sm, aas)
    assert message in str(exc.value)


def test_autoscaling_without_a_scaling_client_fails_loudly(clients):
    sm, _, _, _ = clients
    with pytest.raises(deploy_endpoint.DeployError, match="no Application Auto Scaling client"):
        deploy_endpoint.handle(dict(EVENT), sm)


def test_the_approval_path_reads_the_options_from_the_environment():
    environ = {
        "ENDPOINT_NAME": "census-endpoint",
        "ROLE_ARN": ROLE,
        "SERVERLESS_CONFIG": '{"MemorySizeInMB": 2048, "MaxConcurrency": 5}',
    }
    event = {"detail-type": deploy_endpoint.APPROVAL_EVENT, "detail": {"ModelPackageArn": ARN}}
    assert deploy_endpoint.event_from_approval(event, environ) == {
        "endpoint_name": "census-endpoint", "role_arn": ROLE, "serverless_config": SERVERLESS, "model_package_arn": ARN,
    }  # fmt: skip
    with pytest.raises(ValueError, match="AUTOSCALING is not JSON"):
        deploy_endpoint.event_from_approval(event, {**environ, "AUTOSCALING": "{min"})


def test_an_endpoint_in_service_event_applies_the_environments_autoscaling(clients):
    sm, sm_stub, aas, aas_stub = clients
    endpoint(sm_stub, "InService", CONFIG)
    config(sm_stub, CONFIG, [CHALLENGER])
    endpoint(sm_stub, "InService", CONFIG)
    targets(aas_stub, "challenger", [])
    register(aas_stub, "challenger")
    event = {"detail-type": deploy_endpoint.ENDPOINT_EVENT,
             "detail": {"EndpointName": "census-endpoint", "EndpointStatus": "IN_SERVICE"}}  # fmt: skip
    environ = {"ENDPOINT_NAME": "census-endpoint", "AUTOSCALING": '{"min_instances": 1, "max_instances": 4, '
               '"target_value": 70.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60}'}  # fmt: skip
    assert deploy_endpoint.handle_endpoint_event(event, environ, sm, aas)["autoscaling"] == "applied"
    other = {**event, "detail": {"EndpointName": "someone-elses"}}
    assert deploy_endpoint.handle_endpoint_event(other, environ, sm, aas)["action"] == "ignored"


def test_a_retry_during_the_update_it_started_sends_nothing(clients):
    """DescribeEndpoint names the old config while updating and the new one in
    PendingDeploymentSummary: the update already under way is reported, not repeated; the
    autoscaling waits (pending)."""
    sm, sm_stub, aas, _ = clients
    updating = {"EndpointName": "census-endpoint", "EndpointArn": arn_of("endpoint", "census-endpoint"),
                "EndpointConfigName": OLD_CONFIG, "EndpointStatus": "Updating", "CreationTime": NOW,
                "LastModifiedTime": NOW, "PendingDeploymentSummary": {"EndpointConfigName": CONFIG}}  # fmt: skip
    approved(sm_stub)
    sm_stub.add_response("describe_endpoint", updating, {"EndpointName": "census-endpoint"})
    config(sm_stub, OLD_CONFIG, [OLD_VARIANT])
    model_exists(sm_stub)
    config(sm_stub, CONFIG, [CHAMPION, CHALLENGER], CAPTURE)
    sm_stub.add_response("describe_endpoint", updating, {"EndpointName": "census-endpoint"})
    result = deploy_endpoint.handle(dict(EVENT), sm, aas)
    assert (result["action"], result["status"], result["autoscaling"]) == ("updated", "Updating", "pending")


def test_lambda_handler_against_moto_creates_and_autoscales(monkeypatch):
    """The Lambda entry point end to end on moto: real boto3 clients (region from the environment),
    the endpoint config with data capture, and the autoscaling registered once moto's endpoint is
    InService; a second invocation leaves everything as it was."""
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)

    class Context:  # Lambda's context: 31 s left, so at most 1 s of polling
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 31_000

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
        event = {**EVENT, "model_package_arn": arn, "variants": {"name": "challenger"}}
        first = deploy_endpoint.lambda_handler(event, Context())
        second = deploy_endpoint.lambda_handler(event, Context())
        config = sm.describe_endpoint_config(EndpointConfigName="census-endpoint-v1")
        aas = boto3.client("application-autoscaling", region_name="us-east-1")
        targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert (first["action"], second["action"]) == ("created", "updated")
    assert (first["autoscaling"], second["autoscaling"]) == ("applied", "unchanged")
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == CAPTURE["DestinationS3Uri"]
    assert [v["VariantName"] for v in config["ProductionVariants"]] == ["challenger"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        ("endpoint/census-endpoint/variant/challenger", 1, 4)
    ]
    assert [(p["PolicyName"], p["TargetTrackingScalingPolicyConfiguration"]) for p in policies] == [
        ("lgbm-pipeline-target-tracking", POLICY)
    ]
