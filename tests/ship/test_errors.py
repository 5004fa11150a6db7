"""Every way a deploy is refused: one line naming the AWS action and the fix, the CLI's exit code
(2 bad input, 3 environment, 1 failure), no traceback; and throttling retried with backoff."""

from __future__ import annotations

import json

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from ship.account import BUCKET, FUNCTION, LAMBDA_ROLE, PIPELINE, REGION, SHIP_SPEC, recording_session

from lgbm_pipeline_compiler.ship import aws as ship_aws
from lgbm_pipeline_compiler.ship.aws import ShipEnvironmentError, ShipError, ShipInputError
from lgbm_pipeline_compiler.ship.plan import apply_plan, make_plan
from lgbm_pipeline_compiler.ship.upload import apply_uploads, plan_uploads

pytestmark = pytest.mark.xdist_group("ship-targets")

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def run(argv: list[str], capsys) -> tuple[int, str]:
    from lgbm_pipeline_compiler.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{argv[1]}: error: "), err
    assert err.endswith(errors[0] + "\n")  # the last line: progress reported before it, nothing after
    return code, errors[0]


def test_no_credentials(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, line = run(["deploy", str(SHIP_SPEC)], capsys)

    assert code == 3
    assert "sts:GetCallerIdentity: no usable AWS credentials (Unable to locate credentials)" in line
    assert "set AWS_PROFILE" in line


def test_a_missing_bucket_is_bad_input_and_changes_nothing(aws_env, monkeypatch, capsys):
    from moto import mock_aws

    with mock_aws():
        session, rec = recording_session()
        monkeypatch.setattr(ship_aws, "new_session", lambda: session)
        code, line = run(["deploy", str(SHIP_SPEC)], capsys)
    assert code == 2
    assert line.endswith(
        f"s3:ListBucket: bucket {BUCKET} (storage.write) does not exist; create it (aws s3 mb s3://{BUCKET}) "
        "or point storage.write at a bucket these credentials can write to"
    )
    assert rec.operations() == ["sts:GetCallerIdentity", "s3:HeadBucket"]


def test_a_lambda_role_lambda_cannot_assume(moto_account, recorded, capsys):
    aws, rec = recorded
    boto3.client("iam").delete_role(RoleName=LAMBDA_ROLE)

    code, line = run(["deploy", str(SHIP_SPEC)], capsys)

    assert code == 2
    assert (
        f"lambda:CreateFunction: Lambda refused deploy.function.role_arn arn:aws:iam::123456789012:role/{LAMBDA_ROLE} "
        "(The role defined for the function cannot be assumed by Lambda.); its trust policy must allow "
        "lambda.amazonaws.com"
    ) in line
    assert rec.changes()[-1] == "lambda:CreateFunction"


@pytest.fixture(scope="session")
def no_function_target(tmp_path_factory, ship_target):
    """The ship spec without deploy.function: deploy only checks the named function."""
    from lgbm_pipeline_compiler.ship.target import load_target

    text = SHIP_SPEC.read_text()
    start = text.index("  function:\n")
    end = text.index("\n\n", start)
    spec = tmp_path_factory.mktemp("no-function") / "ship.yaml"
    spec.write_text(text[:start] + text[end + 1 :])
    return load_target(str(spec))


def test_an_unmanaged_function_that_does_not_exist(recorded, no_function_target):
    aws, rec = recorded
    assert no_function_target.spec.deploy.function is None
    assert no_function_target.handler() is None  # nothing to ship: the manifest has no handler
    assert not any(a.name == "deploy_endpoint.py" for a in no_function_target.compiled.artifacts.values())

    with pytest.raises(ShipInputError) as caught:
        make_plan(aws, no_function_target)

    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"lambda:GetFunction: the deploy function arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION} "
        "(deploy.lambda_arn) does not exist; create it from step_scripts/deploy_endpoint.py, or add "
        "deploy.function (role_arn, timeout_seconds, memory_mb) to have deploy create it"
    )
    assert rec.changes() == []
    assert rec.params("lambda:GetFunction") == [
        {"FunctionName": f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}"}
    ]


def test_access_denied_names_the_action(moto_account, ship_target):
    """moto enforcing IAM: credentials whose policy denies s3:PutObject."""
    from moto.core import set_initial_no_auth_action_count

    @set_initial_no_auth_action_count(3)  # the three IAM calls below run unauthenticated
    def denied() -> ShipError:
        iam = boto3.client("iam")
        iam.create_user(UserName="deployer")
        statements = [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
        ]
        iam.put_user_policy(
            UserName="deployer",
            PolicyName="no-uploads",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        key = iam.create_access_key(UserName="deployer")["AccessKey"]
        session = boto3.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name=REGION,
        )
        aws = ship_aws.connect(REGION, session)
        uploads = plan_uploads(aws, ship_target.compiled.artifacts)  # reads are allowed
        with pytest.raises(ShipError) as caught:
            apply_uploads(aws, uploads)
        return caught.value

    error = denied()
    assert isinstance(error, ShipEnvironmentError) and error.exit_code == 3
    first = sorted(ship_target.compiled.artifacts)[0]
    assert str(error) == (
        f"s3:PutObject on {first} was denied (AccessDenied: Access Denied); allow s3:PutObject for these credentials"
    )


def _stub_sagemaker(aws, create_error: tuple[str, str, int]) -> Stubber:
    """SageMaker answered by a Stubber (moto accepts any role and definition): no pipeline yet, then
    CreatePipeline refused with ``create_error`` (code, message, HTTP status)."""
    client = aws.client("sagemaker")
    stubber = Stubber(client)
    stubber.add_client_error(
        "describe_pipeline",
        service_error_code="ResourceNotFound",
        service_message=f"Pipeline 'arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}' does not exist.",
        http_status_code=400,
        expected_params={"PipelineName": PIPELINE},
    )
    code, message, status = create_error
    stubber.add_client_error(
        "create_pipeline", service_error_code=code, service_message=message, http_status_code=status
    )
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    ("error", "exit_code", "expected"),
    [
        (
            (
                "ValidationException",
                f"Could not assume role {ROLE}. Please ensure that the role exists and allows principal "
                "'sagemaker.amazonaws.com' to assume the role.",
                400,
            ),
            2,
            f"sagemaker:CreatePipeline: SageMaker rejected the role {ROLE} (Could not assume role {ROLE}. Please "
            "ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.); "
            "pass a role that exists and trusts sagemaker.amazonaws.com (--role ARN or pipeline.role_arn)",
        ),
        (
            (
                "ValidationException",
                "Unable to parse pipeline definition. Property 'MaxRuntimeInSeconds' has an invalid value.",
                400,
            ),
            2,
            "sagemaker:CreatePipeline: SageMaker rejected the definition (Unable to parse pipeline definition. "
            "Property 'MaxRuntimeInSeconds' has an invalid value.); fix the spec (lgbm-pipeline validate --deep "
            f"{SHIP_SPEC} checks it offline)",
        ),
        (
            (
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: iam:PassRole on "
                f"resource: {ROLE}",
                400,
            ),
            3,
            f"sagemaker:CreatePipeline on {PIPELINE} was denied (AccessDeniedException: User: "
            "arn:aws:iam::123456789012:user/deployer is not authorized to perform: iam:PassRole on resource: "
            f"{ROLE}); allow iam:PassRole for these credentials",
        ),
    ],
    ids=["role", "definition", "pass-role-denied"],
)
def test_create_pipeline_refused(recorded, monkeypatch, capsys, error, exit_code, expected):
    aws, rec = recorded
    stubber = _stub_sagemaker(aws, error)
    monkeypatch.setattr(ship_aws, "connect", lambda region, session=None, strict=True: aws)

    code, line = run(["deploy", str(SHIP_SPEC)], capsys)

    assert (code, line) == (exit_code, f"{SHIP_SPEC}: error: {expected}")
    stubber.assert_no_pending_responses()
    (create,) = rec.params("sagemaker:CreatePipeline")
    assert create["RoleArn"] == ROLE and create["PipelineName"] == PIPELINE


def test_role_override_must_be_a_role_arn(capsys):
    code, line = run(["plan", str(SHIP_SPEC), "--role", "SageMakerExecutionRole"], capsys)
    assert code == 2
    assert "--role 'SageMakerExecutionRole' is not an IAM role ARN" in line


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: object):
        yield self.body


def _throttle(session: boto3.Session, times: int) -> list[int]:
    """DescribePipeline answered ThrottlingException ``times`` times before moto answers; returns
    the list of attempts seen."""
    attempts: list[int] = []

    def answer(request, **_: object):
        attempts.append(1)
        if len(attempts) > times:
            return None
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "throttled"}, _Raw(body))

    session.events.register_first("before-send.sagemaker.DescribePipeline", answer)
    return attempts


def test_throttling_is_retried_with_backoff(moto_account, monkeypatch, ship_target):
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", delays.append)
    session, _ = recording_session()
    attempts = _throttle(session, 2)

    plan = make_plan(ship_aws.connect(REGION, session), ship_target)

    assert plan.pipeline.action == "create"
    assert len(attempts) == 3 and len(delays) == 2 and all(d >= 0 for d in delays)


def test_throttling_that_never_stops_is_a_failure(moto_account, monkeypatch, ship_target):
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _: None)
    session, _ = recording_session()
    attempts = _throttle(session, 1000)

    with pytest.raises(ShipError) as caught:
        make_plan(ship_aws.connect(REGION, session), ship_target)

    assert caught.value.exit_code == 1
    assert len(attempts) == ship_aws.MAX_ATTEMPTS
    assert str(caught.value) == (
        f"sagemaker:DescribePipeline on {PIPELINE} was still throttled after {ship_aws.MAX_ATTEMPTS} attempts "
        "(ThrottlingException: Rate exceeded); retry later"
    )


def test_a_region_other_than_the_pipelines(aws_env, monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code, line = run(["plan", str(SHIP_SPEC)], capsys)
    assert code == 2
    assert (
        "the AWS region from your profile or environment is eu-west-1 but pipeline.region is us-east-1"
        in line
    )


def test_apply_reports_nothing_done_on_a_refused_pipeline(recorded, ship_target):
    """The uploads and the function went through before CreatePipeline failed: a rerun resumes."""
    aws, rec = recorded
    stubber = _stub_sagemaker(aws, ("ValidationException", "Unable to parse pipeline definition.", 400))
    said: list[str] = []
    with pytest.raises(ShipInputError):
        apply_plan(aws, make_plan(aws, ship_target), said.append)
    stubber.deactivate()
    n = len(ship_target.compiled.artifacts)
    assert said == [f"uploaded {n} artifact(s), 0 already in S3", f"created function {FUNCTION}"]
    assert rec.changes() == [*["s3:PutObject"] * n, "lambda:CreateFunction", "sagemaker:CreatePipeline"]
