"""Every step's request is one SageMaker accepts: botocore's shape plus what only the service checks.

The checker is ``lint.requests.check_request`` — the same one compile runs before it emits a
definition and the local runner runs before each job.
"""

from __future__ import annotations

import copy
import json

import pytest

from lgbm_pipeline_compiler.errors import CompileError
from lgbm_pipeline_compiler.lint.requests import (
    OPERATIONS,
    check_request,
    service_model,
    validation_message,
    walk_steps,
)


def problems_of(step: dict) -> list[str]:
    return [p.message for p in check_request(step["Type"], step["Arguments"])]


def test_every_job_step_is_a_request_sagemaker_accepts(census_compiled):
    steps = [s for s in walk_steps(census_compiled.definition["Steps"]) if s["Type"] in OPERATIONS]
    assert sorted(s["Type"] for s in steps) == sorted(
        [
            "Processing",
            "Processing",
            "Tuning",
            "Model",
            "ClarifyCheck",
            "ClarifyCheck",
            "Processing",
            "QualityCheck",
            "RegisterModel",
            "Transform",
        ]
    )
    assert {s["Name"]: problems_of(s) for s in steps} == {s["Name"]: [] for s in steps}


def test_the_check_catches_an_empty_vpc_config(census_compiled):
    """The class of error a hand-written peer ships: empty VpcConfig lists (SageMaker wants ≥ 1)."""
    step = copy.deepcopy(census_compiled.definition["Steps"][0])
    step["Arguments"]["NetworkConfig"] = {"VpcConfig": {"SecurityGroupIds": [], "Subnets": []}}
    assert any("SecurityGroupIds" in p for p in problems_of(step))


def test_the_check_catches_an_unknown_field(census_compiled):
    step = copy.deepcopy(census_compiled.definition["Steps"][1])
    step["Arguments"]["TrainingJobDefinition"]["InstanceTypo"] = "ml.m5.xlarge"
    assert any('Unknown parameter in TrainingJobDefinition: "InstanceTypo"' in p for p in problems_of(step))


def test_the_check_catches_what_only_sagemaker_checks(census_compiled):
    """Enums, maximum lengths, numeric ranges and patterns, in SageMaker's wording."""
    step = copy.deepcopy(census_compiled.definition["Steps"][0])
    arguments = step["Arguments"]
    arguments["AppSpecification"]["ContainerArguments"].append("x" * 300)
    arguments["ProcessingResources"]["ClusterConfig"].update(
        InstanceType="ml.m5.xlargee", VolumeSizeInGB=99999
    )
    arguments["RoleArn"] = "arn:aws:iam::1234:role/x"
    position = len(arguments["AppSpecification"]["ContainerArguments"])
    assert problems_of(step) == [
        f"Value 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…(300 characters)' at "
        f"'appSpecification.containerArguments.{position}.member' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
        "Value 'ml.m5.xlargee' at 'processingResources.clusterConfig.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ml.t3.medium, ml.t3.large, ml.t3.xlarge, "
        "ml.t3.2xlarge, ml.m4.xlarge, ml.m4.2xlarge, ml.m4.4xlarge, ml.m4.10xlarge, … ("
        + str(len(service_model().shape_for("ProcessingInstanceType").enum))
        + " values)]; did you mean 'ml.m5.xlarge'?",
        "Value '99999' at 'processingResources.clusterConfig.volumeSizeInGB' failed to satisfy constraint: "
        "Member must have value less than or equal to 16384",
        "Value 'arn:aws:iam::1234:role/x' at 'roleArn' failed to satisfy constraint: Member must satisfy "
        r"regular expression pattern: arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
    ]


def test_expressions_are_placeholders_not_values(census_compiled):
    """A parameter standing for an instance type is not refused for not being in the enum."""
    tune = census_compiled.definition["Steps"][1]
    resources = tune["Arguments"]["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert problems_of(tune) == []


def test_validation_message_is_sagemakers_wording():
    step = {
        "Type": "Transform",
        "Arguments": {
            "ModelName": "m",
            "BatchStrategy": "ManyRecords",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/k"}}
            },
            "TransformOutput": {"S3OutputPath": "s3://b/out"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }
    assert validation_message(check_request(step["Type"], step["Arguments"])) == (
        "ValidationException: 1 validation error detected: Value 'ManyRecords' at 'batchStrategy' failed to "
        "satisfy constraint: Member must satisfy enum value set: [MultiRecord, SingleRecord]; did you mean "
        "'MultiRecord'?"
    )


def test_compile_refuses_a_definition_sagemaker_would_refuse(census_compiled):
    from lgbm_pipeline_compiler.compiler import refuse_what_sagemaker_would_refuse

    definition = copy.deepcopy(census_compiled.definition)
    definition["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = 0
    with pytest.raises(CompileError) as caught:
        refuse_what_sagemaker_would_refuse(definition)
    assert str(caught.value) == (
        "the definition has requests SageMaker would refuse:\n  step Preprocess: Invalid value for parameter "
        "ProcessingResources.ClusterConfig.VolumeSizeInGB, value: 0, valid min value: 1"
    )


def test_no_step_carries_an_empty_vpc_config(census_compiled):
    assert "VpcConfig" not in json.dumps(census_compiled.definition)
