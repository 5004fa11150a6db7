"""The Deploy step's Lambda executor and `lgbm-pipeline registry approve|reject` on the local control
plane: an unapproved package's deployment waits, approval runs it (creating or updating the endpoint,
with the spec's endpoint options and autoscaling), and what SageMaker refuses fails the step."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.executors import deploy
from lgbm_pipeline_compiler.local.registry import LocalRegistry

from .control_requests import ACCOUNT, GROUP, ROLE, arn_of, package_request

DEPLOY_EVENT = {
    "model_package_arn": arn_of(1),
    "endpoint_name": "census-income-dev",
    "role_arn": ROLE,
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "endpoint_config_name": "census-income-dev",
}
OUTPUTS = ("statusCode", "endpoint_name", "endpoint_config_name", "action")


def run_deploy_step(work: Path, event: dict) -> tuple[dict, StepContext]:
    """The Lambda executor on the compiled Deploy step's shape, with its arguments resolved."""
    step = {
        "Name": "Deploy",
        "Type": "Lambda",
        "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lgbm-deploy-endpoint",
        "Arguments": event,
        "OutputParameters": [{"OutputName": name, "OutputType": "String"} for name in OUTPUTS],
    }
    (work / "step").mkdir(parents=True, exist_ok=True)
    ctx = StepContext(step=step, resolve=lambda value: value, store=None, work=work / "step", log=io.StringIO(),
                      execution_id="exec-1", work_dir=work, cores=1, region="us-east-1", account=ACCOUNT,
                      services={"registry": LocalRegistry(work, "us-east-1", ACCOUNT)})  # fmt: skip
    return deploy.run(ctx), ctx


def test_lambda_step_skips_an_unapproved_package_and_keeps_the_event(tmp_path: Path):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    properties, ctx = run_deploy_step(tmp_path, DEPLOY_EVENT)
    assert properties["action"] == "skipped" and properties["statusCode"] == 200
    assert properties["OutputParameters"] == {k: properties[k] for k in OUTPUTS}
    assert ctx.note.startswith(f"deploy skipped: {arn_of(1)} is PendingManualApproval; approve it")
    pending = LocalSageMaker(tmp_path).pending_deployment(arn_of(1))
    assert pending["event"] == DEPLOY_EVENT and pending["execution_id"] == "exec-1"
    assert (tmp_path / "control" / "pending-deployments" / f"{GROUP}-1.json").is_file()
    assert LocalSageMaker(tmp_path).endpoints() == []


def test_lambda_step_deploys_an_approved_package(tmp_path: Path):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request("Approved"))
    properties, ctx = run_deploy_step(tmp_path, DEPLOY_EVENT)
    assert (properties["action"], properties["endpoint_config_name"]) == ("created", "census-income-dev-v1")
    assert ctx.note == "created endpoint census-income-dev (census-income-dev-v1)"
    assert LocalSageMaker(tmp_path).pending_deployment(arn_of(1)) is None


def test_lambda_step_fails_on_what_sagemaker_refuses(tmp_path: Path):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request("Approved"))
    with pytest.raises(StepFailed) as exc:
        run_deploy_step(tmp_path, dict(DEPLOY_EVENT, model_package_arn=arn_of(2)))
    assert str(exc.value) == (
        "deploy handler: An error occurred (ValidationException) when calling the DescribeModelPackage "
        f"operation: Model package {arn_of(2)} not found"
    )


def test_registry_approve_runs_the_pending_deployment(tmp_path: Path, capsys):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    run_deploy_step(tmp_path, DEPLOY_EVENT)
    assert main(["registry", "list", "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("PendingManualApproval  " + _created(tmp_path) +
                                                     "  pending deployment to census-income-dev")  # fmt: skip
    assert main(["registry", "approve", arn_of(1), "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{arn_of(1)}: Approved",
        "deployed to endpoint census-income-dev (created: model census-models-v1, "
        "endpoint config census-income-dev-v1)",
    ]
    control = LocalSageMaker(tmp_path)
    assert control.endpoint_model_package("census-income-dev") == arn_of(1)
    assert control.pending_deployment(arn_of(1)) is None
    # Approving again: nothing left to deploy.
    assert main(["registry", "approve", arn_of(1), "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{arn_of(1)}: Approved",
        f"no pending deployment for {arn_of(1)}",
    ]


def _created(work: Path) -> str:
    return LocalRegistry(work).get(arn_of(1))["CreationTime"]


def test_registry_approve_updates_an_existing_endpoint(tmp_path: Path, capsys):
    registry = LocalRegistry(tmp_path, "us-east-1", ACCOUNT)
    registry.register(package_request("Approved"))
    registry.register(package_request())
    run_deploy_step(tmp_path, DEPLOY_EVENT)  # version 1 serves
    run_deploy_step(tmp_path, dict(DEPLOY_EVENT, model_package_arn=arn_of(2)))  # version 2 waits
    assert LocalSageMaker(tmp_path).endpoint_model_package("census-income-dev") == arn_of(1)
    assert main(["registry", "approve", arn_of(2), "--work-dir", str(tmp_path)]) == 0
    assert "deployed to endpoint census-income-dev (updated" in capsys.readouterr().out
    assert LocalSageMaker(tmp_path).endpoint_model_package("census-income-dev") == arn_of(2)


SCALING = {"min_instances": 1, "max_instances": 3, "metric": "SageMakerVariantInvocationsPerInstance",
           "target_value": 70.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60}  # fmt: skip


def test_registry_approve_registers_the_pending_events_autoscaling(tmp_path: Path, capsys):
    from lgbm_pipeline_compiler.local.autoscaling import LocalApplicationAutoScaling

    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    run_deploy_step(tmp_path, dict(DEPLOY_EVENT, autoscaling=SCALING))  # pending: not approved
    assert main(["registry", "approve", arn_of(1), "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{arn_of(1)}: Approved",
        "deployed to endpoint census-income-dev (created: model census-models-v1, "
        "endpoint config census-income-dev-v1)",
    ]
    scaling = LocalApplicationAutoScaling(LocalSageMaker(tmp_path))
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        "endpoint/census-income-dev/variant/AllTraffic",
        1,
        3,
    )
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (
        70.0,
        300,
        60,
    )


def test_registry_approve_of_a_malformed_pending_event_is_one_line(tmp_path: Path, capsys):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    control = LocalSageMaker(tmp_path)
    control.record_pending_deployment(
        dict(DEPLOY_EVENT, instance_count=0), execution_id="exec-1", step="Deploy"
    )
    assert main(["registry", "approve", arn_of(1), "--work-dir", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{arn_of(1)}: Approved"]
    assert err == (
        f"error: deploying {arn_of(1)} failed: invalid deploy event: instance_count must be a positive "
        "integer, got 0\n"
    )
    assert control.pending_deployment(arn_of(1)) is not None  # kept: nothing was deployed


def test_registry_reject_keeps_the_deployment_pending(tmp_path: Path, capsys):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    run_deploy_step(tmp_path, DEPLOY_EVENT)
    assert main(["registry", "approve", arn_of(1), "--reject", "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{arn_of(1)}: Rejected"]
    assert LocalSageMaker(tmp_path).endpoints() == []
    assert LocalSageMaker(tmp_path).pending_deployment(arn_of(1)) is not None


def test_registry_approve_without_a_pending_deployment(tmp_path: Path, capsys):
    LocalRegistry(tmp_path, "us-east-1", ACCOUNT).register(package_request())
    assert main(["registry", "approve", arn_of(1), "--work-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{arn_of(1)}: Approved",
        f"no pending deployment for {arn_of(1)}",
    ]
    assert LocalRegistry(tmp_path).get(arn_of(1))["ModelApprovalStatus"] == "Approved"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["registry", "approve", arn_of(9)], f"error: Model package {arn_of(9)} not found (local registry: "),
        (["registry", "approve", "census-models"], "error: 1 validation error detected: Value 'census-models' at "
                                                   "'modelPackageArn' failed to satisfy constraint"),
        (["registry", "approve"], "error: registry approve needs a model package ARN"),
    ],
)  # fmt: skip
def test_registry_approve_refuses_clearly(tmp_path: Path, capsys, argv, message):
    assert main([*argv, "--work-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# -- endpoint options: data capture, A/B variants, autoscaling (local/autoscaling.py) --------------

OPTIONS = {
    "data_capture_config": {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://bucket/census/data-capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
    },
    "variants": {"name": "challenger", "weight": 0.25, "keep_current": {"name": "champion", "weight": 0.75}},
    "autoscaling": {"min_instances": 1, "max_instances": 4, "metric": "SageMakerVariantInvocationsPerInstance",
                    "target_value": 70.0, "scale_in_cooldown": 300},
}  # fmt: skip


def test_lambda_step_applies_the_endpoint_options_end_to_end(tmp_path: Path):
    """v1, then v2 beside it (A/B), each autoscaled; a repeated v2 invocation changes no record."""
    from lgbm_pipeline_compiler.local.autoscaling import LocalApplicationAutoScaling

    registry = LocalRegistry(tmp_path, "us-east-1", ACCOUNT)
    registry.register(package_request("Approved"))
    registry.register(package_request("Approved"))
    _, ctx = run_deploy_step(tmp_path, {**DEPLOY_EVENT, **OPTIONS})
    assert ctx.note == "created endpoint census-income-dev (census-income-dev-v1); autoscaling applied"
    _, ctx = run_deploy_step(tmp_path, {**DEPLOY_EVENT, **OPTIONS, "model_package_arn": arn_of(2)})
    assert ctx.note == "updated endpoint census-income-dev (census-income-dev-v2); autoscaling applied"
    control = LocalSageMaker(tmp_path)
    config = control.describe_endpoint_config(EndpointConfigName="census-income-dev-v2")
    assert [
        (v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in config["ProductionVariants"]
    ] == [
        ("champion", "census-models-v1", 0.75),
        ("challenger", "census-models-v2", 0.25),
    ]
    assert config["DataCaptureConfig"] == OPTIONS["data_capture_config"]
    described = control.describe_endpoint(EndpointName="census-income-dev")
    assert described["ProductionVariants"] == [
        {
            "VariantName": "champion",
            "CurrentWeight": 0.75,
            "DesiredWeight": 0.75,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        },
        {
            "VariantName": "challenger",
            "CurrentWeight": 0.25,
            "DesiredWeight": 0.25,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        },
    ]  # fmt: skip
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://bucket/census/data-capture",
    }  # fmt: skip
    assert "VariantCapacity" not in described  # the record's own keys stay out of the output shape
    scaling = LocalApplicationAutoScaling(control)
    found = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in found) == [
        ("endpoint/census-income-dev/variant/challenger", 1, 4),  # v1's, then v2's variant
        ("endpoint/census-income-dev/variant/champion", 1, 4),  # v1 kept: registered once in service
    ]
    records = {p: p.read_bytes() for p in (tmp_path / "control").rglob("*.json") if "pending" not in p.parts}
    _, ctx = run_deploy_step(tmp_path, {**DEPLOY_EVENT, **OPTIONS, "model_package_arn": arn_of(2)})
    assert ctx.note == "updated endpoint census-income-dev (census-income-dev-v2); autoscaling unchanged"
    assert {p: p.read_bytes() for p in records} == records


def test_v1_variant_target_is_released_before_the_update_removes_it(tmp_path: Path):
    """AllTraffic (v1, autoscaled) is gone from v2's config: deregistered before UpdateEndpoint."""
    from lgbm_pipeline_compiler.local.autoscaling import LocalApplicationAutoScaling

    registry = LocalRegistry(tmp_path, "us-east-1", ACCOUNT)
    registry.register(package_request("Approved"))
    registry.register(package_request("Approved"))
    scaling_only = {k: v for k, v in OPTIONS.items() if k == "autoscaling"}
    run_deploy_step(tmp_path, {**DEPLOY_EVENT, **scaling_only})
    renamed = {**scaling_only, "variants": {"name": "blue"}}
    run_deploy_step(tmp_path, {**DEPLOY_EVENT, **renamed, "model_package_arn": arn_of(2)})
    found = LocalApplicationAutoScaling(LocalSageMaker(tmp_path)).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )
    assert [t["ResourceId"] for t in found["ScalableTargets"]] == ["endpoint/census-income-dev/variant/blue"]
