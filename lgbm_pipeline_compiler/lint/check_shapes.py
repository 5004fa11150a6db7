"""Rules E1xxx: every step against what SageMaker accepts for its type.

Steps that call a SageMaker API (Processing, Training, Tuning, Model, Transform, RegisterModel,
ClarifyCheck, QualityCheck) are checked by ``requests.check_request``, the one request checker
(botocore's request shape, plus the enums, maximums and patterns only the service checks). Step
types without a SageMaker request (Lambda, EMR, Fail, Condition, Callback) have their own required
fields checked here, from the SageMaker SDK's ``to_request`` of each step class, and EMR's
HadoopJarStep and Lambda's function name against botocore's EMR and Lambda shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .document import Document, StepRef, is_expression
from .hints import did_you_mean, name_problems
from .requests import check_request, check_value, with_placeholders
from .rules import LintFinding
from .shapes import shape

KIND_CODES = {
    "missing": "E1001",
    "unknown": "E1002",
    "type": "E1003",
    "enum": "E1004",
    "max": "E1005",
    "min": "E1006",
    "pattern": "E1007",
    "union": "E1008",
}
_COMMON = {"Name", "Type", "Arguments", "DependsOn", "DisplayName", "Description"}
_CHECK = {"CheckType", "ModelPackageGroupName", "SkipCheck", "FailOnViolation", "RegisterNewBaseline"}
# Top-level fields of each step type, as the SDK's to_request writes them.
FIELDS: dict[str, set[str]] = {
    "Processing": _COMMON | {"RetryPolicies", "CacheConfig", "PropertyFiles"},
    "Training": _COMMON | {"RetryPolicies", "CacheConfig"},
    "Tuning": _COMMON | {"RetryPolicies", "CacheConfig"},
    "Transform": _COMMON | {"RetryPolicies", "CacheConfig"},
    "Model": _COMMON | {"RetryPolicies"},
    "RegisterModel": _COMMON | {"RetryPolicies"},
    "ClarifyCheck": _COMMON | _CHECK | {"CacheConfig", "SuppliedBaselineConstraints", "ModelName"},
    "QualityCheck": _COMMON
    | _CHECK
    | {"CacheConfig", "SuppliedBaselineConstraints", "SuppliedBaselineStatistics"},
    "Lambda": _COMMON | {"CacheConfig", "FunctionArn", "OutputParameters"},
    "Callback": _COMMON | {"CacheConfig", "SqsQueueUrl", "OutputParameters"},
    "EMR": _COMMON | {"RetryPolicies", "CacheConfig"},
    "Fail": _COMMON,
    "Condition": _COMMON,
}
# Types SageMaker runs whose fields are not checked beyond Name, Type and Arguments.
OTHER_TYPES = {"AutoML", "EndpointConfig", "Endpoint", "InferenceComponent", "Lineage", "NotebookJob"}
CHECK_TYPES = {
    "ClarifyCheck": ["DATA_BIAS", "MODEL_BIAS", "MODEL_EXPLAINABILITY"],
    "QualityCheck": ["DATA_QUALITY", "MODEL_QUALITY"],
}
OUTPUT_TYPES = ["String", "Integer", "Boolean", "Float"]
BINARY_CONDITIONS = ["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"]
CONDITIONS = [*BINARY_CONDITIONS, "In", "Not", "Or"]
PARAMETER_TYPES = {"String": (str,), "Integer": (int,), "Float": (float, int), "Boolean": (bool,)}


def check(doc: Document) -> Iterator[LintFinding]:
    yield from _parameters(doc)
    for ref in doc.steps:
        yield from _step(doc, ref)


def _parameters(doc: Document) -> Iterator[LintFinding]:
    params = doc.definition.get("Parameters", [])
    if not isinstance(params, list):
        yield doc.finding("E1014", "Parameters must be a list", path=("Parameters",))
        return
    seen: set[str] = set()
    for i, param in enumerate(params):
        where = ("Parameters", i)
        name = param.get("Name") if isinstance(param, dict) else None
        if not isinstance(name, str):
            yield doc.finding("E1014", "a parameter needs a Name (a string)", path=where)
            continue
        if name in seen:
            yield doc.finding(
                "E1014", f"parameter '{name}' is declared twice", path=(*where, "Name"), value=name
            )
        seen.add(name)
        kind = param.get("Type", "String")
        if kind not in PARAMETER_TYPES:
            hint = did_you_mean(kind, PARAMETER_TYPES) or "one of String, Integer, Float, Boolean"
            yield doc.finding(
                "E1014", f"parameter '{name}' has unknown Type {kind!r}", hint, path=(*where, "Type")
            )
        elif "DefaultValue" in param:
            default = param["DefaultValue"]
            if not isinstance(default, PARAMETER_TYPES[kind]) or (
                kind != "Boolean" and isinstance(default, bool)
            ):
                yield doc.finding(
                    "E1014",
                    f"parameter '{name}' is {kind} but its DefaultValue is {default!r}",
                    path=(*where, "DefaultValue"),
                    value=default,
                )


def _step(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    step, kind = ref.step, ref.step.get("Type")
    for required in ("Name", "Type"):
        if required not in step:
            yield doc.finding("E1011", f"the step has no {required}", step=ref, path=(required,))
        elif not isinstance(step[required], str):
            yield doc.finding("E1012", f"{required} must be a string", step=ref, path=(required,))
    if not isinstance(kind, str):
        return
    if kind not in FIELDS and kind not in OTHER_TYPES:
        yield doc.finding(
            "E1010",
            f"unknown step type {kind!r}",
            did_you_mean(kind, set(FIELDS) | OTHER_TYPES),
            step=ref,
            path=("Type",),
            value=kind,
        )
        return
    if kind in FIELDS:
        for key in step:
            if key not in FIELDS[kind]:
                hint = (
                    did_you_mean(key, FIELDS[kind]) or f"a {kind} step has {', '.join(sorted(FIELDS[kind]))}"
                )
                yield doc.finding("W1013", f"a {kind} step has no field '{key}'", hint, step=ref, path=(key,))
    if "Arguments" not in step and kind != "Lambda":
        yield doc.finding("E1011", f"a {kind} step needs Arguments", step=ref, path=("Arguments",))
    elif "Arguments" in step and not isinstance(step["Arguments"], dict):
        yield doc.finding("E1012", "Arguments must be an object", step=ref, path=("Arguments",))
    depends = step.get("DependsOn", [])
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        yield doc.finding("E1012", "DependsOn must be a list of step names", step=ref, path=("DependsOn",))
    for problem in check_request(kind, step.get("Arguments")):
        yield doc.finding(
            KIND_CODES.get(problem.kind, "E1003"),
            problem.message,
            step=ref,
            path=("Arguments", *problem.member),
            value=problem.value,
        )
    own = _OWN_FIELDS.get(kind)
    if own is not None:
        yield from own(doc, ref)


def _expect(
    doc: Document, ref: StepRef, path: tuple, value: Any, types: tuple, what: str
) -> Iterator[LintFinding]:
    if not isinstance(value, types) and not is_expression(value):
        yield doc.finding(
            "E1012", f"{path[-1]} must be {what}, not {value!r}", step=ref, path=path, value=value
        )


def _checks(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    step, allowed = ref.step, CHECK_TYPES[ref.type]
    if "CheckType" not in step:
        yield doc.finding(
            "E1011", f"a {ref.type} step needs CheckType", f"one of {', '.join(allowed)}", step=ref
        )
    elif step["CheckType"] not in allowed:
        hint = did_you_mean(step["CheckType"], allowed) or f"one of {', '.join(allowed)}"
        yield doc.finding(
            "E1012", f"unknown CheckType {step['CheckType']!r}", hint, step=ref, path=("CheckType",)
        )
    for key in ("SkipCheck", "FailOnViolation", "RegisterNewBaseline"):
        if key in step:
            yield from _expect(doc, ref, (key,), step[key], (bool,), "a boolean")
    for key in (
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "SuppliedBaselineStatistics",
        "ModelName",
    ):
        if key in step:
            yield from _expect(doc, ref, (key,), step[key], (str,), "a string")


def _output_parameters(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    outputs = ref.step.get("OutputParameters", [])
    if not isinstance(outputs, list):
        yield doc.finding("E1012", "OutputParameters must be a list", step=ref, path=("OutputParameters",))
        return
    seen: set[str] = set()
    for i, output in enumerate(outputs):
        where = ("OutputParameters", i)
        name = output.get("OutputName") if isinstance(output, dict) else None
        if not isinstance(name, str):
            yield doc.finding("E1011", "an output parameter needs an OutputName", step=ref, path=where)
            continue
        if name in seen:
            yield doc.finding(
                "E1012", f"output '{name}' is declared twice", step=ref, path=(*where, "OutputName")
            )
        seen.add(name)
        kind = output.get("OutputType", "String")
        if kind not in OUTPUT_TYPES:
            hint = did_you_mean(kind, OUTPUT_TYPES) or f"one of {', '.join(OUTPUT_TYPES)}"
            yield doc.finding(
                "E1012", f"unknown OutputType {kind!r}", hint, step=ref, path=(*where, "OutputType")
            )


def _lambda(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    arn = ref.step.get("FunctionArn")
    if arn is None:
        yield doc.finding("E1011", "a Lambda step needs FunctionArn", step=ref)
    elif not is_expression(arn):
        for message in name_problems(arn, shape("FunctionName", "lambda"), "FunctionArn", "Lambda"):
            yield doc.finding("E1012", message, step=ref, path=("FunctionArn",), value=arn)
    yield from _output_parameters(doc, ref)


def _callback(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    if "SqsQueueUrl" not in ref.step:
        yield doc.finding("E1011", "a Callback step needs SqsQueueUrl", step=ref)
    yield from _output_parameters(doc, ref)


def _emr(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    args = ref.arguments
    config = args.get("StepConfig")
    if not isinstance(config, dict):
        yield doc.finding("E1011", "an EMR step needs Arguments.StepConfig", step=ref, path=("Arguments",))
    elif not isinstance(config.get("HadoopJarStep"), dict):
        yield doc.finding(
            "E1011", "StepConfig needs HadoopJarStep", step=ref, path=("Arguments", "StepConfig")
        )
    else:
        jar_shape = shape("HadoopJarStepConfig", "emr")
        for problem in check_value(with_placeholders(config["HadoopJarStep"], jar_shape), jar_shape):
            where = ("Arguments", "StepConfig", "HadoopJarStep", *problem.member)
            yield doc.finding(KIND_CODES.get(problem.kind, "E1012"), problem.message, step=ref, path=where)
    if ("ClusterId" in args) == ("ClusterConfig" in args):
        yield doc.finding(
            "E1012",
            "an EMR step needs exactly one of ClusterId and ClusterConfig",
            step=ref,
            path=("Arguments",),
        )
    if "ExecutionRoleArn" in args and "ClusterId" not in args:
        yield doc.finding(
            "E1012", "ExecutionRoleArn needs a ClusterId", step=ref, path=("Arguments", "ExecutionRoleArn")
        )


def _fail(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    for key, value in ref.arguments.items():
        if key != "ErrorMessage":
            yield doc.finding(
                "W1013",
                f"a Fail step's Arguments have no '{key}'",
                "ErrorMessage",
                step=ref,
                path=("Arguments", key),
            )
        else:
            yield from _expect(doc, ref, ("Arguments", key), value, (str,), "a string")


def _condition(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    args = ref.arguments
    conditions = args.get("Conditions")
    if not isinstance(conditions, list) or not conditions:
        yield doc.finding(
            "E1011", "a Condition step needs a non-empty Conditions list", step=ref, path=("Arguments",)
        )
    else:
        for i, condition in enumerate(conditions):
            yield from _one_condition(doc, ref, condition, ("Arguments", "Conditions", i))
    for branch in ("IfSteps", "ElseSteps"):
        if branch in args and not isinstance(args[branch], list):
            yield doc.finding(
                "E1012", f"{branch} must be a list of steps", step=ref, path=("Arguments", branch)
            )


_CONDITION_FIELDS = {
    **{kind: ("LeftValue", "RightValue") for kind in BINARY_CONDITIONS},
    "In": ("QueryValue", "Values"),
    "Not": ("Condition",),
    "Or": ("Conditions",),
}


def _one_condition(doc: Document, ref: StepRef, condition: Any, path: tuple) -> Iterator[LintFinding]:
    if not isinstance(condition, dict):
        yield doc.finding("E1012", "a condition must be an object", step=ref, path=path)
        return
    kind = condition.get("Type")
    if kind not in _CONDITION_FIELDS:
        hint = did_you_mean(kind, CONDITIONS) or f"one of {', '.join(CONDITIONS)}"
        yield doc.finding(
            "E1012", f"unknown condition Type {kind!r}", hint, step=ref, path=(*path, "Type"), value=kind
        )
        return
    for key in _CONDITION_FIELDS[kind]:
        if key not in condition:
            yield doc.finding("E1011", f"a {kind} condition needs {key}", step=ref, path=path)
    if kind == "Not" and "Condition" in condition:
        yield from _one_condition(doc, ref, condition["Condition"], (*path, "Condition"))
    if kind == "Or" and isinstance(condition.get("Conditions"), list):
        for i, inner in enumerate(condition["Conditions"]):
            yield from _one_condition(doc, ref, inner, (*path, "Conditions", i))


def _property_files(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    files = ref.step.get("PropertyFiles", [])
    if not isinstance(files, list):
        yield doc.finding("E1012", "PropertyFiles must be a list", step=ref, path=("PropertyFiles",))
        return
    for i, item in enumerate(files):
        for key in ("PropertyFileName", "OutputName", "FilePath"):
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                yield doc.finding(
                    "E1011", f"a property file needs {key} (a string)", step=ref, path=("PropertyFiles", i)
                )


_OWN_FIELDS = {
    "ClarifyCheck": _checks,
    "QualityCheck": _checks,
    "Lambda": _lambda,
    "Callback": _callback,
    "EMR": _emr,
    "Fail": _fail,
    "Condition": _condition,
    "Processing": _property_files,
}
