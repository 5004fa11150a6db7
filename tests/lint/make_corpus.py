"""Writes the mutated definitions of the lint corpus: ``tests/lint/corpus/<case>.json``.

Each case is a clean compiled definition (``tests/golden/minimal/expected.json``, or
``specs/census.json`` where the case needs parameters, checks, a registry or a Lambda step) with one
deliberate problem, described in ``CASES``. The files are committed; run this deliberately (it
overwrites them), then regenerate the expected findings and read them::

    python tests/lint/make_corpus.py
    LGBM_REGEN_GOLDEN=1 python -m pytest tests/lint/test_lint_corpus.py -q
    git diff tests/lint/corpus

The spec cases (``<case>.yaml``, checked with ``validate --deep``) are written by hand.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
BASES = {
    "minimal": REPO / "tests" / "golden" / "minimal" / "expected.json",
    "census": REPO / "specs" / "census.json",
}

Definition = dict[str, Any]


def steps(d: Definition) -> list[Definition]:
    out = []
    for s in d["Steps"]:
        out.append(s)
        if s["Type"] == "Condition":
            out += s["Arguments"].get("IfSteps", []) + s["Arguments"].get("ElseSteps", [])
    return out


def step(d: Definition, name: str) -> Definition:
    return next(s for s in steps(d) if s["Name"] == name)


def args(d: Definition, name: str) -> Definition:
    return step(d, name)["Arguments"]


def replace_text(d: Definition, old: str, new: str) -> Definition:
    return json.loads(json.dumps(d).replace(old, new))


def _set(path: str, value: Any) -> Callable[[Definition], Any]:
    """A mutation setting ``Step.Key.Key`` (first part a step name, ints are list indexes)."""

    def mutate(d: Definition) -> None:
        name, *keys = path.split(".")
        node: Any = step(d, name)
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value

    return mutate


def _delete(path: str) -> Callable[[Definition], Any]:
    def mutate(d: Definition) -> None:
        name, *keys = path.split(".")
        node: Any = step(d, name)
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[keys[-1]]

    return mutate


def _text(old: str, new: str) -> Callable[[Definition], Definition]:
    return lambda d: replace_text(d, old, new)


def _rename_step(old: str, new: str) -> Callable[[Definition], Definition]:
    """The step renamed everywhere: its Name, Get paths and S3 path segments."""
    return lambda d: json.loads(
        json.dumps(d).replace(f'"{old}"', f'"{new}"').replace(f"Steps.{old}.", f"Steps.{new}.")
    )


def _duplicate_evaluate(d: Definition) -> None:
    d["Steps"].insert(4, copy.deepcopy(step(d, "Evaluate")))


def _add_fail_after_deploy(d: Definition) -> None:
    gate = step(d, "F1Gate")
    gate["Arguments"]["IfSteps"].append(
        {
            "Name": "DeployFailed",
            "Type": "Fail",
            "DependsOn": ["Deploy"],
            "Arguments": {
                "ErrorMessage": {
                    "Std:Join": {
                        "On": " ",
                        "Values": ["deploy returned", {"Get": "Steps.Deploy.OutputParameters['statuscode']"}],
                    }
                }
            },
        }
    )


def _add_emr(arguments: Definition) -> Callable[[Definition], None]:
    def mutate(d: Definition) -> None:
        d["Steps"].append({"Name": "Aggregate", "Type": "EMR", "Arguments": arguments})

    return mutate


def _add_fail(arguments: Definition) -> Callable[[Definition], None]:
    def mutate(d: Definition) -> None:
        step(d, "F1Gate")["Arguments"]["ElseSteps"].append(
            {"Name": "TooWeak", "Type": "Fail", "Arguments": arguments}
        )

    return mutate


EVAL_OUT = "Evaluate.Arguments.ProcessingOutputConfig.Outputs.0"
TUNE_DEF = "Tune.Arguments.TrainingJobDefinition"
TUNE_CFG = "Tune.Arguments.HyperParameterTuningJobConfig"
CLUSTER = "Preprocess.Arguments.ProcessingResources.ClusterConfig"
GATE = "F1Gate.Arguments.Conditions.0"
TRAIN_URI = "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
BEST = "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"
JAR = {
    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://acme/jobs/aggregate.py"]}
}

# case → (base, mutation, what is wrong)
CASES: dict[str, tuple[str, Callable[[Definition], Any], str]] = {
    # 1. API shapes (botocore request shapes, enums, limits, patterns; step fields)
    "wrong_type_volume_size": (
        "minimal",
        _set(f"{CLUSTER}.VolumeSizeInGB", "30"),
        "a string where an integer goes",
    ),
    "wrong_type_container_arguments": (
        "minimal",
        _set("Evaluate.Arguments.AppSpecification.ContainerArguments", "--metrics f1"),
        "a string where a list goes",
    ),
    "bad_enum_s3_data_type": (
        "minimal",
        _set("Preprocess.Arguments.ProcessingInputs.0.S3Input.S3DataType", "S3Prefixes"),
        "a value outside the enum",
    ),
    "bad_enum_tuning_strategy": (
        "minimal",
        _set(f"{TUNE_CFG}.Strategy", "random"),
        "enum values are case-sensitive",
    ),
    "bad_enum_instance_type": (
        "minimal",
        _set("Evaluate.Arguments.ProcessingResources.ClusterConfig.InstanceType", "ml.m5.xlargee"),
        "a misspelt instance type",
    ),
    "container_argument_too_long": (
        "minimal",
        _set("Evaluate.Arguments.AppSpecification.ContainerArguments.7", ",".join(["f1"] * 100)),
        "a container argument over 256 characters",
    ),
    "volume_size_over_maximum": (
        "minimal",
        _set(f"{CLUSTER}.VolumeSizeInGB", 99999),
        "a number over the maximum",
    ),
    "parallel_jobs_zero": (
        "minimal",
        _set(f"{TUNE_CFG}.ResourceLimits.MaxParallelTrainingJobs", 0),
        "a number under the minimum",
    ),
    "role_arn_pattern": (
        "minimal",
        _set("Evaluate.Arguments.RoleArn", "arn:aws:iam::1111:role/SageMaker"),
        "an account id of 4 digits",
    ),
    "missing_image_uri": (
        "minimal",
        _delete("Evaluate.Arguments.AppSpecification.ImageUri"),
        "a required member missing",
    ),
    "unknown_request_member": (
        "minimal",
        _set(f"{TUNE_DEF}.InstanceTypo", "ml.m5.xlarge"),
        "a member the request does not have",
    ),
    "missing_step_arguments": ("minimal", _delete("Evaluate.Arguments"), "a step without Arguments"),
    "unknown_step_type": ("minimal", _set("Evaluate.Type", "Procesing"), "a misspelt step type"),
    "unknown_step_field": ("minimal", _set("F1Gate.DependOn", ["Evaluate"]), "DependOn for DependsOn"),
    "lambda_output_type": ("census", _set("Deploy.OutputParameters.0.OutputType", "Int"), "Int for Integer"),
    "lambda_without_function": ("census", _delete("Deploy.FunctionArn"), "a Lambda step without FunctionArn"),
    "lambda_function_arn_pattern": (
        "census",
        _set("Deploy.FunctionArn", "arn:aws:lambda:us-east-1:1111:function:deploy"),
        "a malformed function ARN",
    ),
    "clarify_check_type": (
        "census",
        _set("ModelBiasCheck.CheckType", "MODEL_BIASS"),
        "a misspelt check type",
    ),
    "clarify_skip_check_type": (
        "census",
        _set("ModelBiasCheck.SkipCheck", "false"),
        "a string where a boolean goes",
    ),
    "condition_type": ("minimal", _set(f"{GATE}.Type", "GreaterThanOrEqual"), "a misspelt condition type"),
    "condition_missing_right_value": (
        "minimal",
        _delete(f"{GATE}.RightValue"),
        "a binary condition without RightValue",
    ),
    "emr_without_cluster": (
        "minimal",
        _add_emr({"StepConfig": JAR}),
        "an EMR step with neither ClusterId nor ClusterConfig",
    ),
    "emr_without_jar": (
        "minimal",
        _add_emr({"ClusterId": "j-1ABCDEFGHIJKL", "StepConfig": {"HadoopJarStep": {"Args": ["x"]}}}),
        "a HadoopJarStep without Jar",
    ),
    "fail_step_misspelt_message": (
        "census",
        _add_fail({"ErrorMesage": "F1 below the threshold"}),
        "ErrorMesage for ErrorMessage",
    ),
    "parameter_default_type": (
        "census",
        lambda d: d["Parameters"][1].__setitem__("DefaultValue", "1"),
        "an Integer parameter (ProcessingInstanceCount) with a string default",
    ),
    # 2. references and names
    "step_name_too_long": (
        "minimal",
        _rename_step("Evaluate", "EvaluateTheTunedLightGBMModelOnTheHeldOutTestSplitOfTheCensusData"),
        "a step name of 65 characters",
    ),
    "step_name_with_space": ("minimal", _rename_step("Evaluate", "Evaluate model"), "a space in a step name"),
    "duplicate_step_name": ("minimal", _duplicate_evaluate, "two steps named Evaluate"),
    "depends_on_misspelt": ("minimal", _set("F1Gate.DependsOn", ["Evalute"]), "DependsOn a misspelt step"),
    "depends_on_itself": ("minimal", _set("Evaluate.DependsOn", ["Evaluate"]), "a step depending on itself"),
    "cycle": (
        "minimal",
        _set("Preprocess.DependsOn", ["Evaluate"]),
        "Preprocess waits for Evaluate, which reads Preprocess's outputs",
    ),
    "unknown_parameter": (
        "census",
        _text('"Parameters.TrainingInstanceType"', '"Parameters.TrainingInstanceTyp"'),
        "a Get of an undeclared parameter",
    ),
    "unknown_execution_variable": (
        "minimal",
        _text('"Execution.PipelineExecutionId"', '"Execution.PipelineExecutionID"'),
        "ID for Id",
    ),
    "unknown_get_root": (
        "minimal",
        _text(f'"{TRAIN_URI}"', f'"{TRAIN_URI.replace("Steps.", "Step.", 1)}"'),
        "Step. for Steps.",
    ),
    "unknown_step_in_get": (
        "minimal",
        _text('"Steps.Preprocess.', '"Steps.Preprocces.'),
        "a Get of a misspelt step",
    ),
    "processing_output_misspelt": (
        "minimal",
        _text("Outputs['test']", "Outputs['tset']"),
        "an output name the step does not have",
    ),
    "property_of_another_step_type": (
        "minimal",
        _text(f'"{BEST}"', '"Steps.Tune.ModelArtifacts.S3ModelArtifacts"'),
        "a Training step's property on a Tuning step",
    ),
    "tuning_property_misspelt": (
        "minimal",
        _text(f'"{BEST}"', '"Steps.Tune.TrainingJobSummaries[0].TrainingJobNam"'),
        "TrainingJobNam",
    ),
    "list_property_without_index": (
        "minimal",
        _text(f'"{BEST}"', '"Steps.Tune.TrainingJobSummaries.TrainingJobName"'),
        "a list property read without an index",
    ),
    "register_property_misspelt": (
        "census",
        _text("Steps.Register-RegisterModel.ModelPackageArn", "Steps.Register-RegisterModel.ModelPackageArm"),
        "ModelPackageArm",
    ),
    "clarify_property_misspelt": (
        "census",
        _text(
            "Steps.ModelBiasCheck.CalculatedBaselineConstraints",
            "Steps.ModelBiasCheck.CalculatedBaselineConstraint",
        ),
        "a ClarifyCheck property misspelt",
    ),
    "lambda_output_misspelt": (
        "census",
        _add_fail_after_deploy,
        "statuscode for the Lambda's statusCode output",
    ),
    "property_file_misspelt": (
        "minimal",
        _text("PropertyFiles.EvaluationReport", "PropertyFiles.EvaluationRepor"),
        "a JsonGet of an undeclared property file",
    ),
    "property_file_wrong_output": (
        "minimal",
        _set("Evaluate.PropertyFiles.0.OutputName", "evaluaton"),
        "a property file on an output the step does not have",
    ),
    "property_file_wrong_file": (
        "minimal",
        _set("Evaluate.PropertyFiles.0.FilePath", "metrics.json"),
        "a property file evaluate.py does not write",
    ),
    "gate_path_not_in_report": (
        "minimal",
        _set(f"{GATE}.LeftValue.Std:JsonGet.Path", "classification_metrics.f1_score.value"),
        "f1_score for f1",
    ),
    "gate_metric_not_reported": (
        "minimal",
        _set("Evaluate.Arguments.AppSpecification.ContainerArguments.7", "precision,recall"),
        "the gate reads f1, which the step is told not to report",
    ),
    "job_name_prefix_too_long": (
        "minimal",
        _set(f"{TUNE_DEF}.StaticHyperParameters.sagemaker_job_name", '"census-income-lgbm-dev-tuning-job"'),
        "a tuning job name over 32 characters",
    ),
    "parameter_name_with_space": (
        "census",
        _text("F1Threshold", "F1 Threshold"),
        "a space in a parameter name",
    ),
    # 4. AWS's schema (what only the schema checks)
    "schema_version": (
        "minimal",
        lambda d: d.__setitem__("Version", "2021-01-01"),
        "a definition version SageMaker does not have",
    ),
    "schema_retry_policy": (
        "minimal",
        _set("Evaluate.RetryPolicies", [{"ExceptionType": ["Step.Throttled"], "MaxAttempts": 3}]),
        "an exception type retry policies do not have",
    ),
}


def write() -> None:
    CORPUS.mkdir(exist_ok=True)
    bases = {name: json.loads(path.read_text()) for name, path in BASES.items()}
    for case, (base, mutate, _) in sorted(CASES.items()):
        definition = copy.deepcopy(bases[base])
        result = mutate(definition)
        if isinstance(result, dict):
            definition = result
        text = json.dumps(definition, indent=2, sort_keys=True) + "\n"
        (CORPUS / f"{case}.json").write_text(text)


if __name__ == "__main__":
    write()
