"""`iam-policy`: the policies are valid IAM policy documents, and their actions are exactly the calls
the compiled definition's steps and the deploy handler make (listed here, independently)."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import boto3
import botocore.session
import pytest
from ship.account import REGION, SHIP_SPEC

from lgbm_pipeline_compiler.compiler import Compiled
from lgbm_pipeline_compiler.lint.requests import walk_steps
from lgbm_pipeline_compiler.ship.iam import execution_role_policy, lambda_role_policy, policies
from lgbm_pipeline_compiler.ship.target import Target
from lgbm_pipeline_compiler.spec import load_spec

pytestmark = pytest.mark.xdist_group("ship-targets")

REPO = Path(__file__).resolve().parents[2]
SM = f"arn:aws:sagemaker:{REGION}:123456789012"
PROCESSING = {
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
}
# What SageMaker Pipelines calls for each step type (the API Reference's request per step, and what
# the step then polls or stops), and what a Clarify check adds: its previous baseline (the group's
# latest Approved package) and the shadow endpoint the Clarify job serves the model on.
STEP_CALLS = {
    "Processing": PROCESSING,
    "ClarifyCheck": PROCESSING
    | {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"}
    | {f"sagemaker:{a}" for a in ("CreateEndpoint", "DescribeEndpoint", "DeleteEndpoint", "InvokeEndpoint")}
    | {f"sagemaker:{a}" for a in ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig")},
    "Tuning": {
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    },
    "Model": {"sagemaker:CreateModel"},
    "RegisterModel": {
        "sagemaker:CreateModelPackage",
        "sagemaker:DescribeModelPackage",
        "sagemaker:CreateModelPackageGroup",
        "sagemaker:DescribeModelPackageGroup",
    },
    "Transform": {
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    },
    "QualityCheck": PROCESSING | {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"},
    "Lambda": {"lambda:InvokeFunction"},
    "Condition": set(),
}
# What every job does as the role: read its inputs, write its outputs, pull its image, log, emit
# metrics; and what every request that names the role needs: iam:PassRole.
JOB_CALLS = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
    "cloudwatch:PutMetricData",
    "iam:PassRole",
}
# What a definition's settings add: a job in a VPC gets network interfaces in its subnets; a volume
# key is granted to EBS; an output key encrypts what jobs write and decrypts it for later steps.
FEATURE_CALLS = {
    "VpcConfig": {
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    },
    "VolumeKmsKeyId": {
        "kms:CreateGrant",
        "kms:DescribeKey",
        "kms:Decrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
    },
    "KmsKeyId": {"kms:GenerateDataKey", "kms:Decrypt"},
}
# IAM actions that are not the name of an operation of the service of their prefix: (botocore service,
# operation), or None for a permission with no API of its own.
OPERATION_OF = {
    "iam:PassRole": None,
    "s3:ListBucket": ("s3", "ListObjectsV2"),
    "lambda:InvokeFunction": ("lambda", "Invoke"),
    "sagemaker:InvokeEndpoint": ("sagemaker-runtime", "InvokeEndpoint"),
}


def committed(spec_path: Path, definition_path: Path) -> Target:
    spec = load_spec(spec_path)
    definition = json.loads(definition_path.read_text())
    return Target(str(spec_path), spec, Compiled(definition, {}), spec.pipeline.role_arn)


@pytest.fixture(scope="session")
def census_target() -> Target:
    """The census spec with its committed definition (kept current by test_golden_compile)."""
    return committed(REPO / "specs" / "census.yaml", REPO / "specs" / "census.json")


@pytest.fixture(scope="session")
def production_target() -> Target:
    """The golden case with every production setting: VPC, KMS keys, spot checkpoints, bundled wheels."""
    golden = REPO / "tests" / "golden" / "production"
    return committed(golden / "spec.yaml", golden / "expected.json")


def actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def statement(policy: dict, sid: str) -> dict:
    (found,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return found


# The handler's modules and, per module, which variable holds which service's client.
HANDLER_CLIENTS = {
    "deploy_endpoint.py": {"client": "sagemaker"},
    "deploy_variants.py": {"client": "sagemaker"},
    "deploy_scaling.py": {"client": "application-autoscaling", "sagemaker": "sagemaker"},
}


def handler_calls(service: str = "sagemaker") -> set[str]:
    """The operations of ``service`` that deploy_endpoint.py and its modules call on their clients."""
    scripts = resources.files("lgbm_pipeline_compiler.step_scripts")
    methods = set()
    for name, clients in HANDLER_CLIENTS.items():
        variables = {v for v, s in clients.items() if s == service}
        methods |= {
            node.func.attr
            for node in ast.walk(ast.parse(scripts.joinpath(name).read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in variables
        }
    mapping = boto3.client(service, region_name=REGION).meta.method_to_api_mapping
    return {f"{service}:{mapping[m]}" for m in methods}


@pytest.fixture(scope="session")
def options_target() -> Target:
    """The golden case with every deploy option (data capture, A/B variants, autoscaling)."""
    golden = REPO / "tests" / "golden" / "deploy_options"
    return committed(golden / "spec.yaml", golden / "expected.json")


@pytest.fixture(scope="session")
def builtin_quality_target() -> Target:
    """The golden case with a builtin-engine data-quality job and no check step at all."""
    golden = REPO / "tests" / "golden" / "data_quality_builtin"
    return committed(golden / "spec.yaml", golden / "expected.json")


# A builtin engine's job given --model-package-group (clarify_check.py, data_quality_check.py) looks
# the latest Approved package up itself, with the role's credentials.
LOOKUP_CALLS = {"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"}
TARGETS = ["census_target", "ship_target", "production_target", "options_target", "builtin_quality_target"]


@pytest.mark.parametrize("name", TARGETS)
def test_execution_role_actions_are_the_calls_of_the_definitions_steps(name, request):
    target = request.getfixturevalue(name)
    types = {s["Type"] for s in walk_steps(target.definition["Steps"])}
    assert types <= STEP_CALLS.keys()
    expected = set().union(*(STEP_CALLS[t] for t in types)) | JOB_CALLS
    text = json.dumps(target.definition["Steps"])
    if '"--model-package-group"' in text:
        expected |= LOOKUP_CALLS
    expected |= set().union(*(calls for key, calls in FEATURE_CALLS.items() if f'"{key}"' in text))
    assert actions(execution_role_policy(target)) == expected


def test_lambda_role_actions_are_the_calls_the_handler_makes(ship_target):
    """Without autoscaling: the handler's SageMaker calls only (its autoscaling calls need
    deploy.autoscaling, see the next test)."""
    calls = handler_calls()
    assert calls == {
        "sagemaker:DescribeModelPackage",
        "sagemaker:CreateModel",
        "sagemaker:DescribeModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeEndpoint",
        "sagemaker:CreateEndpoint",
        "sagemaker:UpdateEndpoint",
    }
    policy = lambda_role_policy(ship_target)
    assert actions(policy) == calls | {
        "iam:PassRole",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


@pytest.mark.parametrize("name", TARGETS)
def test_every_action_is_a_real_operation(name, request):
    target = request.getfixturevalue(name)
    session = botocore.session.get_session()
    models = {}
    for policy in (execution_role_policy(target), lambda_role_policy(target)):
        for action in actions(policy) if policy else ():  # no deploy: no Lambda role
            where = OPERATION_OF.get(action, tuple(action.split(":")))
            if where is None:
                continue
            service, operation = where
            if service not in models:
                models[service] = session.get_service_model(service)
            assert operation in models[service].operation_names, action


def test_the_policies_validate_as_iam_policy_documents(
    moto_account, ship_target, census_target, production_target
):
    """moto's IAM checks a policy document as IAM does (structure, actions, ARNs); and a managed policy
    is at most 6,144 characters without whitespace."""
    iam = boto3.client("iam", region_name=REGION)
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):  # the check can fail
        bad = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sagemaker", "Resource": "*"}],
        }
        iam.create_policy(PolicyName="bad", PolicyDocument=json.dumps(bad))
    for i, policy in enumerate(
        [
            execution_role_policy(ship_target),
            lambda_role_policy(ship_target),
            execution_role_policy(census_target),
            lambda_role_policy(census_target),
            execution_role_policy(production_target),
        ]
    ):
        text = json.dumps(policy)
        assert len("".join(text.split())) <= 6144
        iam.create_policy(PolicyName=f"p{i}", PolicyDocument=text)
        assert all(s["Effect"] == "Allow" and s["Sid"].isalnum() for s in policy["Statement"])
        assert len({s["Sid"] for s in policy["Statement"]}) == len(policy["Statement"])


def test_execution_role_resources_are_the_exact_buckets_prefixes_and_names(ship_target, census_target):
    policy = execution_role_policy(ship_target)
    artifacts = "arn:aws:s3:::ship-test-artifacts/census/dev"
    assert statement(policy, "ReadInputsArtifactsAndEarlierOutputs")["Resource"] == [
        f"{artifacts}/artifacts/*",
        f"{artifacts}/models/*",
        f"{artifacts}/runs/*",
        "arn:aws:s3:::ship-test-data/uci_adult/census-income.csv*",
    ]
    assert statement(policy, "WriteStepOutputs")["Resource"] == [
        f"{artifacts}/models/*",
        f"{artifacts}/runs/*",
    ]
    assert statement(policy, "ListShipTestData")["Condition"] == {
        "StringLike": {"s3:prefix": ["uci_adult/census-income.csv*"]}
    }
    assert statement(policy, "PassRoleToSageMaker") == {
        "Sid": "PassRoleToSageMaker",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::123456789012:role/SageMakerExecutionRole"],
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }
    assert statement(policy, "ModelPackages")["Resource"] == [f"{SM}:model-package/census-ship/*"]
    assert statement(policy, "ModelPackageGroup")["Resource"] == [f"{SM}:model-package-group/census-ship"]
    assert statement(policy, "InvokeDeployFunction")["Resource"] == [
        f"arn:aws:lambda:{REGION}:123456789012:function:lgbm-deploy-endpoint"
    ]
    assert statement(policy, "PullImages")["Resource"] == [
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"
    ]
    census = execution_role_policy(census_target)
    assert statement(census, "PullImages")["Resource"] == [
        "arn:aws:ecr:us-east-1:156813124566:repository/sagemaker-model-monitor-analyzer",  # data quality
        "arn:aws:ecr:us-east-1:205585389593:repository/sagemaker-clarify-processing",
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn",
    ]
    assert statement(census, "ReadInputsArtifactsAndEarlierOutputs")["Resource"][-2:] == [
        "arn:aws:s3:::sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult/adult.data*",
        "arn:aws:s3:::sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult/adult.test*",
    ]


def test_lambda_role_resources_are_the_group_the_endpoint_and_its_configs(ship_target):
    policy = lambda_role_policy(ship_target)
    assert statement(policy, "ReadModelPackage")["Resource"] == f"{SM}:model-package/census-ship/*"
    assert statement(policy, "Model")["Resource"] == f"{SM}:model/census-ship-v*"
    assert statement(policy, "EndpointConfig")["Resource"] == f"{SM}:endpoint-config/census-ship-dev-v*"
    assert statement(policy, "Endpoint")["Resource"] == [
        f"{SM}:endpoint-config/census-ship-dev-v*",
        f"{SM}:endpoint/census-ship-dev",
    ]
    assert statement(policy, "PassRoleToSageMaker")["Resource"] == [
        "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
    ]
    assert statement(policy, "WriteLogs")["Resource"] == (
        f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/lgbm-deploy-endpoint:*"
    )


def test_iam_policy_command_prints_both_roles(ship_target, capsys):
    from lgbm_pipeline_compiler.cli import main

    assert main(["iam-policy", str(SHIP_SPEC)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(policies(ship_target)))
    assert printed["deploy_lambda_role"]["role_arn"] == "arn:aws:iam::123456789012:role/lgbm-deploy-lambda"
    assert printed["execution_role"]["role_arn"] == "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def test_production_settings_add_their_keys_network_and_checkpoints(production_target):
    policy = execution_role_policy(production_target)
    account = "arn:aws:kms:us-east-1:111122223333"
    assert statement(policy, "VolumeKeys")["Resource"] == [
        f"{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ]
    by_alias = statement(policy, "OutputKeysByAlias")
    assert by_alias["Resource"] == f"{account}:key/*"
    assert by_alias["Condition"] == {
        "ForAnyValue:StringEquals": {
            "kms:ResourceAliases": [
                "alias/census-data-quality",  # encryption.overrides.data_quality
                "alias/census-pipeline-outputs",
                "alias/census-predictions",
            ]
        }
    }
    ec2 = "arn:aws:ec2:us-east-1:111122223333"
    assert statement(policy, "VpcCreateNetworkInterfaces")["Resource"] == [
        f"{ec2}:network-interface/*",
        f"{ec2}:security-group/sg-0123456789abcdef0",
        f"{ec2}:subnet/subnet-0a1b2c3d4e5f67890",
        f"{ec2}:subnet/subnet-0f9e8d7c6b5a43210",
    ]
    bucket = "arn:aws:s3:::lgbm-pipelines-111122223333/census-income/dev"
    assert f"{bucket}/checkpoints/*" in statement(policy, "WriteStepOutputs")["Resource"]
    # the data input is a parameter: its default location is read
    assert (
        "arn:aws:s3:::sagemaker-sample-files/datasets/tabular/uci_adult/census-income.csv*"
        in statement(policy, "ReadInputsArtifactsAndEarlierOutputs")["Resource"]
    )


def test_with_autoscaling_the_lambda_role_gains_exactly_the_scaling_permissions(options_target):
    scaling = handler_calls("application-autoscaling")
    assert scaling == {
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:PutScalingPolicy",
    }
    policy = lambda_role_policy(options_target)
    assert actions(policy) == handler_calls() | scaling | {
        "iam:PassRole",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        # the Developer Guide's autoscaling prerequisites for the caller
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DescribeAlarms",
        "iam:CreateServiceLinkedRole",
    }
    assert statement(policy, "AutoscalingServiceLinkedRole") == {
        "Sid": "AutoscalingServiceLinkedRole",
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole"],
        "Resource": "arn:aws:iam::111122223333:role/aws-service-role/sagemaker.application-autoscaling."
        "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        "Condition": {
            "StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
        },
    }
    assert statement(policy, "AutoscalingTargets")["Resource"] == (
        "arn:aws:application-autoscaling:us-east-1:111122223333:scalable-target/*"
    )
    assert statement(policy, "AutoscalingEndpointCapacity")["Resource"] == (
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/census-income-dev"
    )


def test_data_capture_is_written_by_the_execution_role_not_the_lambda(options_target):
    """SageMaker writes the captured data on the endpoint's behalf: the execution role may write the
    destination; the deploy Lambda's role gets no S3 access at all."""
    capture = "arn:aws:s3:::lgbm-pipelines-111122223333/census-income/dev/data-capture/*"
    assert capture in statement(execution_role_policy(options_target), "WriteStepOutputs")["Resource"]
    assert not any(a.startswith("s3:") for a in actions(lambda_role_policy(options_target)))


def test_the_options_policies_validate_as_iam_policy_documents(moto_account, options_target):
    iam = boto3.client("iam", region_name=REGION)
    for i, policy in enumerate([execution_role_policy(options_target), lambda_role_policy(options_target)]):
        text = json.dumps(policy)
        assert len("".join(text.split())) <= 6144
        iam.create_policy(PolicyName=f"options{i}", PolicyDocument=text)
        assert len({s["Sid"] for s in policy["Statement"]}) == len(policy["Statement"])


def test_a_builtin_jobs_baseline_lookup_gets_list_and_describe_model_packages(builtin_quality_target):
    steps = builtin_quality_target.definition["Steps"]
    assert not {s["Type"] for s in steps} & {"ClarifyCheck", "QualityCheck"}
    policy = execution_role_policy(builtin_quality_target)
    assert statement(policy, "FindLatestApprovedPackage") == {
        "Sid": "FindLatestApprovedPackage",
        "Effect": "Allow",
        "Action": ["sagemaker:ListModelPackages"],
        "Resource": "*",
    }
    packages = statement(policy, "ModelPackages")
    assert "sagemaker:DescribeModelPackage" in packages["Action"]
    assert packages["Resource"] == [
        "arn:aws:sagemaker:us-east-1:111122223333:model-package/census-income-lgbm/*"
    ]
