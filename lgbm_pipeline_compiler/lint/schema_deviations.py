"""Where AWS's published pipeline-definition schema is stale: the written, minimal list of
deviations ``aws_schema.py`` applies before validating, each with its reason.

Each entry is something the SageMaker SDK (2.257) emits and SageMaker accepts, which the schema
refuses; each is needed by at least one of the definitions the tests expect to be clean (the
census definition, the goldens, a definition written by hand with the SDK): a test drops each in
turn and sees a schema error come back. Each patch changes a copy of the schema in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_BOOL = {"$ref": "#/definitions/BooleanArgumentValue"}
_STRING = {"$ref": "#/definitions/StringArgumentValue"}


def at(schema: dict[str, Any], *keys: str) -> dict[str, Any]:
    node = schema
    for key in keys:
        node = node[key]
    return node


def _add_property(*keys: str, name: str, value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda schema: at(schema, *keys, "properties").__setitem__(name, value)


def _add_choice(*keys: str, ref: str) -> Callable[[dict[str, Any]], None]:
    return lambda schema: at(schema, *keys, "oneOf").append({"$ref": f"#/definitions/{ref}"})


_JOIN = {
    "type": "object",
    "properties": {
        "Std:Join": {
            "type": "object",
            "properties": {"On": {"type": "string"}, "Values": {"type": "array"}},
            "required": ["Values"],
            "additionalProperties": False,
        }
    },
    "required": ["Std:Join"],
    "additionalProperties": False,
}
_PROCESSING_ITEMS = ("definitions", "ProcessingArgs", "properties")


_JSON_GET = {
    "type": "object",
    "properties": {
        "Std:JsonGet": {
            "type": "object",
            "properties": {
                "PropertyFile": {"$ref": "#/definitions/GetFunction"},
                "S3Uri": {},
                "Path": {"$ref": "#/definitions/StringArgumentValue"},
            },
            "required": ["Path"],
            "additionalProperties": False,
        }
    },
    "required": ["Std:JsonGet"],
    "additionalProperties": False,
}
_REGISTER_ARGS = ("definitions", "RegisterModelStep", "properties", "Arguments", "properties")
_BIAS = (*_REGISTER_ARGS, "ModelMetrics", "properties", "Bias", "properties")
_TUNING_DEFINITION = ("definitions", "HyperParameterTrainingJobDefinition")
Patch = Callable[[dict[str, Any]], None]


def _string_or_expression(*keys: str) -> Patch:
    """A plain-string member that may also be a Get or a Std:Join (its own constraints kept)."""

    def patch(schema: dict[str, Any]) -> None:
        parent, name = at(schema, *keys[:-1]), keys[-1]
        expressions = [{"$ref": "#/definitions/GetFunction"}, {"$ref": "#/definitions/JoinFunction"}]
        parent[name] = {"oneOf": [parent[name], *expressions]}

    return patch


def _not_required(*keys: str, name: str) -> Patch:
    return lambda schema: at(schema, *keys)["required"].remove(name)


def _define(name: str, value: dict[str, Any]) -> Patch:
    return lambda schema: schema["definitions"].__setitem__(name, value)


def _copy(*keys: str, source: str, name: str) -> Patch:
    return lambda schema: at(schema, *keys).__setitem__(name, at(schema, *keys)[source])


def _any_of(*keys: str, ref: str) -> Patch:
    return lambda schema: at(schema, *keys, "anyOf").append({"$ref": f"#/definitions/{ref}"})


def _all(*patches: Patch) -> Patch:
    def patch(schema: dict[str, Any]) -> None:
        for each in patches:
            each(schema)

    return patch


@dataclass(frozen=True)
class Deviation:
    what: str
    reason: str
    patch: Patch


# Where the schema is stale: each entry is something the SDK (2.257) emits and SageMaker accepts.
DEVIATIONS = (
    Deviation(
        "AppManaged on processing inputs and outputs",
        "botocore's ProcessingInput and ProcessingOutput have AppManaged; the SDK always writes it",
        _all(
            _add_property(*_PROCESSING_ITEMS, "ProcessingInputs", "items", name="AppManaged", value=_BOOL),
            _add_property(
                *_PROCESSING_ITEMS,
                "ProcessingOutputConfig",
                "properties",
                "Outputs",
                "items",
                name="AppManaged",
                value=_BOOL,
            ),
        ),
    ),
    Deviation(
        "Std:Join wherever a string argument may be an expression, and in a model's ModelDataUrl",
        "the schema's JoinFunction is malformed (its members are not under 'properties', so no Std:Join "
        "passes), StringArgumentValue omits it and ContainerDefinition.ModelDataUrl takes plain strings "
        "only; the SDK emits Std:Join for S3 URIs built from execution variables and step properties "
        "(the best trial's model.tar.gz), and SageMaker resolves them",
        _all(
            _define("JoinFunction", _JOIN),
            _add_choice("definitions", "StringArgumentValue", ref="JoinFunction"),
            _string_or_expression("definitions", "ContainerDefinition", "properties", "ModelDataUrl"),
        ),
    ),
    Deviation(
        "Std:JsonGet as a condition's operand",
        "the schema has no Std:JsonGet; the SDK's JsonGet reads a property file into a condition "
        "(our quality gate), as the SageMaker Pipelines documentation shows",
        _all(
            _define("JsonGetFunction", _JSON_GET),
            _any_of("definitions", "BinaryCondition", "properties", "LeftValue", ref="JsonGetFunction"),
            _any_of("definitions", "BinaryCondition", "properties", "RightValue", ref="JsonGetFunction"),
        ),
    ),
    Deviation(
        "HyperParameterTuningResourceConfig in a tuning job's training job definition, instead of ResourceConfig",
        "CreateHyperParameterTuningJob's HyperParameterTrainingJobDefinition takes either (botocore); the "
        "SDK writes HyperParameterTuningResourceConfig when instance settings are pipeline parameters",
        _all(
            _add_property(
                *_TUNING_DEFINITION, name="HyperParameterTuningResourceConfig", value={"type": "object"}
            ),
            _not_required(*_TUNING_DEFINITION, name="ResourceConfig"),
        ),
    ),
    Deviation(
        "FailOnViolation on ClarifyCheck and QualityCheck steps",
        "the SDK's ClarifyCheckStep and QualityCheckStep always write it (fail_on_violation)",
        _all(
            _add_property("definitions", "ClarifyCheckStep", name="FailOnViolation", value=_BOOL),
            _add_property("definitions", "QualityCheckStep", name="FailOnViolation", value=_BOOL),
        ),
    ),
    Deviation(
        "DriftCheckBaselines on RegisterModel steps",
        "CreateModelPackage takes DriftCheckBaselines (botocore); the SDK writes a RegisterModel's "
        "drift_check_baselines",
        lambda s: at(s, *_REGISTER_ARGS).__setitem__("DriftCheckBaselines", {"type": "object"}),
    ),
    Deviation(
        "ModelApprovalStatus and SkipModelValidation on RegisterModel steps",
        "CreateModelPackage members (botocore); the SDK's RegisterModel writes approval_status and "
        "SkipModelValidation ('None')",
        _all(
            lambda s: at(s, *_REGISTER_ARGS).__setitem__("ModelApprovalStatus", _STRING),
            lambda s: at(s, *_REGISTER_ARGS).__setitem__("SkipModelValidation", _STRING),
        ),
    ),
    Deviation(
        "Environment of a RegisterModel's inference containers",
        "botocore's ModelPackageContainerDefinition has Environment; the SDK writes the model's env "
        "(SAGEMAKER_PROGRAM and SAGEMAKER_SUBMIT_DIRECTORY for a framework model's inference handler)",
        _add_property(
            *_REGISTER_ARGS,
            "InferenceSpecification",
            "properties",
            "Containers",
            "items",
            name="Environment",
            value={"type": "object", "additionalProperties": _STRING},
        ),
    ),
    Deviation(
        "PreTrainingReport and PostTrainingReport in a RegisterModel's bias metrics",
        "botocore's Bias has Report, PreTrainingReport and PostTrainingReport; the SDK's "
        "ModelMetrics(bias_pre_training=..., bias_post_training=...) writes the last two",
        _all(
            _copy(*_BIAS, source="Report", name="PreTrainingReport"),
            _copy(*_BIAS, source="Report", name="PostTrainingReport"),
        ),
    ),
    Deviation(
        "ProfilerConfig on Training steps",
        "CreateTrainingJob takes ProfilerConfig (botocore); the SDK's Estimator writes "
        "{'DisableProfiler': ...} into every training job it builds",
        lambda s: at(s, "definitions", "TrainingStep", "properties", "Arguments", "properties").__setitem__(
            "ProfilerConfig", {"type": "object"}
        ),
    ),
    Deviation(
        "An EMR step's StepConfig without Name",
        "SageMaker names the EMR step at execution; the SDK's EMRStep never writes Name (its "
        "docstring: 'The Name attribute in AddJobFlowSteps cannot be passed; it will be set during runtime')",
        _not_required(
            "definitions", "EMRStep", "properties", "Arguments", "properties", "StepConfig", name="Name"
        ),
    ),
    Deviation(
        "A retry policy's ExceptionType as a list",
        "the schema takes one exception type; the SDK's StepRetryPolicy and SageMakerJobStepRetryPolicy "
        "write a list of them (to_request: [e.value for e in exception_types]), as SageMaker takes them",
        lambda s: at(s, "definitions", "RetryPolicy", "properties").__setitem__(
            "ExceptionType",
            {"type": "array", "items": at(s, "definitions", "RetryPolicy", "properties")["ExceptionType"]},
        ),
    ),
    Deviation(
        "PropertyFiles on Processing steps",
        "the SDK's ProcessingStep writes PropertyFiles, which Std:JsonGet reads (condition steps)",
        _add_property("definitions", "ProcessingStep", name="PropertyFiles", value={"type": "array"}),
    ),
    Deviation(
        "PipelineExperimentConfig at the top level",
        "the SDK's Pipeline writes it by default (ExperimentName and TrialName from execution variables)",
        _add_property(name="PipelineExperimentConfig", value={"type": "object"}),
    ),
    Deviation(
        "Lambda steps inside a condition's IfSteps and ElseSteps",
        "SageMaker runs a Lambda step in a branch (our deploy step); the SDK's ConditionStep takes any step",
        _all(
            *(
                _add_choice(
                    "definitions",
                    "ConditionStep",
                    "properties",
                    "Arguments",
                    "properties",
                    branch,
                    "items",
                    ref="LambdaStep",
                )
                for branch in ("IfSteps", "ElseSteps")
            )
        ),
    ),
)
