"""Executors that need no container: Condition and Fail on a hand-written definition, the
transform's CSV filters and mini-batching, and the preflight's view of every input kind."""

from __future__ import annotations

import pytest

from lgbm_pipeline_compiler.local.context import StepFailed
from lgbm_pipeline_compiler.local.executors.transform import _batches, select
from lgbm_pipeline_compiler.local.runner import LocalRun, RunError, RunOptions, input_uris

GATED = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "Score", "Type": "Float", "DefaultValue": 0.9},
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
    ],
    "Steps": [
        {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": {"Get": "Parameters.Score"},
                        "RightValue": {"Get": "Parameters.Threshold"},
                    }
                ],
                "IfSteps": [],
                "ElseSteps": [
                    {
                        "Name": "TooLow",
                        "Type": "Fail",
                        "Arguments": {
                            "ErrorMessage": {
                                "Std:Join": {
                                    "On": " ",
                                    "Values": ["score below", {"Get": "Parameters.Threshold"}],
                                }
                            }
                        },
                    }
                ],
            },
        }
    ],
}


def run(tmp_path, **parameters):
    options = RunOptions(work_dir=tmp_path / "work", parameters=parameters)
    return LocalRun(GATED, {"artifacts": []}, tmp_path, options).run()


def test_condition_executor_takes_the_if_branch_and_skips_the_fail_step(tmp_path):
    execution = run(tmp_path)
    assert execution.status == "Succeeded"
    assert execution.steps["Gate"].properties == {"Outcome": True}
    assert execution.steps["Gate"].note == "0.9 GreaterThanOrEqualTo 0.5 → if branch"
    assert execution.steps["TooLow"].status == "Skipped"


def test_fail_step_fails_the_execution_with_its_message(tmp_path):
    execution = run(tmp_path, Score="0.3")
    assert execution.steps["Gate"].properties == {"Outcome": False}
    assert execution.steps["TooLow"].status == "Failed"
    assert execution.steps["TooLow"].failure_reason == "Fail step TooLow: score below 0.5"
    assert execution.status == "Failed"


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("$", ["a", "b", "c", "d", "e"]),
        ("$[1:]", ["b", "c", "d", "e"]),
        ("$[0,-2,-1]", ["a", "d", "e"]),
        ("$[1:3]", ["b", "c", "d"]),  # the data-processing guide: both ends of a slice included
        ("$[0,3:]", ["a", "d", "e"]),
        ("$[:1]", ["a", "b"]),
    ],
)
def test_csv_filters_select_columns_as_batch_transform_does(path, kept):
    assert select(["a", "b", "c", "d", "e"], path) == kept


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("$[7]", "a record has 3 columns, no index 7"),
        ("$.features", "unsupported filter '$.features' for text/csv"),
        ("$[a]", "'a' is not an index or slice"),
    ],
)
def test_csv_filters_refuse_what_cannot_apply(path, message):
    with pytest.raises(StepFailed, match=message.replace("[", r"\[").replace("$", r"\$").replace(".", r"\.")):
        select(["x", "y", "z"], path)


def test_multi_record_batches_fill_the_payload_and_single_record_sends_one_each():
    records = ["a" * 9] * 5  # 10 bytes each with the newline
    assert [len(b) for b in _batches(records, multi=True, max_bytes=30)] == [3, 2]
    assert [len(b) for b in _batches(records, multi=False, max_bytes=30)] == [1] * 5
    with pytest.raises(StepFailed, match="exceeds MaxPayloadInMB"):
        _batches(["a" * 40], multi=True, max_bytes=30)


def test_preflight_sees_every_input_kind():
    step = {
        "ProcessingInputs": [{"S3Input": {"S3Uri": "s3://b/processing"}}],
        "TrainingJobDefinition": {
            "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3Uri": "s3://b/train"}}}]
        },
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/transform"}}},
        "PrimaryContainer": {"ModelDataUrl": "s3://b/model.tar.gz"},
        "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://b/an-output"}}]},
    }
    assert sorted(input_uris(step)) == [
        "s3://b/model.tar.gz",
        "s3://b/processing",
        "s3://b/train",
        "s3://b/transform",
    ]


def test_preflight_names_a_missing_transform_input(tmp_path):
    definition = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            {
                "Name": "Score",
                "Type": "Transform",
                "Arguments": {
                    "ModelName": "m",
                    "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": "s3://bucket/to-score.csv"}}},
                    "TransformOutput": {"S3OutputPath": "s3://bucket/out"},
                },
            }
        ],
    }
    with pytest.raises(
        RunError, match=r"step 'Score' reads s3://bucket/to-score.csv, which is not in the local"
    ):
        LocalRun(definition, {"artifacts": []}, tmp_path, RunOptions(work_dir=tmp_path / "w")).preflight()
