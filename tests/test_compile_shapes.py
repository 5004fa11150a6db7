"""Every step's Arguments validate against botocore's request shape for its job kind.

Pipeline expressions ({"Get": ...}, {"Std:Join": ...}, {"Std:JsonGet": ...}) are replaced by a
placeholder of the type the shape expects at that position, and the names SageMaker assigns at
execution time (which the SDK pops from the definition) are filled in, so what is validated is
exactly the request SageMaker will send.
"""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "ClarifyCheck": "CreateProcessingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
}
# Names SageMaker generates per execution; the SDK removes them from the definition.
ASSIGNED_AT_EXECUTION = {
    "CreateProcessingJob": {"ProcessingJobName": "pipelines-exec-step"},
    "CreateHyperParameterTuningJob": {"HyperParameterTuningJobName": "pipelines-exec-tune"},
    "CreateModel": {"ModelName": "pipelines-exec-model"},
    "CreateModelPackage": {},
}
EXPRESSION_KEYS = {"Get", "Std:Join", "Std:JsonGet"}
PLACEHOLDERS = {
    "string": "s3://placeholder-bucket/key",
    "integer": 1,
    "long": 1,
    "boolean": True,
    "float": 1.0,
    "double": 1.0,
}


@pytest.fixture(scope="module")
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS


def with_placeholders(value: Any, shape: Any) -> Any:
    """A copy of ``value`` with every pipeline expression replaced by a value of ``shape``'s type."""
    if is_expression(value):
        if shape.type_name not in PLACEHOLDERS:
            raise AssertionError(f"a pipeline expression stands where botocore expects a {shape.type_name}")
        return PLACEHOLDERS[shape.type_name]
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            k: with_placeholders(v, shape.members[k]) if k in shape.members else v for k, v in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [with_placeholders(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: with_placeholders(v, shape.value) for k, v in value.items()}
    return value


def all_steps(steps: list[dict]) -> list[dict]:
    out = []
    for step in steps:
        out.append(step)
        if step["Type"] == "Condition":
            out += all_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])
    return out


def request_for(step: dict, model: Any) -> tuple[str, dict]:
    operation = OPERATIONS[step["Type"]]
    shape = model.operation_model(operation).input_shape
    request = {**ASSIGNED_AT_EXECUTION[operation], **copy.deepcopy(step["Arguments"])}
    return operation, with_placeholders(request, shape)


def validate(operation: str, request: dict, model: Any) -> None:
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


def test_every_job_step_matches_its_botocore_shape(census_compiled, sagemaker_model):
    steps = [s for s in all_steps(census_compiled.definition["Steps"]) if s["Type"] in OPERATIONS]
    assert sorted(s["Type"] for s in steps) == sorted(
        ["Processing", "Processing", "Tuning", "Model", "ClarifyCheck", "ClarifyCheck", "RegisterModel"]
    )
    for step in steps:
        operation, request = request_for(step, sagemaker_model)
        try:
            validate(operation, request, sagemaker_model)
        except ParamValidationError as err:
            pytest.fail(f"step {step['Name']} ({operation}): {err}")


def test_the_shape_check_catches_an_empty_vpc_config(census_compiled, sagemaker_model):
    """The class of error a hand-written peer ships: empty VpcConfig lists (SageMaker wants ≥ 1)."""
    step = copy.deepcopy(census_compiled.definition["Steps"][0])
    step["Arguments"]["NetworkConfig"] = {"VpcConfig": {"SecurityGroupIds": [], "Subnets": []}}
    operation, request = request_for(step, sagemaker_model)
    with pytest.raises(ParamValidationError, match="SecurityGroupIds"):
        validate(operation, request, sagemaker_model)


def test_the_shape_check_catches_an_unknown_field(census_compiled, sagemaker_model):
    step = copy.deepcopy(census_compiled.definition["Steps"][1])
    step["Arguments"]["TrainingJobDefinition"]["InstanceTypo"] = "ml.m5.xlarge"
    operation, request = request_for(step, sagemaker_model)
    with pytest.raises(ParamValidationError, match="InstanceTypo"):
        validate(operation, request, sagemaker_model)


def test_no_step_carries_an_empty_vpc_config(census_compiled):
    import json

    assert "VpcConfig" not in json.dumps(census_compiled.definition)
