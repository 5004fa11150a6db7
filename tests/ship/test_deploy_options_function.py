"""The deploy Lambda of a spec with endpoint options: its zip holds the handler and its modules, and
its environment rebuilds, for the EventBridge approval rule, exactly the event the pipeline's Deploy
step passes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from lgbm_pipeline_compiler.step_scripts import deploy_endpoint

from lgbm_pipeline_compiler.lint.requests import walk_steps
from lgbm_pipeline_compiler.ship.function import desired_function, handler_files, handler_zip
from lgbm_pipeline_compiler.ship.target import Target, load_target

pytestmark = pytest.mark.xdist_group("ship-targets")

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def options_target() -> Target:
    return load_target(str(GOLDEN / "deploy_options" / "spec.yaml"))


def deploy_arguments(target: Target) -> dict:
    (step,) = [s for s in walk_steps(target.definition["Steps"]) if s["Type"] == "Lambda"]
    return step["Arguments"]


def test_the_zip_holds_the_handler_and_its_modules(options_target):
    desired = desired_function(options_target)
    files = handler_files(options_target)
    assert sorted(files) == ["deploy_endpoint.py", "deploy_scaling.py", "deploy_variants.py"]
    assert desired.code == handler_zip(files)
    with zipfile.ZipFile(io.BytesIO(desired.code)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == files


def test_the_environment_rebuilds_the_deploy_steps_event(options_target):
    """The approval rule's event, built from the function's environment, is the Deploy step's event
    (but for the package ARN, which the rule's event carries)."""
    variables = desired_function(options_target).configuration["Environment"]["Variables"]
    arguments = deploy_arguments(options_target)
    assert json.loads(variables["AUTOSCALING"]) == arguments["autoscaling"]
    arn = "arn:aws:sagemaker:us-east-1:111122223333:model-package/census-income-lgbm/7"
    rule_event = {"detail-type": deploy_endpoint.APPROVAL_EVENT, "detail": {"ModelPackageArn": arn}}
    rebuilt = deploy_endpoint.event_from_approval(rule_event, variables)
    expected = {**arguments, "model_package_arn": arn, "instance_count": str(arguments["instance_count"])}
    assert expected.pop("endpoint_config_name") == arguments["endpoint_name"]  # the default either way
    assert rebuilt == expected
    assert deploy_endpoint.parse_event(rebuilt) == deploy_endpoint.parse_event(
        {**arguments, "model_package_arn": arn}
    )
    assert set(variables) == {
        "ENDPOINT_NAME", "ROLE_ARN", "INSTANCE_TYPE", "INSTANCE_COUNT",
        "VARIANTS", "DATA_CAPTURE_CONFIG", "AUTOSCALING",
    }  # fmt: skip
