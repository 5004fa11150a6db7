"""The deploy Lambda's lifecycle edges moto does not have (it creates functions Active at once):
a function still being created or updated is waited for before it is updated."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from ship.account import FUNCTION, REGION

from lgbm_pipeline_compiler.ship import aws as ship_aws
from lgbm_pipeline_compiler.ship.function import apply_function, code_sha256, desired_function, plan_function

pytestmark = pytest.mark.xdist_group("ship-targets")


def configuration(desired, **state) -> dict:
    return {
        "FunctionName": FUNCTION,
        "FunctionArn": desired.arn,
        "CodeSha256": "an-older-zip",
        **desired.configuration,
        **state,
    }


def test_an_update_waits_until_the_function_is_no_longer_busy(aws_env, ship_target):
    aws = ship_aws.connect(REGION, boto3.Session(region_name=REGION))
    desired = desired_function(ship_target)
    sts = Stubber(aws.client("sts"))
    sts.add_response("get_caller_identity", {"Account": "123456789012"}, {})
    lam = Stubber(aws.client("lambda"))
    fn = {"FunctionName": FUNCTION}
    lam.add_response("get_function", {"Configuration": configuration(desired, State="Pending")}, fn)
    lam.add_response("get_function", {"Configuration": configuration(desired, State="Active")}, fn)
    lam.add_response(
        "get_function",
        {"Configuration": configuration(desired, State="Active", LastUpdateStatus="Successful")},
        fn,
    )
    lam.add_response(
        "update_function_code",
        {"FunctionName": FUNCTION, "CodeSha256": code_sha256(desired.code)},
        {"FunctionName": FUNCTION, "ZipFile": desired.code, "Publish": False},
    )
    sts.activate()
    lam.activate()

    plan = plan_function(aws, desired)
    assert (plan.action, plan.code_changed, plan.changes, plan.busy) == ("update", True, {}, True)
    assert apply_function(aws, plan) == f"updated function {FUNCTION}: code"

    lam.assert_no_pending_responses()
    sts.assert_no_pending_responses()


def test_a_function_in_another_account_is_refused_before_anything(aws_env, ship_target):
    aws = ship_aws.connect(REGION, boto3.Session(region_name=REGION))
    sts = Stubber(aws.client("sts"))
    sts.add_response("get_caller_identity", {"Account": "999999999999"}, {})
    sts.activate()

    with pytest.raises(ship_aws.ShipInputError) as caught:
        plan_function(aws, desired_function(ship_target))

    assert str(caught.value) == (
        f"deploy.lambda_arn arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION} is in account "
        "123456789012 but the credentials are account 999999999999; deploy with credentials of "
        "123456789012, or fix deploy.lambda_arn"
    )
