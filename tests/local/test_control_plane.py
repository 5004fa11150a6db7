"""The local registry and control plane refuse what SageMaker refuses, as boto3 reports it.

Each refusal is compared with moto 5 where moto models the call, and with a real botocore client
(ParamValidator, Stubber) where it does not: moto's create_model accepts any ModelPackageName,
unknown or unapproved, and any duplicate name.
"""

from __future__ import annotations

import functools
import multiprocessing
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from moto import mock_aws

from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry

from .control_requests import ACCOUNT, GROUP, ROLE, arn_of, package_request


def _register_many(work_dir: str, count: int, start, queue) -> None:
    start.wait()  # all processes register at once
    registry = LocalRegistry(work_dir, "us-east-1", ACCOUNT)
    for _ in range(count):
        queue.put(registry.register(package_request())["ModelPackageVersion"])


def test_parallel_registrations_never_lose_or_duplicate_a_version(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(8), context.Queue()
    workers = [
        context.Process(target=_register_many, args=(str(tmp_path), 1, start, queue)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    versions = sorted(queue.get(timeout=5) for _ in range(8))
    assert versions == list(range(1, 9))
    files = sorted(p.name for p in (tmp_path / "registry" / GROUP).glob("*.json"))
    assert files == sorted(f"{v}.json" for v in range(1, 9))
    registry = LocalRegistry(tmp_path)
    assert [p["ModelPackageVersion"] for p in registry.versions(GROUP)] == list(range(1, 9))
    assert {p["ModelPackageArn"] for p in registry.versions(GROUP)} == {
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/{v}" for v in range(1, 9)
    }


def test_parallel_registrations_in_bursts(tmp_path: Path):
    """Four processes registering five packages each: 20 versions, none lost, none twice."""
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_register_many, args=(str(tmp_path), 5, start, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(queue.get(timeout=5) for _ in range(20)) == list(range(1, 21))
    assert len(list((tmp_path / "registry" / GROUP).glob("*.json"))) == 20


def test_status_of_an_unknown_package_creates_nothing(tmp_path: Path):
    registry = LocalRegistry(tmp_path)
    with pytest.raises(LookupError, match="no model package"):
        registry.set_status(f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/nope/1", "Approved")
    assert registry.groups() == []


# -- the control plane against moto and botocore ------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalSageMaker:
    return LocalSageMaker(tmp_path, LocalRegistry(tmp_path, "us-east-1", ACCOUNT))


@pytest.fixture
def moto_client(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.Session(botocore_session=_session()).client("sagemaker", region_name="us-east-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()  # one session: the service model is loaded once


def botocore_client():
    """A real SageMaker client that never reaches AWS (validation happens before sending)."""
    return _session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def register_both(local: LocalSageMaker, moto_client, statuses: list[str]) -> None:
    """The same packages, in the same order, in the local registry and in moto."""
    for status in statuses:
        local.registry.register(package_request(status))
        moto_client.create_model_package(**package_request(status))


def refusal(call, **params) -> dict:
    with pytest.raises(ClientError) as exc:
        call(**params)
    return exc.value.response["Error"] | {"Operation": exc.value.operation_name}


def test_describe_model_package_answers_in_the_output_shape(local, moto_client):
    register_both(local, moto_client, ["PendingManualApproval"])
    described = local.describe_model_package(ModelPackageName=arn_of(1))
    shape = botocore_client().meta.service_model.operation_model("DescribeModelPackage").output_shape
    assert not ParamValidator().validate(described, shape).has_errors()
    assert set(shape.required_members) <= set(described) <= set(shape.members)
    request = package_request()
    assert described["ModelPackageArn"] == arn_of(1)
    assert (described["ModelPackageGroupName"], described["ModelPackageVersion"]) == (GROUP, 1)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    for key in ("InferenceSpecification", "ModelMetrics", "DriftCheckBaselines"):
        assert described[key] == request[key]
    mocked = moto_client.describe_model_package(ModelPackageName=arn_of(1))
    assert set(mocked) - {"ResponseMetadata", "CreatedBy", "CertifyForMarketplace"} <= set(described)
    for key in ("ModelPackageArn", "ModelPackageVersion", "ModelApprovalStatus", "ModelMetrics"):
        assert described[key] == mocked[key]


def test_unknown_model_package_is_refused_as_moto_refuses_it(local, moto_client):
    register_both(local, moto_client, ["Approved"])
    for operation, params in [
        ("describe_model_package", {"ModelPackageName": arn_of(7)}),
        ("update_model_package", {"ModelPackageArn": arn_of(7), "ModelApprovalStatus": "Approved"}),
    ]:
        ours = refusal(getattr(local, operation), **params)
        theirs = refusal(getattr(moto_client, operation), **params)
        assert ours == theirs
    assert ours["Message"] == f"Model package {arn_of(7)} not found"


def test_update_model_package_refuses_an_unknown_status_like_moto(local, moto_client):
    register_both(local, moto_client, ["PendingManualApproval"])
    params = {"ModelPackageArn": arn_of(1), "ModelApprovalStatus": "approved"}
    ours, theirs = (
        refusal(local.update_model_package, **params),
        refusal(moto_client.update_model_package, **params),
    )
    assert ours["Code"] == theirs["Code"] == "ValidationException"
    assert ours["Message"] == (
        "1 validation error detected: Value 'approved' at 'modelApprovalStatus' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"
    )
    # moto: the same constraint, without the count prefix and in another enum order
    assert theirs["Message"].startswith(
        "Value 'approved' at 'modelApprovalStatus' failed to satisfy constraint"
    )
    assert (
        local.describe_model_package(ModelPackageName=arn_of(1))["ModelApprovalStatus"]
        == "PendingManualApproval"
    )


def test_update_model_package_approves(local):
    local.registry.register(package_request())
    answer = local.update_model_package(
        ModelPackageArn=arn_of(1), ModelApprovalStatus="Approved", ApprovalDescription="F1 0.71, DI 0.84"
    )
    assert answer == {"ModelPackageArn": arn_of(1)}
    described = local.describe_model_package(ModelPackageName=arn_of(1))
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "F1 0.71, DI 0.84" and described["LastModifiedTime"]


def create_model_request(package: str, name: str = "census-models-v1", containers: bool = False) -> dict:
    request = {"ModelName": name, "ExecutionRoleArn": ROLE}
    if containers:
        return request | {"Containers": [{"ModelPackageName": package}]}
    return request | {"PrimaryContainer": {"ModelPackageName": package}}


@pytest.mark.parametrize("containers", [False, True], ids=["PrimaryContainer", "Containers"])
@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_create_model_from_an_unapproved_package_is_refused(local, moto_client, status, containers):
    register_both(local, moto_client, [status])
    request = create_model_request(arn_of(1), containers=containers)
    ours = refusal(local.create_model, **request)
    assert ours == {
        "Code": "ValidationException",
        "Message": (
            f"Model package {arn_of(1)} has ModelApprovalStatus {status}: a versioned model package must "
            f"be Approved before a model can be created from it. Approve it with UpdateModelPackage("
            f"ModelPackageArn='{arn_of(1)}', ModelApprovalStatus='Approved') "
            f"(locally: lgbm-pipeline registry approve {arn_of(1)})"
        ),
        "Operation": "CreateModel",
    }
    assert not (local.root / "models").exists()
    # moto does not model the approval rule: it creates the model.
    assert moto_client.create_model(**request)["ModelArn"].endswith(":model/census-models-v1")
    # The exact request is a valid CreateModel request for botocore; a client stubbed with our
    # refusal reports it exactly as the local control plane does.
    client = botocore_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "create_model", "ValidationException", ours["Message"], 400, expected_params=request
        )
        assert refusal(client.create_model, **request) == ours
        stubber.assert_no_pending_responses()


def test_create_model_from_an_unknown_package_is_refused(local, moto_client):
    register_both(local, moto_client, ["Approved"])
    request = create_model_request(arn_of(2))
    assert refusal(local.create_model, **request) == {
        "Code": "ValidationException",
        "Message": f"Model package {arn_of(2)} not found",  # moto's DescribeModelPackage wording
        "Operation": "CreateModel",
    }
    assert moto_client.create_model(**request)["ModelArn"]  # moto: no lookup at all


def test_create_model_from_an_approved_package(local, moto_client):
    register_both(local, moto_client, ["Approved"])
    request = create_model_request(arn_of(1))
    ours = local.create_model(**request)
    theirs = moto_client.create_model(**request)
    assert ours == {"ModelArn": theirs["ModelArn"]}
    described = local.describe_model(ModelName="census-models-v1")
    assert described["PrimaryContainer"] == {"ModelPackageName": arn_of(1)}
    assert described["ModelArn"] == ours["ModelArn"]


def test_same_names_are_refused(local):
    local.registry.register(package_request("Approved"))
    local.create_model(**create_model_request(arn_of(1)))
    variant = {"VariantName": "AllTraffic", "ModelName": "census-models-v1", "InstanceType": "ml.m5.large",
               "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}  # fmt: skip
    local.create_endpoint_config(EndpointConfigName="census-v1", ProductionVariants=[variant])
    local.create_endpoint(EndpointName="census", EndpointConfigName="census-v1")
    for call, params, message in [
        (local.create_model, create_model_request(arn_of(1)), 'Cannot create already existing model "census-models-v1".'),
        (local.create_endpoint_config, {"EndpointConfigName": "census-v1", "ProductionVariants": [variant]},
         'Cannot create already existing endpoint configuration "census-v1".'),
        (local.create_endpoint, {"EndpointName": "census", "EndpointConfigName": "census-v1"},
         'Cannot create already existing endpoint "census".'),
    ]:  # fmt: skip
        assert refusal(call, **params)["Message"] == message


def test_endpoint_config_for_an_unknown_model_is_refused_as_moto_refuses_it(local, moto_client):
    variant = {"VariantName": "AllTraffic", "ModelName": "nope", "InstanceType": "ml.m5.large",
               "InitialInstanceCount": 1}  # fmt: skip
    params = {"EndpointConfigName": "census-v1", "ProductionVariants": [variant]}
    ours = refusal(local.create_endpoint_config, **params)
    theirs = refusal(moto_client.create_endpoint_config, **params)
    assert (ours["Code"], ours["Operation"]) == (theirs["Code"], theirs["Operation"])
    assert ours["Message"] == 'Could not find model "nope".'
    assert theirs["Message"].startswith("Could not find model ")  # moto names the model by ARN


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("create_model", {"ModelName": "m", "PrimaryContainer": "not-a-structure"}),
        ("create_model", {"PrimaryContainer": {"ModelPackageName": "x"}}),
        ("create_endpoint_config", {"EndpointConfigName": "c", "ProductionVariants": [{"ModelName": "m"}]}),
        ("create_endpoint", {"EndpointName": "e"}),
        ("update_model_package", {"ModelPackageArn": arn_of(1), "Status": "Approved"}),
        ("describe_model_package", {}),
        ("list_model_packages", {"MaxResults": "ten"}),
    ],
)
def test_malformed_requests_are_refused_as_boto3_refuses_them(local, operation, params):
    """boto3 refuses these before sending anything: the same ParamValidationError, word for word."""
    with pytest.raises(ParamValidationError) as theirs:
        getattr(botocore_client(), operation)(**params)
    with pytest.raises(ParamValidationError) as ours:
        getattr(local, operation)(**params)
    assert str(ours.value) == str(theirs.value)


def summaries(answer: dict) -> list[tuple[int, str]]:
    return [(s["ModelPackageVersion"], s["ModelApprovalStatus"]) for s in answer["ModelPackageSummaryList"]]


@pytest.mark.parametrize(
    "params",
    [
        {"ModelPackageGroupName": GROUP},
        {"ModelPackageGroupName": GROUP, "SortOrder": "Descending"},
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },  # fmt: skip
        {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": "Rejected"},
        {"ModelPackageGroupName": "other-group"},
        {},  # without a group SageMaker lists unversioned packages only
        {"ModelPackageType": "Versioned", "SortOrder": "Descending"},
    ],
)
def test_list_model_packages_answers_as_moto(local, moto_client, params):
    register_both(local, moto_client, ["Approved", "PendingManualApproval", "Approved", "Rejected"])
    assert summaries(local.list_model_packages(**params)) == summaries(
        moto_client.list_model_packages(**params)
    )


def test_latest_approved_package_of_a_group(local):
    """The baseline lookup: the newest Approved version, whatever came after it."""
    for status in ["Approved", "Approved", "PendingManualApproval", "Rejected"]:
        local.registry.register(package_request(status))
    answer = local.list_model_packages(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved", SortBy="CreationTime",
        SortOrder="Descending", MaxResults=1,
    )  # fmt: skip
    [latest] = answer["ModelPackageSummaryList"]
    assert latest["ModelPackageArn"] == arn_of(2) and "NextToken" in answer
    shape = botocore_client().meta.service_model.operation_model("ListModelPackages").output_shape
    assert not ParamValidator().validate(answer, shape).has_errors()


def test_list_model_packages_pages(local):
    for _ in range(5):
        local.registry.register(package_request())
    first = local.list_model_packages(ModelPackageGroupName=GROUP, MaxResults=2)
    second = local.list_model_packages(
        ModelPackageGroupName=GROUP, MaxResults=2, NextToken=first["NextToken"]
    )
    third = local.list_model_packages(
        ModelPackageGroupName=GROUP, MaxResults=2, NextToken=second["NextToken"]
    )
    assert [summaries(page) for page in (first, second, third)] == [
        [(1, "PendingManualApproval"), (2, "PendingManualApproval")],
        [(3, "PendingManualApproval"), (4, "PendingManualApproval")],
        [(5, "PendingManualApproval")],
    ]
    assert "NextToken" not in third


# -- the Lambda step leaves a pending deployment; `registry approve` runs it ------------------------


def test_nested_constraints_are_refused_in_sagemakers_words(local):
    local.registry.register(package_request("Approved"))
    local.create_model(**create_model_request(arn_of(1)))
    variant = {"VariantName": "AllTraffic", "ModelName": "census-models-v1",
               "ServerlessConfig": {"MemorySizeInMB": 7168, "MaxConcurrency": 5}}  # fmt: skip
    with pytest.raises(ClientError) as exc:
        local.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    assert exc.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '7168' at 'productionVariants.1.member.serverlessConfig."
        "memorySizeInMB' failed to satisfy constraint: Member must have value less than or equal to 6144"
    )


def test_local_autoscaling_refuses_what_the_service_refuses(local):
    from lgbm_pipeline_compiler.local.autoscaling import LocalApplicationAutoScaling

    scaling = LocalApplicationAutoScaling(local)
    rid = "endpoint/census-income-dev/variant/AllTraffic"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    with pytest.raises(ParamValidationError, match="MaxCapacity"):
        scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dimension,
                                         MinCapacity=1, MaxCapacity="4")  # fmt: skip
    with pytest.raises(ClientError, match="Member must satisfy enum value set"):
        scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension="x:y",
                                         MinCapacity=1, MaxCapacity=4)  # fmt: skip
    with pytest.raises(ClientError, match='Could not find endpoint "census-income-dev"'):
        scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dimension,
                                         MinCapacity=1, MaxCapacity=4)  # fmt: skip
    with pytest.raises(ClientError) as exc:
        scaling.put_scaling_policy(
            PolicyName="p", ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0},
        )  # fmt: skip
    assert exc.value.response["Error"]["Code"] == "ObjectNotFoundException"
