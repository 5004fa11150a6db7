"""Expressions resolve as SageMaker does; what cannot be resolved names the step and expression."""

from __future__ import annotations

import pytest

from lgbm_pipeline_compiler.local.expressions import ExpressionError, Resolver, path_tokens

PROPS = {
    "Preprocess": {
        "ProcessingOutputConfig": {"Outputs": {"train": {"S3Output": {"S3Uri": "s3://b/run/train"}}}},
    },
    "Tune": {"TrainingJobSummaries": [{"TrainingJobName": "tune-001"}, {"TrainingJobName": "tune-002"}]},
}


def _resolver(files=None) -> Resolver:
    def read(step: str, name: str):
        return (files or {})[(step, name)]

    return Resolver({"F1Threshold": 0.68, "Flag": False}, {"PipelineExecutionId": "exec-1"}, PROPS, read)


def test_path_tokens():
    assert path_tokens("Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri") == [
        "Steps", "Preprocess", "ProcessingOutputConfig", "Outputs", "train", "S3Output", "S3Uri",
    ]  # fmt: skip
    assert path_tokens("Steps.Tune.TrainingJobSummaries[0].TrainingJobName") == [
        "Steps", "Tune", "TrainingJobSummaries", 0, "TrainingJobName",
    ]  # fmt: skip


def test_get_parameters_execution_and_step_properties():
    resolve = _resolver()
    assert resolve({"Get": "Parameters.F1Threshold"}) == 0.68
    assert resolve({"Get": "Execution.PipelineExecutionId"}) == "exec-1"
    assert resolve({"Get": "Steps.Tune.TrainingJobSummaries[1].TrainingJobName"}) == "tune-002"
    uri = {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    assert resolve({"Channel": [uri]}) == {"Channel": ["s3://b/run/train"]}


def test_join_renders_values_like_sagemaker():
    join = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                "b",
                {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"},
                "output/model.tar.gz",
            ],
        }
    }
    assert _resolver()(join) == "s3://b/tune-001/output/model.tar.gz"
    assert _resolver()({"Std:Join": {"On": "-", "Values": [{"Get": "Parameters.Flag"}, 3]}}) == "false-3"


def test_json_get_reads_the_property_file():
    files = {("Evaluate", "EvaluationReport"): {"classification_metrics": {"f1": {"value": 0.72}}}}
    expr = {
        "Std:JsonGet": {
            "Path": "classification_metrics.f1.value",
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
        }
    }
    assert _resolver(files)(expr) == 0.72


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            {"Get": "Parameters.Nope"},
            "step 'Gate': cannot resolve {'Get': 'Parameters.Nope'}: no parameter 'Nope'",
        ),
        ({"Get": "Steps.Missing.ModelName"}, "step 'Missing' has not run"),
        (
            {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
            "no 'test' in keys train",
        ),
        ({"Get": "Steps.Tune.TrainingJobSummaries[5].TrainingJobName"}, "no 5 in a list of 2"),
        ({"Get": "Pipeline.Whatever"}, "unknown root 'Pipeline'"),
    ],
)
def test_unresolvable_expressions_name_step_and_expression(expression, message):
    with pytest.raises(ExpressionError) as err:
        _resolver()(expression, "Gate")
    assert message in str(err.value)
    assert "Gate" in str(err.value)
